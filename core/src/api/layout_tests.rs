use super::*;
use crate::mime::{Attachment, Composer, Output, Parts, RANDOM_LEN};
use base64::Engine as _;
use proptest::prelude::*;
use std::vec::Vec;

const RANDOM: [u8; RANDOM_LEN] = [0x3c; RANDOM_LEN];
const TO: [&str; 1] = ["a@x.test"];

/// A non-ASCII name over 60 octets: RFC 2231 continuations.
const LONG_NAME: &str =
    "Relevé de compte trimestriel — société Müller & Fils, été 2026 (copie numérisée).pdf";
/// A name with a quote and spaces: RFC 2231 too (the quoted form holds no quote).
const QUOTE_NAME: &str = "the \"final\" scan.pdf";
/// A plain name with a space: the quoted form.
const SPACE_NAME: &str = "scan 1.pdf";

fn file(n: u64, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect()
}

/// An attachment (`content_type` empty: by the name).
fn att<'a>(name: &'a str, content_type: &'a str, len: u64) -> Attachment<'a> {
    Attachment {
        name,
        content_type,
        len,
    }
}

/// The composer's output for `text` and `atts` with `files` as contents.
fn compose(text: Option<&str>, atts: &[Attachment<'_>], files: &[&[u8]]) -> Vec<u8> {
    let m = Parts {
        from: "scanner@contoso.test",
        to: &TO,
        subject: "Scan",
        text,
        attachments: atts,
        message_id_local: "",
    };
    let mut c = Composer::new(m, Some(1_795_516_072), &RANDOM).unwrap();
    let mut out = Vec::with_capacity(c.size() as usize);
    let mut pos = std::vec![0usize; files.len()];
    let mut buf = [0u8; 8192];
    loop {
        match c.poll_output(&mut buf).unwrap() {
            Output::Wrote(n) => out.extend_from_slice(&buf[..n]),
            Output::NeedInput { part, max } => {
                let f = files[part];
                let k = (f.len() - pos[part]).min(max);
                c.handle_input(&f[pos[part]..pos[part] + k]).unwrap();
                pos[part] += k;
            }
            Output::Done => break,
        }
    }
    assert_eq!(out.len() as u64, c.size());
    out
}

/// Surveys `msg` fed in pieces of `step` octets.
fn survey(msg: &[u8], step: usize) -> Result<Layout, Id> {
    let mut s = Survey::new();
    for piece in msg.chunks(step.max(1)) {
        s.feed(piece);
    }
    s.finish().cloned()
}

/// The same layout whatever the pieces.
fn survey_all_ways(msg: &[u8], steps: &[usize]) -> Result<Layout, Id> {
    let whole = survey(msg, msg.len());
    for &step in steps {
        assert_eq!(survey(msg, step), whole, "pieces of {step}");
    }
    whole
}

/// `msg` without the upload parts.
fn draft(msg: &[u8], l: &Layout) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0usize;
    for p in &l.parts {
        out.extend_from_slice(&msg[at..p.start as usize]);
        at = p.end as usize;
    }
    out.extend_from_slice(&msg[at..]);
    out
}

/// Every delimiter followed by a part header, the close delimiter last.
fn well_formed(msg: &[u8], boundary: &[u8]) {
    let text = core::str::from_utf8(msg).unwrap();
    let b = core::str::from_utf8(boundary).unwrap();
    let delim = std::format!("--{b}");
    let close = std::format!("--{b}--");
    let lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
    assert_eq!(*lines.last().unwrap(), close);
    assert_eq!(lines.iter().filter(|l| **l == close).count(), 1);
    for (i, l) in lines.iter().enumerate() {
        if *l == delim {
            assert!(
                lines[i + 1].starts_with("Content-Type: "),
                "{}",
                lines[i + 1]
            );
            assert!(lines[i - 1].is_empty() || !lines[i - 1].starts_with("--"));
        }
    }
    assert!(text.ends_with("--\r\n"));
}

/// The checks for one reported part against the message text.
fn check_part(msg: &[u8], p: &UploadPart, name: &str, contents: &[u8]) {
    let (s, e, b) = (p.start as usize, p.end as usize, p.body_start as usize);
    assert!(msg[s..].starts_with(b"--=_mfp_"));
    assert_eq!(&msg[s - 2..s], b"\r\n");
    assert!(msg[e..].starts_with(b"--=_mfp_"));
    assert_eq!(&msg[e - 2..e], b"\r\n");
    assert_eq!(&msg[b - 4..b], b"\r\n\r\n");
    assert!(msg[b].is_ascii_alphanumeric() || msg[b] == b'+' || msg[b] == b'/');
    assert!(s < b && b < e);
    assert_eq!(p.raw_len, contents.len() as u64);
    assert_eq!(p.name.as_str(), name);
    let b64: Vec<u8> = msg[b..e - 2]
        .iter()
        .copied()
        .filter(|&c| c != b'\r' && c != b'\n')
        .collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert!(decoded == contents, "{name}: body differs");
}

