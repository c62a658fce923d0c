//! A body declared canonical (`Client::write_body_canonical`, issue 16):
//! the core composer's output goes on the wire exactly as the scanning
//! path (`write_body`) would send it, with `DATA` and `BDAT`, however it
//! is cut; and a body wrongly declared canonical never ends a `DATA`
//! message early (a dot at the start of a line is stuffed all the same).

use mfp_oauth_core::mime::{Attachment, Composer, Output, Parts, RANDOM_LEN};
use mfp_oauth_core::smtp::{Client, Envelope, Event, Security, Settings};
use mfp_oauth_core::{Address, Instant};
use proptest::prelude::*;

const USER: &str = "scanner@contoso.com";
const TOKEN: &str = "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA";

/// An authenticated client whose body is due: `BDAT` when `chunking`,
/// else `DATA` (its `354` read).
fn body_ready(chunking: bool) -> Client {
    let settings = Settings::new(
        Security::ImplicitTls,
        "printer.example.com",
        "smtp.example.com",
        465,
    )
    .unwrap();
    let mut c = Client::new(Instant::ZERO, settings, Address::parse(USER).unwrap());
    c.set_token(Instant::ZERO, TOKEN.as_bytes()).unwrap();
    let caps: &[u8] = if chunking {
        b"250-x\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 AUTH XOAUTH2\r\n"
    } else {
        b"250-x\r\n250-PIPELINING\r\n250 AUTH XOAUTH2\r\n"
    };
    let mut out = [0u8; 512];
    for reply in [&b"220 x\r\n"[..], caps, b"235 ok\r\n"] {
        let _ = c.handle_input(Instant::ZERO, reply);
        while c.poll_transmit(Instant::ZERO, &mut out).unwrap().is_some() {}
    }
    while c.poll_event().is_some() {}
    assert!(c.is_ready());
    let mut env = Envelope::new(Address::parse(USER).unwrap());
    env.add_recipient(Address::parse("a@b.c").unwrap()).unwrap();
    c.send_message(Instant::ZERO, env).unwrap();
    while c.poll_transmit(Instant::ZERO, &mut out).unwrap().is_some() {}
    if !chunking {
        let _ = c.handle_input(Instant::ZERO, b"250 ok\r\n250 ok\r\n354 go\r\n");
    }
    let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(events.contains(&Event::ReadyForBody), "{events:?}");
    c
}

/// The body's octets on the wire and the end of data, `body` offered in
/// pieces of `cut` octets through an output buffer of `out_len`.
fn wire(chunking: bool, canonical: bool, body: &[u8], cut: usize, out_len: usize) -> Vec<u8> {
    wire_mixed(chunking, canonical, false, body, cut, out_len)
}

/// [`wire`], every other piece through the other path when `mixed`.
fn wire_mixed(
    chunking: bool,
    canonical: bool,
    mixed: bool,
    body: &[u8],
    cut: usize,
    out_len: usize,
) -> Vec<u8> {
    let mut c = body_ready(chunking);
    let mut out = vec![0u8; out_len];
    let mut wire = Vec::new();
    for (i, piece) in body.chunks(cut.max(1)).enumerate() {
        let mut input = piece;
        let canonical = canonical != (mixed && i % 2 == 1);
        while !input.is_empty() {
            let p = if canonical {
                c.write_body_canonical(input, &mut out).unwrap()
            } else {
                c.write_body(input, &mut out).unwrap()
            };
            assert!(p.written <= out_len);
            wire.extend_from_slice(&out[..p.written]);
            input = &input[p.consumed..];
        }
    }
    c.finish_body(Instant::ZERO).unwrap();
    while let Some(t) = c.poll_transmit(Instant::ZERO, &mut out).unwrap() {
        wire.extend_from_slice(&out[..t.len]);
    }
    wire
}

/// What a `BDAT` server stores: the chunks' octets, by their sizes.
fn reassemble(wire: &[u8]) -> Vec<u8> {
    let mut rest = wire;
    let mut got = Vec::new();
    while !rest.is_empty() {
        let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let header = std::str::from_utf8(&rest[..eol]).unwrap();
        let n: usize = header.split(' ').nth(1).unwrap().parse().unwrap();
        got.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
        rest = &rest[eol + 2 + n..];
    }
    got
}

/// Where a `DATA` message ends for a server that also takes a bare LF or
/// CR as a line end (the lenient reading SMTP smuggling relies on): the
/// offset just after the first line holding only `.`.
fn lenient_end(wire: &[u8]) -> Option<usize> {
    let mut start = 0;
    for (i, &b) in wire.iter().enumerate() {
        if b == b'\r' || b == b'\n' {
            if &wire[start..i] == b"." {
                let mut end = i + 1;
                if b == b'\r' && wire.get(end) == Some(&b'\n') {
                    end += 1;
                }
                return Some(end);
            }
            start = i + 1;
        }
    }
    None
}

