//! Tests of the push parser: chunkings, huge members, depth bombs,
//! truncation, and the `id_token` account read on the fly.

use super::*;
use crate::wire::json::{parse_device_authorization, parse_error_response, parse_token_response};
use base64::Engine as _;
use proptest::prelude::*;

fn b64(s: &[u8]) -> std::string::String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// A Microsoft v2.0 token response of about 6.6 KB (PROVIDERS.md §7):
/// access, refresh and id tokens, `ext_expires_in`, `client_info`; the
/// id_token's payload names the account in `preferred_username`.
fn microsoft_body() -> std::string::String {
    let access = format!("eyJ0eXAiOiJKV1QiLCJub25jZSI6{}", "Qx7_-a9".repeat(500));
    let refresh = format!("1.AXkA{}", "Zr8-Kp_".repeat(250));
    let payload = r#"{"aud":"9e5f94bc-e8a4-4e73-b8be-63364c29d753","iss":"https:\/\/login.microsoftonline.com\/9188040d-6c67-4c5b-b112-36a304b66dad\/v2.0","iat":1536275124,"nbf":1536275124,"exp":1536279024,"aio":"AXQAi/8IAAAAqxsuB+R4D2rFQqOETO4YdXbLD9kZ8xfXadeAM0Q2NkNT5izfg3uwbWSXhuSSj6UT5hy2D6WqApB5jKA6ZgZ9k/SU27uV9cetXfLOtpNttgk5DcBtk+LLstz/Jg+gYRmv9bUU4XlphTc6C86Jmj1FCw==","amr":["pwd","mfa"],"name":"Mailbox \u00e9\ud83d\ude00","oid":"00000000-0000-0000-66f3-3332eca7ea81","preferred_username":"mailbox@contoso.com","rh":"I","sub":"AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ","tid":"9188040d-6c67-4c5b-b112-36a304b66dad","uti":"fqiBqXLPj0eQa82S-IYFAA","ver":"2.0"}"#;
    let id = format!(
        "{}.{}.{}",
        b64(br#"{"typ":"JWT","alg":"RS256","kid":"1f8b"}"#),
        b64(payload.as_bytes()),
        b64(&[0xA5; 256])
    );
    format!(
        r#"{{"token_type":"Bearer","scope":"https://outlook.office.com/SMTP.Send https://outlook.office.com/User.Read openid profile email","expires_in":4383,"ext_expires_in":4383,"access_token":"{access}","refresh_token":"{refresh}","id_token":"{id}","client_info":"eyJ1aWQiOiIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAiLCJ1dGlkIjoiOTE4ODA0MGQtNmM2Ny00YzViLWIxMTItMzZhMzA0YjY2ZGFkIn0"}}"#
    )
}

/// Feed `body` cut at `cuts` (offsets, any order, out of range ignored).
fn token_in_pieces(
    body: &[u8],
    cuts: &[usize],
    account: bool,
) -> (Result<(), JsonError>, TokenResponse) {
    let mut cuts: Vec<usize> = cuts.iter().copied().filter(|&c| c <= body.len()).collect();
    cuts.sort_unstable();
    let mut out = TokenResponse::new();
    let mut p = TokenParser::new();
    let mut reader = AccountReader::new();
    p.start(&mut out);
    let mut at = 0;
    for c in cuts.into_iter().chain([body.len()]) {
        p.feed(&body[at..c], &mut out, account.then_some(&mut reader));
        at = c;
    }
    let r = p.finish(&mut out);
    (r, out)
}

fn summary(
    t: &TokenResponse,
) -> (
    Vec<u8>,
    Vec<u8>,
    TokenType,
    Option<u64>,
    std::string::String,
    SignedInAccount,
) {
    (
        t.access_token.expose().to_vec(),
        t.refresh_token.expose().to_vec(),
        t.token_type,
        t.expires_in,
        t.scope.as_str().into(),
        t.account.clone(),
    )
}

#[test]
fn microsoft_body_in_one_piece_gives_tokens_and_account() {
    let body = microsoft_body();
    assert!(body.len() > 6_000, "{}", body.len());
    let (r, t) = token_in_pieces(body.as_bytes(), &[], true);
    r.unwrap();
    assert!(t.access_token.expose().starts_with(b"eyJ0eXAi"));
    assert_eq!(t.access_token.len(), 28 + 3500);
    assert!(t.refresh_token.expose().starts_with(b"1.AXkA"));
    assert_eq!(
        (t.token_type, t.expires_in),
        (TokenType::Bearer, Some(4383))
    );
    assert!(t.scope_includes("https://outlook.office.com/SMTP.Send"));
    assert_eq!(
        t.account,
        SignedInAccount::Account(Address::parse("mailbox@contoso.com").unwrap())
    );
    // Without the account: the id_token is skipped unread.
    let (r, t) = token_in_pieces(body.as_bytes(), &[], false);
    r.unwrap();
    assert_eq!(t.account, SignedInAccount::NoIdToken);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "thousands of whole-body parses; the parser runs under Miri on every body in the other json_stream tests"
)]
fn microsoft_body_at_every_single_cut_and_octet_by_octet() {
    let body = microsoft_body();
    let (_, whole) = token_in_pieces(body.as_bytes(), &[], true);
    let whole = summary(&whole);
    for cut in 0..=body.len() {
        let (r, t) = token_in_pieces(body.as_bytes(), &[cut], true);
        assert_eq!(r, Ok(()), "cut {cut}");
        assert_eq!(summary(&t), whole, "cut {cut}");
    }
    let every: Vec<usize> = (0..body.len()).collect();
    let (r, t) = token_in_pieces(body.as_bytes(), &every, true);
    assert_eq!(r, Ok(()));
    assert_eq!(summary(&t), whole);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "megabyte members; the skipping states run under Miri on small members in the other json_stream tests"
)]
fn huge_unknown_members_are_skipped() {
    let mb = 1 << 20;
    let big_string = format!(r#""{}\"\\\u0041""#, "x".repeat(mb));
    let big_array = format!("[{}1]", "1,".repeat(mb / 2));
    let big_number = format!("1{}", "0".repeat(mb));
    for big in [&big_string, &big_array, &big_number] {
        let body = format!(
            r#"{{"pad":{big},"access_token":"at","id_token":{big_string},"token_type":"bearer","x":{{"y":{big}}}}}"#
        );
        for cuts in [&[][..], &[7, 70_000, 500_000]] {
            let (r, t) = token_in_pieces(body.as_bytes(), cuts, false);
            assert_eq!(r, Ok(()));
            assert_eq!(t.access_token.expose(), b"at");
            assert_eq!(t.token_type, TokenType::Bearer);
        }
    }
    // A 1 MB id_token read for its account: decoded on the fly, not held.
    let payload = format!(r#"{{"pad":"{}","email":"a@b.example"}}"#, "y".repeat(mb));
    let body = format!(
        r#"{{"access_token":"at","id_token":"e30.{}.c2ln"}}"#,
        b64(payload.as_bytes())
    );
    let (r, t) = token_in_pieces(body.as_bytes(), &[100, 1000, 700_000], true);
    assert_eq!(r, Ok(()));
    assert_eq!(
        t.account,
        SignedInAccount::Account(Address::parse("a@b.example").unwrap())
    );
}

#[test]
#[cfg_attr(
    miri,
    ignore = "a million brackets; the depth limit runs under Miri in the json_guard and json tests"
)]
fn depth_bombs_are_refused_without_recursion() {
    let mut p = TokenParser::new();
    let mut reader = AccountReader::new();
    let mut out = TokenResponse::new();
    p.start(&mut out);
    p.feed(br#"{"access_token":"a","x":"#, &mut out, Some(&mut reader));
    for _ in 0..1000 {
        p.feed(&[b'['; 1000], &mut out, Some(&mut reader));
    }
    assert_eq!(p.finish(&mut out), Err(JsonError::TooDeep));
    assert!(out.access_token.is_empty());
    let deepest = format!(
        r#"{{"access_token":"a","x":{}1{}}}"#,
        "[".repeat(MAX_JSON_DEPTH - 1),
        "]".repeat(MAX_JSON_DEPTH - 1)
    );
    assert_eq!(parse_token_response(deepest.as_bytes(), &mut out), Ok(()));
    let deeper = format!(
        r#"{{"access_token":"a","x":{}1{}}}"#,
        "[".repeat(MAX_JSON_DEPTH),
        "]".repeat(MAX_JSON_DEPTH)
    );
    assert_eq!(
        parse_token_response(deeper.as_bytes(), &mut out),
        Err(JsonError::TooDeep)
    );
}

#[test]
#[cfg_attr(
    miri,
    ignore = "nine hundred parses of cut bodies; a truncated body runs under Miri in truncated_microsoft_body_is_an_error"
)]
fn truncated_bodies_are_errors() {
    let body = microsoft_body();
    for end in (0..body.len()).step_by(7) {
        let (r, t) = token_in_pieces(&body.as_bytes()[..end], &[end / 2], true);
        assert!(r.is_err(), "cut at {end}");
        assert!(t.access_token.is_empty() && t.refresh_token.is_empty());
    }
    let device =
        br#"{"device_code":"d","user_code":"u","verification_uri":"https://v","expires_in":9}"#;
    let error = br#"{"error":"invalid_grant","error_codes":[70000]}"#;
    let mut d = DeviceAuthorization::new();
    for end in 0..device.len() {
        assert!(parse_device_authorization(&device[..end], &mut d).is_err());
    }
    parse_device_authorization(device, &mut d).unwrap();
    for end in 0..error.len() {
        assert!(parse_error_response(&error[..end]).is_err(), "{end}");
    }
    assert_eq!(parse_error_response(error).unwrap().aadsts, Some(70000));
}

