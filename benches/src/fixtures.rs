//! Deterministic inputs, the same for us and every peer.

/// Length of the access token in rows 1, 3, 4 and 6: a Microsoft 365
/// access token (a JWT) is about this long.
pub const TOKEN_LEN: usize = 2_500;

/// Size of the attachment message in row 3.
pub const BIG_MESSAGE_LEN: usize = 20 * 1024 * 1024;

/// The mailbox that authenticates and sends.
pub const USER: &str = "scanner@example.com";

/// The three recipients of every message.
pub const RECIPIENTS: [&str; 3] = [
    "boss@example.com",
    "archive@example.com",
    "team@example.org",
];

/// The EHLO name every client uses.
pub const EHLO_NAME: &str = "printer.example.com";

/// Token-like text: base64url characters with a dot every 700, from a
/// linear congruential generator (deterministic, no dependency).
#[must_use]
pub fn token_text(seed: u64, len: usize) -> String {
    const CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x = seed ^ 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|i| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            if i % 700 == 699 {
                '.'
            } else {
                char::from(CHARS[(x >> 58) as usize])
            }
        })
        .collect()
}

/// A JWT-shaped access token of `len` octets.
#[must_use]
pub fn access_token(len: usize) -> String {
    let head = "eyJ0eXAiOiJKV1QiLCJub25jZSI6";
    let mut t = String::from(head);
    t.push_str(&token_text(11, len.saturating_sub(head.len())));
    t.truncate(len);
    t
}

/// A Microsoft identity platform token response body (about 6.5 KB):
/// access, refresh and id tokens, `ext_expires_in`, `client_info`.
#[must_use]
pub fn microsoft_body() -> String {
    let access = format!("eyJ0eXAiOiJKV1QiLCJub25jZSI6{}", token_text(1, 3_600));
    let refresh = format!("1.AXkA{}", token_text(2, 1_750));
    let id = format!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{}",
        token_text(3, 900)
    );
    format!(
        r#"{{"token_type":"Bearer","scope":"https://outlook.office.com/SMTP.Send https://outlook.office.com/User.Read","expires_in":4383,"ext_expires_in":4383,"access_token":"{access}","refresh_token":"{refresh}","id_token":"{id}","client_info":"eyJ1aWQiOiIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAiLCJ1dGlkIjoiOTE4ODA0MGQtNmM2Ny00YzViLWIxMTItMzZhMzA0YjY2ZGFkIn0"}}"#
    )
}

/// A Google token response body: pretty-printed, escaped `\/` in the
/// refresh token, `refresh_token_expires_in`.
#[must_use]
pub fn google_body() -> String {
    let access = format!("ya29.a0AfB_by{}", token_text(5, 210));
    let refresh = format!("1//0g{}", token_text(6, 98)).replace('/', "\\/");
    format!(
        "{{\n  \"access_token\": \"{access}\",\n  \"expires_in\": 3599,\n  \"refresh_token\": \"{refresh}\",\n  \"scope\": \"https://mail.google.com/\",\n  \"token_type\": \"Bearer\",\n  \"refresh_token_expires_in\": 604799\n}}"
    )
}

/// A scan-to-e-mail message of exactly `len` octets (at least 1 KiB):
/// headers, a short text part with lines that need dot-stuffing, and a
/// base64 PDF attachment in 76-column CRLF lines.
#[must_use]
pub fn message(len: usize) -> Vec<u8> {
    let head = format!(
        "From: Scanner <{USER}>\r\nTo: {}\r\nSubject: Scan 2026-11-24 08:00\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Scanned document attached.\r\n.\r\n..two dots\r\n.signature\r\n\r\n\
--b1\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n",
        RECIPIENTS.join(", ")
    );
    let tail = b"\r\n--b1--\r\n";
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(head.as_bytes());
    let room = len.saturating_sub(out.len() + tail.len());
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u64 = 7;
    let mut col = 0;
    let start = out.len();
    while out.len() - start < room {
        let left = room - (out.len() - start);
        if col == 76 && left >= 2 {
            out.extend_from_slice(b"\r\n");
            col = 0;
            continue;
        }
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.push(alphabet[(x >> 58) as usize]);
        col += 1;
    }
    out.extend_from_slice(tail);
    out
}

/// Lines of `msg` that start with `.` (each costs one stuffed octet with
/// `DATA`).
#[must_use]
pub fn dot_lines(msg: &[u8]) -> usize {
    usize::from(msg.first() == Some(&b'.')) + msg.windows(2).filter(|w| w == b"\n.").count()
}

/// The row 3 message as the product sends it: composed by the core's
/// composer (`mfp_oauth_core::mime`, canonical: CRLF, base64 76-column
/// lines, no line starting with a dot), a short text and a PDF-sized file
/// of deterministic octets, about `len` octets in all.
#[must_use]
pub fn canonical_message(len: usize) -> Vec<u8> {
    use mfp_oauth_core::mime::{Attachment, Composer, Output, Parts};
    // 57 octets of file make a 78-octet line.
    let file_len = len.saturating_sub(1024) / 78 * 57;
    let file = scan_file(file_len);
    let atts = [Attachment {
        name: "scan.pdf",
        content_type: "application/pdf",
        len: file_len as u64,
    }];
    let parts = Parts {
        from: USER,
        to: &RECIPIENTS,
        subject: "Scan 2026-11-24 08:00",
        text: Some("Scanned document attached."),
        attachments: &atts,
        message_id_local: "bench-1",
    };
    let Ok(mut c) = Composer::new(parts, Some(1_795_516_072), &[0x5a; 12]) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(usize::try_from(c.size()).unwrap_or(len));
    let mut buf = vec![0u8; 64 * 1024];
    let mut pos = 0;
    loop {
        match c.poll_output(&mut buf) {
            Ok(Output::Wrote(n)) => out.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Ok(Output::NeedInput { max, .. }) => {
                let end = (pos + max).min(file.len());
                match c.handle_input(file.get(pos..end).unwrap_or_default()) {
                    Ok(k) => pos += k,
                    Err(_) => return Vec::new(),
                }
            }
            Ok(Output::Done) | Err(_) => break,
        }
    }
    out
}

/// The scanned file of [`canonical_message`]: `len` deterministic octets.
#[must_use]
pub fn scan_file(len: usize) -> Vec<u8> {
    let mut x: u64 = 7;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}
