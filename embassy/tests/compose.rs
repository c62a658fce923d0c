//! The composed body (R-MIME): what `Board::run` reads from a
//! `ComposedBody` is the core composer's message octet for octet, whatever
//! the read size, each file fed through the reader's buffer; a file of the
//! wrong length fails the read instead of completing the message.

use embassy_futures::block_on;
use embedded_io_async::Read;
use mfp_oauth_core::mime::{Attachment, Composer, Output, Parts, RANDOM_LEN};
use mfp_oauth_embassy::{ComposeError, ComposedBody};

const RANDOM: [u8; RANDOM_LEN] = *b"twelve-octet";

fn file(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
        .collect()
}

fn parts<'a>(to: &'a [&'a str], files: &'a [Attachment<'a>]) -> Parts<'a> {
    Parts {
        from: "scanner@contoso.com",
        to,
        subject: "Scan from the 3rd floor",
        text: Some("Scanned on the printer.\n"),
        attachments: files,
        message_id_local: "",
    }
}

/// The core composer's message, fed directly.
fn reference(msg: Parts<'_>, data: &[Vec<u8>]) -> Vec<u8> {
    let mut c = Composer::new(msg, Some(1_765_000_000), &RANDOM).unwrap();
    let mut out = vec![0u8; 1000];
    let mut msg = Vec::new();
    let mut fed = vec![0usize; data.len()];
    loop {
        match c.poll_output(&mut out).unwrap() {
            Output::Wrote(n) => msg.extend_from_slice(&out[..n]),
            Output::Done => return msg,
            Output::NeedInput { part, max } => {
                let rest = &data[part][fed[part]..];
                let k = rest.len().min(max);
                fed[part] += c.handle_input(&rest[..k]).unwrap();
            }
        }
    }
}

fn read_all<R: Read>(body: &mut R, chunk: usize) -> Result<Vec<u8>, R::Error> {
    block_on(async {
        let mut msg = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = body.read(&mut buf).await?;
            if n == 0 {
                return Ok(msg);
            }
            msg.extend_from_slice(&buf[..n]);
        }
    })
}

#[test]
fn the_body_read_is_the_composers_message_for_any_read_size() {
    let data = [file(20_000, 1), file(3, 2)];
    let files = [
        Attachment {
            name: "scan-0001.pdf",
            content_type: "",
            len: 20_000,
        },
        Attachment {
            name: "reçu.jpg",
            content_type: "",
            len: 3,
        },
    ];
    let to = ["someone@fabrikam.example", "boss@fabrikam.example"];
    let want = reference(parts(&to, &files), &data);
    for chunk in [1, 2, 7, 64, 457, 4096] {
        let mut readers = [&data[0][..], &data[1][..]];
        let mut body = ComposedBody::new(
            parts(&to, &files),
            Some(1_765_000_000),
            &RANDOM,
            &mut readers,
        )
        .unwrap();
        assert_eq!(body.size(), want.len() as u64);
        let got = read_all(&mut body, chunk).unwrap();
        assert_eq!(got, want, "read size {chunk}");
        assert_eq!(body.produced(), want.len() as u64);
    }
}

#[test]
fn a_file_of_the_wrong_length_fails_the_read() {
    let to = ["someone@fabrikam.example"];
    for (announced, actual) in [(1000u64, 999usize), (1000, 1001), (0, 1)] {
        let files = [Attachment {
            name: "scan.pdf",
            content_type: "",
            len: announced,
        }];
        let data = file(actual, 3);
        let mut readers = [&data[..]];
        let mut body = ComposedBody::new(parts(&to, &files), None, &RANDOM, &mut readers).unwrap();
        let err = read_all(&mut body, 256).unwrap_err();
        assert!(
            matches!(err, ComposeError::Message(_)),
            "{announced} announced, {actual} read: {err:?}"
        );
    }
}

#[test]
fn a_missing_reader_and_a_refused_message_are_errors() {
    let to = ["someone@fabrikam.example"];
    let files = [Attachment {
        name: "scan.pdf",
        content_type: "",
        len: 10,
    }];
    let mut none: [&[u8]; 0] = [];
    let mut body = ComposedBody::new(parts(&to, &files), None, &RANDOM, &mut none).unwrap();
    assert_eq!(
        read_all(&mut body, 256).unwrap_err(),
        ComposeError::NoReader { part: 0 }
    );
    let bad = Parts {
        from: "not an address",
        ..parts(&to, &files)
    };
    let mut readers = [&b"0123456789"[..]];
    assert!(matches!(
        ComposedBody::new(bad, None, &RANDOM, &mut readers),
        Err(ComposeError::Message(_))
    ));
}