#[test]
#[cfg_attr(
    miri,
    ignore = "every split of every string, thousands of parses; escapes run under Miri in the other json_stream tests"
)]
fn strings_split_inside_characters_and_escapes() {
    let body = r#"{"access_token":"é😀\u00e9\ud83d\ude00\/x","scope":"a é b"}"#.as_bytes();
    for a in 0..body.len() {
        for b in a..body.len() {
            let (r, t) = token_in_pieces(body, &[a, b], false);
            assert_eq!(r, Ok(()), "{a} {b}");
            assert_eq!(t.access_token.expose(), "é😀é😀/x".as_bytes());
            assert_eq!(t.scope.as_str(), "a é b");
        }
    }
    // Invalid UTF-8 in a delivered string is refused, however cut.
    let bad = b"{\"access_token\":\"a\xC3(\"}";
    for a in 0..bad.len() {
        assert_eq!(token_in_pieces(bad, &[a], false).0, Err(JsonError::Syntax));
    }
}

#[test]
fn every_short_escape_is_its_octet_in_values_and_names() {
    let mut t = TokenResponse::new();
    let body = br#"{"x\t\"":"\b","access_token":"a\"b\\c\/d\be\ff\ng\rh\ti","s\u0063ope":"\/\/"}"#;
    parse_token_response(body, &mut t).unwrap();
    assert_eq!(t.access_token.expose(), b"a\"b\\c/d\x08e\x0cf\ng\rh\ti");
    assert_eq!(t.scope.as_str(), "//");
    assert_eq!(
        parse_token_response(br#"{"access_token":"a\x"}"#, &mut t),
        Err(JsonError::BadEscape)
    );
}

#[test]
fn a_token_of_another_type_is_refused_and_null_is_no_token() {
    let mut t = TokenResponse::new();
    for body in [
        &br#"{"access_token":1}"#[..],
        br#"{"access_token":true}"#,
        br#"{"access_token":["a"]}"#,
        br#"{"access_token":{"a":"b"}}"#,
        br#"{"access_token":"a","refresh_token":2}"#,
        br#"{"access_token":"a","scope":false}"#,
    ] {
        let r = parse_token_response(body, &mut t);
        assert_eq!(
            r,
            Err(JsonError::Syntax),
            "{}",
            std::string::String::from_utf8_lossy(body)
        );
        assert!(t.access_token.is_empty() && t.refresh_token.is_empty());
    }
    parse_token_response(
        br#"{"access_token":"a","refresh_token":null,"scope":null}"#,
        &mut t,
    )
    .unwrap();
    assert!(t.refresh_token.is_empty() && t.scope.is_empty());
}

#[test]
fn escaped_member_names_and_trailing_data() {
    let mut t = TokenResponse::new();
    parse_token_response(br#"{"access\u005ftoken":"a"}"#, &mut t).unwrap();
    assert_eq!(t.access_token.expose(), b"a");
    assert_eq!(
        parse_token_response(br#"{"access_token":"a"} x"#, &mut t),
        Err(JsonError::Syntax)
    );
    parse_token_response(b" {\"access_token\":\"a\"} \r\n", &mut t).unwrap();
}

proptest! {
    #[test]
    fn microsoft_body_in_any_chunking(cuts in proptest::collection::vec(0usize..7_000, 0..40)) {
        let body = microsoft_body();
        let (r0, whole) = token_in_pieces(body.as_bytes(), &[], true);
        let (r, t) = token_in_pieces(body.as_bytes(), &cuts, true);
        prop_assert_eq!(r0, Ok(()));
        prop_assert_eq!(r, Ok(()));
        prop_assert_eq!(summary(&t), summary(&whole));
    }

    #[test]
    fn any_body_any_chunking_same_result(
        body in proptest::collection::vec(proptest::sample::select(b"{}[]\",:\\u0aA1 .-eEtrfnls".to_vec()), 0..120),
        cuts in proptest::collection::vec(0usize..120, 0..6),
    ) {
        let (r0, t0) = token_in_pieces(&body, &[], true);
        let (r, t) = token_in_pieces(&body, &cuts, true);
        prop_assert_eq!(r0, r);
        prop_assert_eq!(summary(&t0), summary(&t));
    }

    #[test]
    fn truncated_microsoft_body_is_an_error(end in 0usize..6_600, cut in 0usize..6_600) {
        let body = microsoft_body();
        let end = end.min(body.len() - 1);
        let (r, _) = token_in_pieces(&body.as_bytes()[..end], &[cut], true);
        prop_assert!(r.is_err());
    }
}

proptest! {
    #[test]
    fn find_special_agrees_with_a_plain_scan(
        s in proptest::collection::vec(proptest::sample::select(b"ab\"\\\x7f\x80\xc3\xa9 ".to_vec()), 0..80),
        from in 0usize..80,
    ) {
        let s = &s[from.min(s.len())..];
        let n = s.iter().position(|&b| b == b'"' || b == b'\\').unwrap_or(s.len());
        prop_assert_eq!(find_special(s), (n, s[..n].is_ascii()));
    }
}