#[test]
#[cfg_attr(miri, ignore = "composes and surveys megabytes")]
fn two_big_attachments_and_a_small_one() {
    let big1 = file(UPLOAD_MIN, 1);
    let small = file(5000, 2);
    let big2 = file(UPLOAD_MIN + 2, 3);
    let atts = [
        att(LONG_NAME, "", big1.len() as u64),
        att("small one.txt", "", small.len() as u64),
        att(
            QUOTE_NAME,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            big2.len() as u64,
        ),
    ];
    let msg = compose(Some("Scanned pages."), &atts, &[&big1, &small, &big2]);
    let text = core::str::from_utf8(&msg).unwrap();
    assert!(text.contains("filename*1*="), "the long name is continued");
    assert!(text.contains("%22final%22"), "the quote is percent-encoded");
    let l = survey_all_ways(&msg, &[1, 7, 77, 4096]).unwrap();
    assert_eq!(l.size, msg.len() as u64);
    assert_eq!(l.parts.len(), 2);
    check_part(&msg, &l.parts[0], LONG_NAME, &big1);
    check_part(&msg, &l.parts[1], QUOTE_NAME, &big2);
    // The big ones are followed by the small one's delimiter and the close one.
    assert!(msg[l.parts[0].end as usize..]
        .split(|&b| b == b'\n')
        .nth(1)
        .unwrap()
        .starts_with(b"Content-Type: text/plain;\r"));
    assert!(msg[l.parts[1].end as usize..].ends_with(b"--\r\n"));
    assert_eq!(l.parts[1].end as usize + 2 + 30 + 4, msg.len());

    let d = draft(&msg, &l);
    assert_eq!(d.len() as u64, l.draft_len());
    assert_eq!(
        l.draft_len(),
        msg.len() as u64 - l.parts.iter().map(|p| p.end - p.start).sum::<u64>()
    );
    let boundary = &msg[l.parts[0].start as usize + 2..][..30];
    well_formed(&msg, boundary);
    well_formed(&d, boundary);
    let dt = core::str::from_utf8(&d).unwrap();
    assert!(dt.contains("filename=\"small one.txt\""));
    assert!(!dt.contains("filename*0*"));
    assert_eq!(dt.matches("\r\n--=_mfp_").count(), 3, "text, small, close");
    // The draft is itself the composer's shape, with nothing to upload.
    let again = survey(&d, 4096).unwrap();
    assert!(again.parts.is_empty());
    assert_eq!(again.size, d.len() as u64);
    assert_eq!(again.draft_len(), again.size);
}

#[test]
#[cfg_attr(miri, ignore = "composes and surveys megabytes")]
fn the_threshold_is_separate_min_and_the_text_part_is_optional() {
    let under = file(SEPARATE_MIN - 1, 4);
    let at = file(SEPARATE_MIN, 5);
    let atts = [
        att("under.bin", "", under.len() as u64),
        att(SPACE_NAME, "", at.len() as u64),
    ];
    let msg = compose(None, &atts, &[&under, &at]);
    assert!(core::str::from_utf8(&msg)
        .unwrap()
        .contains("filename=\"scan 1.pdf\""));
    let l = survey_all_ways(&msg, &[4096, 77]).unwrap();
    assert_eq!(l.parts.len(), 1);
    check_part(&msg, &l.parts[0], SPACE_NAME, &at);
    let d = draft(&msg, &l);
    assert_eq!(d.len() as u64, l.draft_len());
    well_formed(&d, &msg[l.parts[0].start as usize + 2..][..30]);
    assert!(survey(&d, 1).unwrap().parts.is_empty());

    // Only the big one: the draft has no part left, only the close
    // delimiter (not the composer's shape: it always writes a part).
    let only = compose(None, &atts[1..], &[&at]);
    let l = survey(&only, 4096).unwrap();
    assert_eq!(l.parts.len(), 1);
    let d = draft(&only, &l);
    assert_eq!(survey(&d, 1), Err(Id::InvalidArgument));
    assert!(core::str::from_utf8(&d)
        .unwrap()
        .ends_with("\r\n\r\n\r\n--=_mfp_3c3c3c3c3c3c3c3c3c3c3c3c--\r\n"));
}

