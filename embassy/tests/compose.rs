//! The composed body (R-MIME): what `Board::run` reads from a
//! `ComposedBody` is the core composer's message octet for octet, whatever
//! the read size, each file fed through the reader's buffer; a file of the
//! wrong length fails the read instead of completing the message.

use embassy_futures::block_on;
use embedded_io_async::Read;
use mfp_oauth_core::mime::{Attachment, Composer, Output, Parts, RANDOM_LEN};
use mfp_oauth_embassy::{ComposeError, ComposedBody, JobBody, Octets};

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

#[test]
fn a_restarted_body_is_the_same_message_again_wherever_it_stopped() {
    // A mail API's retry or a resumed upload reads the message again from
    // its first octet (R-XPORT): the same octets, the files read again
    // from their start.
    let data = [file(9_000, 4), file(700, 5)];
    let files = [
        Attachment {
            name: "scan-0002.pdf",
            content_type: "",
            len: 9_000,
        },
        Attachment {
            name: "page 2.png",
            content_type: "",
            len: 700,
        },
    ];
    let to = ["someone@fabrikam.example"];
    let want = reference(parts(&to, &files), &data);
    for stop in [0usize, 1, 500, 5_000, want.len() - 3, want.len()] {
        let mut readers = [Octets::new(&data[0]), Octets::new(&data[1])];
        let mut body = ComposedBody::new(
            parts(&to, &files),
            Some(1_765_000_000),
            &RANDOM,
            &mut readers,
        )
        .unwrap();
        block_on(async {
            let mut buf = [0u8; 64];
            let mut got = 0;
            while got < stop {
                let n = body.read(&mut buf[..(stop - got).min(64)]).await.unwrap();
                assert!(n > 0);
                got += n;
            }
            body.restart().await.unwrap();
        });
        assert_eq!(body.produced(), 0);
        assert_eq!(read_all(&mut body, 333).unwrap(), want, "stopped at {stop}");
    }
}

#[test]
fn octets_read_seek_and_restart() {
    use embedded_io_async::{Seek, SeekFrom};
    let all = file(100, 6);
    let mut o = Octets::new(&all);
    block_on(async {
        let mut buf = [0u8; 30];
        assert_eq!(o.read(&mut buf).await.unwrap(), 30);
        assert_eq!(buf[..], all[..30]);
        assert_eq!(o.seek(SeekFrom::Current(-10)).await.unwrap(), 20);
        assert_eq!(o.read(&mut buf[..5]).await.unwrap(), 5);
        assert_eq!(buf[..5], all[20..25]);
        assert_eq!(o.seek(SeekFrom::End(-4)).await.unwrap(), 96);
        assert_eq!(o.read(&mut buf).await.unwrap(), 4);
        assert_eq!(buf[..4], all[96..]);
        assert_eq!(o.read(&mut buf).await.unwrap(), 0);
        assert_eq!(o.seek(SeekFrom::Start(1_000)).await.unwrap(), 100);
        o.restart().await.unwrap();
        assert_eq!(o.position(), 0);
        assert_eq!(o.read(&mut buf).await.unwrap(), 30);
        assert_eq!(buf[..], all[..30]);
    });
}