/// One message from the core composer: a text part and `files`.
fn compose(text: Option<&str>, subject: &str, files: &[Vec<u8>]) -> Vec<u8> {
    let names: Vec<String> = (0..files.len()).map(|i| format!("scan {i}.pdf")).collect();
    let atts: Vec<Attachment<'_>> = files
        .iter()
        .zip(&names)
        .map(|(f, name)| Attachment {
            name,
            content_type: "",
            len: f.len() as u64,
        })
        .collect();
    let parts = Parts {
        from: USER,
        to: &["a@b.c"],
        subject,
        text,
        attachments: &atts,
        message_id_local: "",
    };
    let mut c = Composer::new(parts, Some(1_795_516_072), &[7u8; RANDOM_LEN]).unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1000];
    let mut pos = vec![0usize; files.len()];
    loop {
        match c.poll_output(&mut buf).unwrap() {
            Output::Wrote(n) => got.extend_from_slice(&buf[..n]),
            Output::NeedInput { part, max } => {
                let f = &files[part];
                let k = (f.len() - pos[part]).min(max);
                let took = c.handle_input(&f[pos[part]..pos[part] + k]).unwrap();
                pos[part] += took;
            }
            Output::Done => break,
        }
    }
    assert_eq!(got.len() as u64, c.size());
    got
}

#[test]
fn a_composed_message_goes_out_as_the_scanning_path_sends_it() {
    let pdf: Vec<u8> = (0..70_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
    let msg = compose(
        Some(".hidden\n..two\r\n.\r\nend"),
        "Scan",
        &[pdf, b"x".to_vec()],
    );
    for chunking in [false, true] {
        let scanned = wire(chunking, false, &msg, 4096, 65_536);
        assert_eq!(wire(chunking, true, &msg, 4096, 65_536), scanned);
        if !chunking {
            assert!(scanned.ends_with(b"\r\n.\r\n"));
            assert_eq!(lenient_end(&scanned), Some(scanned.len()));
        }
    }
}

#[test]
fn a_body_wrongly_declared_canonical_never_ends_data_early() {
    // Lines starting with a dot after CRLF, a bare LF and a bare CR; a
    // dot starting the body; an end-of-data sequence inside the body.
    let bodies: [&[u8]; 5] = [
        b".\r\nMAIL FROM:<x@y.z>\r\n",
        b"a\r\n.\r\nRSET\r\n",
        b"a\n.\nQUIT\n",
        b"a\r.\rQUIT\r",
        b"a\n.\r\nQUIT\r\n",
    ];
    for body in bodies {
        for cut in [1, 2, 3, 100] {
            let w = wire(false, true, body, cut, 32);
            assert_eq!(lenient_end(&w), Some(w.len()), "{body:?} cut {cut}: {w:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Over composer outputs: `DATA` puts the same octets on the wire
    /// whatever the cuts and the output buffer; `BDAT` stores the same
    /// body (its chunks may be cut elsewhere: the canonical path fills
    /// the buffer), and the same wire when one chunk holds each piece.
    #[test]
    fn composer_outputs_give_the_scanning_paths_octets(
        text in proptest::option::of("[ -~\r\n.é]{0,300}"),
        subject in "[ -~é]{0,80}",
        files in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..700), 0..3),
        cut in 1usize..300,
        out_len in 32usize..300,
    ) {
        let msg = compose(text.as_deref(), &subject, &files);
        let data = wire(false, false, &msg, cut, out_len);
        prop_assert_eq!(wire(false, true, &msg, cut, out_len), data.clone());
        prop_assert_eq!(wire_mixed(false, true, true, &msg, cut, out_len), data);
        let bdat = wire(true, false, &msg, cut, out_len);
        let canonical = wire(true, true, &msg, cut, out_len);
        prop_assert_eq!(reassemble(&canonical), reassemble(&bdat));
        prop_assert_eq!(reassemble(&canonical), msg.clone());
        prop_assert_eq!(
            wire(true, true, &msg, cut, cut + 64),
            wire(true, false, &msg, cut, cut + 64)
        );
    }

    /// Any body declared canonical over `DATA`: the message ends at the
    /// client's end of data, for a server that takes bare LF and CR as
    /// line ends too.
    #[test]
    fn any_body_declared_canonical_keeps_data_whole(
        body in proptest::collection::vec(prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), any::<u8>()], 0..400),
        cut in 1usize..50,
        out_len in 32usize..80,
    ) {
        let w = wire(false, true, &body, cut, out_len);
        prop_assert_eq!(lenient_end(&w), Some(w.len()));
        prop_assert!(w.ends_with(b"\r\n.\r\n") || w == b".\r\n");
    }
}