#[test]
#[cfg_attr(miri, ignore = "composes and surveys megabytes")]
fn more_than_four_big_attachments_are_too_large() {
    let big = file(UPLOAD_MIN, 6);
    let names = ["1.pdf", "2.pdf", "3.pdf", "4.pdf", "5.pdf"];
    let atts: Vec<Attachment<'_>> = names.iter().map(|n| att(n, "", big.len() as u64)).collect();
    let files = [&big[..]; 5];
    let msg = compose(Some("five"), &atts, &files);
    assert_eq!(survey(&msg, 4096), Err(Id::ApiMessageTooLarge));
    assert_eq!(survey(&msg, msg.len()), Err(Id::ApiMessageTooLarge));
    // Without the fifth (cut at its delimiter, then closed): four fit.
    let text = core::str::from_utf8(&msg).unwrap();
    let fifth = text
        .rfind("\r\n--=_mfp_3c3c3c3c3c3c3c3c3c3c3c3c\r\n")
        .unwrap();
    let mut four = msg[..fifth].to_vec();
    four.extend_from_slice(b"\r\n--=_mfp_3c3c3c3c3c3c3c3c3c3c3c3c--\r\n");
    let l = survey(&four, 4096).unwrap();
    assert_eq!(l.parts.len(), MAX_UPLOAD_PARTS);
    for (p, n) in l.parts.iter().zip(names) {
        assert_eq!(p.name.as_str(), n);
        assert_eq!(p.raw_len, UPLOAD_MIN);
    }
    assert!(l.parts.windows(2).all(|w| w[0].end == w[1].start));
}

/// A small message (every part under UPLOAD_MIN) with every kind of name.
fn small_message() -> Vec<u8> {
    let a = file(100, 7);
    let b = file(58, 8);
    let atts = [
        att(LONG_NAME, "", a.len() as u64),
        att(QUOTE_NAME, "image/png", b.len() as u64),
        att(SPACE_NAME, "", 0),
    ];
    compose(Some("Hello\nthere"), &atts, &[&a, &b, &[]])
}

#[test]
fn a_small_message_has_nothing_to_upload() {
    let msg = small_message();
    let l = survey_all_ways(&msg, &[1, 7, 77, 4096]).unwrap();
    assert!(l.parts.is_empty());
    assert_eq!(l.size, msg.len() as u64);
    assert_eq!(l.draft_len(), l.size);
}

#[test]
fn a_survey_is_new_after_reset() {
    let msg = small_message();
    let mut s = Survey::new();
    assert_eq!(s.layout(), None);
    s.feed(&msg);
    assert!(s.finish().is_ok());
    assert_eq!(s.layout().unwrap().size, msg.len() as u64);
    s.reset();
    assert_eq!(s.layout(), None);
    assert_eq!(s.finish(), Err(Id::InvalidArgument), "nothing fed");
    s.reset();
    s.feed(&msg);
    assert_eq!(s.finish().unwrap().size, msg.len() as u64);
}

#[test]
fn every_cut_message_is_refused() {
    let msg = small_message();
    let stride = if cfg!(miri) { 97 } else { 1 };
    for n in (0..msg.len()).step_by(stride) {
        assert_eq!(
            survey(&msg[..n], 13),
            Err(Id::InvalidArgument),
            "cut at {n}"
        );
    }
    let mut longer = msg.clone();
    longer.extend_from_slice(b"\r\n");
    assert_eq!(survey(&longer, 5), Err(Id::InvalidArgument));
}

#[test]
fn messages_not_of_the_composers_shape_are_refused() {
    let msg = small_message();
    let text = std::string::String::from_utf8(msg).unwrap();
    // Under Miri the message whole (each survey costs a thousand times its
    // native time); natively also an octet and three at a time.
    let steps: &[usize] = if cfg!(miri) {
        &[usize::MAX]
    } else {
        &[1, 3, usize::MAX]
    };
    let bad = |t: &str| {
        for &step in steps {
            let step = step.min(t.len());
            assert_eq!(
                survey(t.as_bytes(), step),
                Err(Id::InvalidArgument),
                "{t:?}"
            );
        }
    };
    bad("");
    bad("hello");
    bad("\r\n\r\n");
    bad(&text.replace("\r\n", "\n"));
    bad(&text.replacen("\r\n", "\r", 1));
    // Another boundary than the composer's.
    bad(&text.replace("=_mfp_3c3c3c3c3c3c3c3c3c3c3c3c", "simple-boundary"));
    bad(&text.replace("multipart/mixed", "multipart/alternative"));
    // No Content-Type: no boundary.
    bad(&text.replace("Content-Type: multipart", "X-Type: multipart"));
    // A part not in base64.
    bad(&text.replacen(
        "Content-Transfer-Encoding: base64",
        "Content-Transfer-Encoding: 8bit",
        1,
    ));
    // A body line that is not base64, or over 76 characters.
    let first_body = text.find("\r\n\r\nSGVs").unwrap() + 4;
    let mut t = text.clone();
    t.insert(first_body, '-');
    bad(&t);
    let mut t = text.clone();
    t.insert_str(first_body, &"A".repeat(64));
    bad(&t);
    // Names: a broken percent, a continuation out of order, twice, none.
    bad(&text.replacen("%C3%A9", "%C3%G9", 1));
    bad(&text.replacen("filename*1*=", "filename*2*=", 1));
    bad(&text.replacen(
        " name=\"scan 1.pdf\"",
        " name=\"scan 1.pdf\";\r\n name=\"x\"",
        1,
    ));
    bad(&text
        .replacen(" filename=\"scan 1.pdf\"", " filenam=\"scan 1.pdf\"", 1)
        .replacen(" name=\"scan 1.pdf\"", " nam=\"scan 1.pdf\"", 1));
    // A name that is not UTF-8.
    bad(&text.replace("%C3%A9", "%FF%FF"));
    // Something after the close delimiter; no close delimiter.
    bad(&std::format!("{text}x"));
    bad(&text.replace("--\r\n", "\r\n"));
    // A preamble.
    bad(&text.replacen(
        "\r\n\r\n--=_mfp",
        "\r\n\r\nThis is a preamble\r\n--=_mfp",
        1,
    ));
}

/// The small message with `pieces` more `filename*k*=` continuations of
/// 50 octets after the long name's last one (`filename*2*=`).
fn longer_name(pieces: u16) -> std::string::String {
    let mut text = std::string::String::from_utf8(small_message()).unwrap();
    let at = text.find("filename*2*=").unwrap();
    let line_end = at + text[at..].find("\r\n").unwrap();
    let mut extra = std::string::String::new();
    for k in 3..3 + pieces {
        extra.push_str(&std::format!(
            ";\r\n filename*{k}*={}",
            "abcdefghij".repeat(5)
        ));
    }
    text.insert_str(line_end, &extra);
    text
}

#[test]
fn a_name_over_255_octets_is_refused() {
    assert!(LONG_NAME.len() + 5 * 50 > 255 && LONG_NAME.len() + 2 * 50 <= 255);
    assert_eq!(
        survey(longer_name(5).as_bytes(), 7),
        Err(Id::InvalidArgument)
    );
    // Two more pieces still fit: well-formed, and not reported (small).
    assert!(survey(longer_name(2).as_bytes(), 7).is_ok());
}

#[test]
fn sizes() {
    std::println!("size_of Survey = {}", size_of::<Survey>());
    std::println!("size_of Layout = {}", size_of::<Layout>());
    std::println!("size_of UploadPart = {}", size_of::<UploadPart>());
    #[cfg(target_pointer_width = "64")]
    {
        assert!(size_of::<Survey>() <= 1640);
        assert!(size_of::<Layout>() <= 1200);
    }
    let s = std::format!("{:?}", Survey::new());
    assert!(s.starts_with("Survey {"));
}

/// Surveys `msg` fed in pieces of the sizes of `steps`, over and over.
fn survey_in(msg: &[u8], steps: &[usize]) -> Result<Layout, Id> {
    let mut s = Survey::new();
    let mut at = 0;
    for &step in steps.iter().cycle() {
        if at >= msg.len() {
            break;
        }
        let k = step.max(1).min(msg.len() - at);
        s.feed(&msg[at..at + k]);
        at += k;
    }
    s.finish().cloned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 2 } else { 64 }))]

    #[test]
    fn random_octets_never_panic(
        cut in 0usize..2000,
        data in proptest::collection::vec(any::<u8>(), 0..600),
        steps in proptest::collection::vec(1usize..40, 1..20),
    ) {
        // After a piece of a real message (to reach every stage), or alone.
        let mut msg = small_message();
        msg.truncate(cut);
        msg.extend_from_slice(&data);
        let _ = survey_in(&msg, &steps);
        let _ = survey_in(&data, &steps);
    }

    #[test]
    fn a_message_mutated_anywhere_never_panics(
        at in 0usize..2000,
        octet in any::<u8>(),
        step in 1usize..100,
    ) {
        let mut msg = small_message();
        let n = msg.len();
        msg[at % n] = octet;
        let _ = survey(&msg, step);
    }

    #[test]
    fn random_pieces_give_the_same_layout(
        steps in proptest::collection::vec(1usize..200, 1..30),
    ) {
        let msg = small_message();
        let l = survey_in(&msg, &steps).unwrap();
        prop_assert!(l.parts.is_empty());
        prop_assert_eq!(l.size, msg.len() as u64);
    }
}
