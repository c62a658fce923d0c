use super::*;
use proptest::prelude::*;
use std::string::String;
use std::vec::Vec;

/// 2026-11-24 10:27:52 UTC, a Tuesday.
const WHEN: u64 = 1_795_516_072;
const RANDOM: [u8; RANDOM_LEN] = [0xa5; RANDOM_LEN];

fn data(n: usize, seed: u32) -> Vec<u8> {
    let mut x: u32 = 0x2545_F491 ^ seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Composes `m` with `files` as the attachments' octets, pulling into
/// buffers of `out_step` octets and pushing at most `in_step` octets at a
/// time.
fn run<M: Message>(
    m: M,
    files: &[&[u8]],
    out_step: usize,
    in_step: usize,
) -> Result<(u64, Vec<u8>), Error> {
    let mut c = Composer::new(m, Some(WHEN), &RANDOM)?;
    let size = c.size();
    let mut got = Vec::new();
    let mut pos = std::vec![0usize; files.len()];
    let mut buf = std::vec![0u8; out_step];
    loop {
        match c.poll_output(&mut buf)? {
            Output::Wrote(n) => {
                assert!(n > 0 && n <= out_step);
                got.extend_from_slice(&buf[..n]);
            }
            Output::NeedInput { part, max } => {
                assert!(max > 0);
                let f = files[part];
                let p = &mut pos[part];
                let k = (f.len() - *p).min(in_step).min(max);
                let taken = c.handle_input(&f[*p..*p + k])?;
                assert_eq!(taken, k);
                *p += k;
            }
            Output::Done => break,
        }
    }
    assert!(c.is_done());
    assert_eq!(c.produced(), got.len() as u64);
    Ok((size, got))
}

fn parts<'a>(
    text: Option<&'a str>,
    subject: &'a str,
    atts: &'a [Attachment<'a>],
    to: &'a [&'a str],
) -> Parts<'a> {
    Parts {
        from: "scanner@contoso.test",
        to,
        subject,
        text,
        attachments: atts,
        message_id_local: "job-1",
    }
}

const TO: [&str; 2] = ["a@x.test", "b@x.test"];

/// The message as text, checked for the canonical form: CRLF line ends,
/// no line above 78 octets, none starting with a dot, ASCII only.
fn canonical(m: &[u8]) -> String {
    let text = String::from_utf8(m.to_vec()).unwrap();
    assert!(text.is_ascii());
    assert!(text.ends_with("--\r\n"));
    for line in text.trim_end_matches("\r\n").split("\r\n") {
        assert!(line.len() <= 78, "{line:?}");
        assert!(!line.contains('\r') && !line.contains('\n'), "{line:?}");
        assert!(!line.starts_with('.'), "{line:?}");
    }
    text
}

/// The base64 body of the part whose header contains `marker`, decoded.
fn part_body(text: &str, marker: &str) -> Vec<u8> {
    let at = text.find(marker).unwrap();
    let start = at + text[at..].find("\r\n\r\n").unwrap() + 4;
    let end = start + text[start..].find("\r\n--=_mfp_").unwrap();
    let b64: String = text[start..end].split("\r\n").collect();
    for line in text[start..end].split("\r\n") {
        assert!(line.len() <= 76);
    }
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[test]
fn types_by_extension() {
    assert_eq!(content_type_for("SCAN.PDF"), "application/pdf");
    assert_eq!(content_type_for("x.tiff"), "image/tiff");
    assert_eq!(content_type_for("a.b.JpEg"), "image/jpeg");
    assert_eq!(content_type_for("noext"), "application/octet-stream");
    assert_eq!(content_type_for(".pdf"), "application/octet-stream");
    assert_eq!(content_type_for("x."), "application/octet-stream");
}

#[test]
fn dates_are_rfc5322_in_utc() {
    let date = |t: u64| {
        let mut s = Sink::measure();
        head::rfc5322_date(t, &mut s);
        let mut out = std::vec![0u8; s.len()];
        let mut s = Sink::new(&mut out, 0);
        head::rfc5322_date(t, &mut s);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(date(WHEN), "Tue, 24 Nov 2026 10:27:52 +0000");
    assert_eq!(date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
    // A leap day.
    assert_eq!(date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    // Any time at all: no panic.
    let _ = date(u64::MAX);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "hundreds of encodings up to 100,000 octets; the encoder runs under Miri in the other mime tests"
)]
fn base64_length_formula_matches_the_encoder() {
    for n in (0..300).chain([57 * 64, 57 * 64 + 1, 100_000]) {
        let raw = data(n, 0);
        let enc = base64::engine::general_purpose::STANDARD.encode(&raw);
        let lines: Vec<&str> = enc
            .as_bytes()
            .chunks(LINE_OUT)
            .map(|c| core::str::from_utf8(c).unwrap())
            .collect();
        assert_eq!(
            base64_lines_len(n as u64),
            lines.join("\r\n").len() as u64,
            "n = {n}"
        );
    }
}

#[test]
fn the_whole_message() {
    let file = b"%PDF-1.7 scan";
    let atts = [Attachment {
        name: "scan 1.pdf",
        content_type: "",
        len: file.len() as u64,
    }];
    let (size, m) = run(
        parts(Some("Attached: 1 page."), "Scan", &atts, &TO),
        &[file],
        4096,
        4096,
    )
    .unwrap();
    assert_eq!(size, m.len() as u64);
    let b = "=_mfp_a5a5a5a5a5a5a5a5a5a5a5a5";
    let want = std::format!(
        "Date: Tue, 24 Nov 2026 10:27:52 +0000\r\n\
         From: <scanner@contoso.test>\r\n\
         To: <a@x.test>, <b@x.test>\r\n\
         Subject: Scan\r\n\
         Message-ID: <job-1@contoso.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed;\r\n boundary=\"{b}\"\r\n\
         X-Mailer: mfp-oauth\r\n\
         \r\n\
         --{b}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         QXR0YWNoZWQ6IDEgcGFnZS4=\r\n\
         --{b}\r\n\
         Content-Type: application/pdf;\r\n name=\"scan 1.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment;\r\n filename=\"scan 1.pdf\"\r\n\
         \r\n\
         JVBERi0xLjcgc2Nhbg==\r\n\
         --{b}--\r\n"
    );
    assert_eq!(String::from_utf8(m).unwrap(), want);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "files up to 70,000 octets at every output step; the same path runs under Miri on small files in the other mime tests"
)]
fn announced_length_is_the_produced_length_for_any_step() {
    for size in [0usize, 1, 2, 3, 56, 57, 58, 456, 457, 3648, 3649, 70_000] {
        let a = data(size, 1);
        let b = data(size / 3, 2);
        let atts = [
            Attachment {
                name: "scan 1.pdf",
                content_type: "application/pdf",
                len: a.len() as u64,
            },
            Attachment {
                name: "b.png",
                content_type: "",
                len: b.len() as u64,
            },
        ];
        for text in [Some("Attached: 1 page."), Some("Été\n"), Some(""), None] {
            let m = parts(text, "Scan", &atts, &TO);
            let (announced, whole) = run(m, &[&a, &b], 4096, 4096).unwrap();
            assert_eq!(announced, whole.len() as u64, "size {size} text {text:?}");
            let t = canonical(&whole);
            assert_eq!(part_body(&t, "name=\"scan 1.pdf\""), a);
            assert_eq!(part_body(&t, "name=\"b.png\""), b);
            assert!(t.contains("Content-Type: image/png;"));
            assert_eq!(t.contains("text/plain"), text.is_some());
            for (out_step, in_step) in [(1, 1), (7, 5), (77, 456), (78, 100), (79, 57)] {
                let (_, got) = run(m, &[&a, &b], out_step, in_step).unwrap();
                assert!(got == whole, "size {size} steps {out_step} {in_step}");
            }
        }
    }
}

#[test]
fn text_line_ends_become_crlf() {
    let (_, m) = run(
        parts(Some("one\ntwo\rthree\r\nfour"), "s", &[], &TO),
        &[],
        100,
        100,
    )
    .unwrap();
    let t = canonical(&m);
    assert_eq!(
        part_body(&t, "text/plain"),
        b"one\r\ntwo\r\nthree\r\nfour".to_vec()
    );
}

#[test]
fn no_text_and_no_file_is_an_empty_text_part() {
    let (size, m) = run(parts(None, "s", &[], &[]), &[], 100, 100).unwrap();
    assert_eq!(size, m.len() as u64);
    let t = canonical(&m);
    assert!(t.contains("text/plain"));
    assert!(!t.contains("To:"));
}

#[test]
fn lines_are_crlf_and_short() {
    let file = data(10_000, 3);
    let atts = [Attachment {
        name: "a.pdf",
        content_type: "",
        len: 10_000,
    }];
    let subject = "word ".repeat(40);
    let to: Vec<String> = (0..16)
        .map(|i| std::format!("user{i}@fabrikam.test"))
        .collect();
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    let (_, m) = run(
        parts(Some("one\ntwo\rthree\r\n"), &subject, &atts, &to),
        &[&file],
        4096,
        4096,
    )
    .unwrap();
    let t = canonical(&m);
    // Folded: every word and address is still there.
    assert_eq!(t.matches("word").count(), 40);
    assert_eq!(t.matches("@fabrikam.test>").count(), 16);
}

#[test]
fn a_file_of_another_length_is_an_error() {
    let file = data(1000, 4);
    let atts = [Attachment {
        name: "scan.pdf",
        content_type: "",
        len: 1000,
    }];
    let m = parts(Some("t"), "s", &atts, &TO);
    // Shorter: the caller says the file ended early.
    assert_eq!(
        run(m, &[&file[..900]], 100, 100),
        Err(Error::FileShorter { part: 0 })
    );
    // Longer: octets past the announced length.
    let long = data(1001, 4);
    for step in [1, 100, 4096] {
        assert_eq!(
            run(m, &[&long], 100, step),
            Err(Error::FileLonger { part: 0 })
        );
    }
    // And the composer stays failed.
    let mut c = Composer::new(m, None, &RANDOM).unwrap();
    let mut out = [0u8; 4096];
    let mut failed = false;
    for _ in 0..100 {
        match c.poll_output(&mut out) {
            Ok(Output::NeedInput { .. }) => {
                assert!(c.handle_input(&[]).is_err());
                failed = true;
            }
            Ok(_) => {}
            Err(e) => {
                assert!(failed);
                assert_eq!(e, Error::FileShorter { part: 0 });
                break;
            }
        }
    }
    assert!(failed);
    assert_eq!(c.handle_input(b"x"), Err(Error::FileShorter { part: 0 }));
}

#[test]
fn input_is_refused_when_no_file_is_read() {
    let mut c = Composer::new(parts(Some("t"), "s", &[], &TO), None, &RANDOM).unwrap();
    assert_eq!(c.handle_input(b"x"), Err(Error::NotExpectingInput));
    let mut out = [0u8; 10];
    assert!(matches!(c.poll_output(&mut out), Ok(Output::Wrote(10))));
    // Not a failure: the message goes on.
    assert_eq!(c.handle_input(b"x"), Err(Error::NotExpectingInput));
    assert!(matches!(c.poll_output(&mut out), Ok(Output::Wrote(_))));
}

#[test]
fn the_boundary_never_occurs_in_any_content() {
    let b = "=_mfp_a5a5a5a5a5a5a5a5a5a5a5a5";
    let text = std::format!("a line\n--{b}\nanother\n--{b}--\n");
    let file = std::format!("--{b}\r\n");
    let atts = [Attachment {
        name: "x.txt",
        content_type: "",
        len: file.len() as u64,
    }];
    let (_, m) = run(
        parts(Some(&text), "s", &atts, &TO),
        &[file.as_bytes()],
        100,
        100,
    )
    .unwrap();
    let t = canonical(&m);
    // The delimiters only: before the text, before the file, the close.
    assert_eq!(t.matches(&std::format!("\r\n--{b}")).count(), 3, "{t}");
    assert_eq!(
        part_body(&t, "text/plain"),
        text.replace('\n', "\r\n").into_bytes()
    );
    assert_eq!(part_body(&t, "x.txt"), file.into_bytes());
}

#[test]
fn non_ascii_subject_and_file_name_are_encoded() {
    let name = "relevé d'été n°1 — scanné au 3ᵉ étage, bureau 42, très long nom.pdf";
    let atts = [Attachment {
        name,
        content_type: "",
        len: 10,
    }];
    let subject = "Numérisation « été » ✓ ".repeat(5);
    let file = data(10, 5);
    let (size, m) = run(parts(Some("x"), &subject, &atts, &TO), &[&file], 3, 2).unwrap();
    assert_eq!(size, m.len() as u64);
    let t = canonical(&m);
    assert!(t.contains("Subject: =?UTF-8?B?"), "{t}");
    assert!(t.contains("Content-Type: application/pdf;"), "{t}");
    assert!(t.contains(" name*0*=utf-8''relev%C3%A9"), "{t}");
    assert!(t.contains(" filename*0*=utf-8''relev%C3%A9"), "{t}");
    assert!(t.contains(" filename*1*="), "{t}");
    // The encoded words decode to the subject, and none splits a character.
    let field = &t[t.find("Subject:").unwrap()..t.find("Message-ID:").unwrap()];
    let mut decoded = Vec::new();
    for word in field.split_whitespace().skip(1) {
        let inner = word
            .strip_prefix("=?UTF-8?B?")
            .and_then(|w| w.strip_suffix("?="))
            .unwrap();
        assert!(word.len() <= 75);
        let part = base64::engine::general_purpose::STANDARD
            .decode(inner)
            .unwrap();
        assert!(core::str::from_utf8(&part).is_ok());
        decoded.extend_from_slice(&part);
    }
    assert_eq!(String::from_utf8(decoded).unwrap(), subject);
    // The RFC 2231 pieces put back together give the name.
    let mut enc = String::new();
    for i in 0.. {
        let key = std::format!(" filename*{i}*=");
        let Some(at) = t.find(&key) else { break };
        let rest = &t[at + key.len()..];
        enc.push_str(&rest[..rest.find([';', '\r']).unwrap()]);
    }
    let enc = enc.strip_prefix("utf-8''").unwrap();
    let mut raw = Vec::new();
    let mut bytes = enc.bytes();
    while let Some(c) = bytes.next() {
        if c == b'%' {
            let h = [bytes.next().unwrap(), bytes.next().unwrap()];
            raw.push(u8::from_str_radix(core::str::from_utf8(&h).unwrap(), 16).unwrap());
        } else {
            raw.push(c);
        }
    }
    assert_eq!(String::from_utf8(raw).unwrap(), name);
}

#[test]
fn a_subject_with_line_breaks_stays_one_field() {
    let (_, m) = run(
        parts(Some("x"), "Scan\r\nBcc: evil@x.test", &[], &TO),
        &[],
        100,
        100,
    )
    .unwrap();
    let t = canonical(&m);
    assert!(!t.contains("\r\nBcc:"), "{t}");
    assert!(t.contains("Subject: =?UTF-8?B?"), "{t}");
}

#[test]
fn invalid_messages_are_refused() {
    let ok = parts(Some("t"), "s", &[], &TO);
    let new = |m: Parts<'_>| Composer::new(m, None, &RANDOM).map(|_| ());
    assert_eq!(new(ok), Ok(()));
    for from in ["", "a", "a b@c.test", "<a@b.test>", "a@b.test\r\nBcc: x@y"] {
        assert_eq!(
            new(Parts { from, ..ok }),
            Err(Error::InvalidFrom),
            "{from:?}"
        );
    }
    let to = ["a@x.test", "x\r\n@y"];
    assert_eq!(new(Parts { to: &to, ..ok }), Err(Error::InvalidTo(1)));
    // An internationalised address is a plain one (RFC 6532; the SMTP
    // client sends it only with SMTPUTF8), but not with a C1 control.
    let to = ["jörg.müller@bücher.test"];
    assert_eq!(new(Parts { to: &to, ..ok }), Ok(()));
    let to = ["a@x.test", "j\u{85}rg@x.test"];
    assert_eq!(new(Parts { to: &to, ..ok }), Err(Error::InvalidTo(1)));
    let many = ["a@x.test"; MAX_TO + 1];
    assert_eq!(
        new(Parts { to: &many, ..ok }),
        Err(Error::TooManyRecipients)
    );
    assert_eq!(
        new(Parts {
            to: &many[..MAX_TO],
            ..ok
        }),
        Ok(())
    );
    let long = "s".repeat(MAX_SUBJECT_LEN + 1);
    assert_eq!(
        new(Parts {
            subject: &long,
            ..ok
        }),
        Err(Error::SubjectTooLong)
    );
    for id in ["a b", "<x>", ".x", "x..y", "é"] {
        assert_eq!(
            new(Parts {
                message_id_local: id,
                ..ok
            }),
            Err(Error::InvalidMessageId),
            "{id:?}"
        );
    }
    let att = |name, content_type| Attachment {
        name,
        content_type,
        len: 1,
    };
    let long_name = "n".repeat(MAX_FILE_NAME_LEN + 1);
    for (a, e) in [
        (att("", ""), Error::InvalidFileName(0)),
        (att(&long_name, ""), Error::InvalidFileName(0)),
        (att("a.pdf", "pdf"), Error::InvalidContentType(0)),
        (att("a.pdf", "a/b; x=y"), Error::InvalidContentType(0)),
        (att("a.pdf", "a/b\r\nX: y"), Error::InvalidContentType(0)),
    ] {
        assert_eq!(
            new(Parts {
                attachments: &[a],
                ..ok
            }),
            Err(e)
        );
    }
    let many = [att("a.pdf", ""); MAX_ATTACHMENTS + 1];
    assert_eq!(
        new(Parts {
            attachments: &many,
            ..ok
        }),
        Err(Error::TooManyAttachments)
    );
    let huge = [att("a.pdf", "")].map(|a| Attachment { len: u64::MAX, ..a });
    assert_eq!(
        new(Parts {
            attachments: &huge,
            ..ok
        }),
        Err(Error::TooLarge)
    );
}

#[test]
fn without_a_message_id_the_random_octets_make_it() {
    let m = Parts {
        message_id_local: "",
        ..parts(None, "s", &[], &TO)
    };
    let c = Composer::new(m, None, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0xff]).unwrap();
    assert_eq!(c.boundary(), b"=_mfp_0102030405060708090a0bff");
    let (_, out) = run(m, &[], 100, 100).unwrap();
    let t = canonical(&out);
    assert!(t.contains("Message-ID: <a5a5a5a5a5a5a5a5a5a5a5a5@contoso.test>\r\n"));
    assert!(t.starts_with("Date: "));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_chunking_gives_the_same_octets(
        files in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..400), 0..4),
        text in proptest::option::of(".{0,200}"),
        subject in ".{0,120}",
        out_step in 1usize..200,
        in_step in 1usize..600,
    ) {
        let names: Vec<String> = (0..files.len()).map(|i| std::format!("scän {i}.pdf")).collect();
        let atts: Vec<Attachment<'_>> = files
            .iter()
            .zip(&names)
            .map(|(f, n)| Attachment { name: n, content_type: "", len: f.len() as u64 })
            .collect();
        let slices: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
        let m = parts(text.as_deref(), &subject, &atts, &TO);
        let (size, whole) = run(m, &slices, 1 << 16, 1 << 16).unwrap();
        prop_assert_eq!(size, whole.len() as u64);
        let t = canonical(&whole);
        let (_, got) = run(m, &slices, out_step, in_step).unwrap();
        prop_assert!(got == whole);
        for (f, n) in files.iter().zip(&names) {
            let enc: String = n.bytes().map(|b| if b.is_ascii_alphanumeric() || b == b'.' { (b as char).to_string() } else { std::format!("%{b:02X}") }).collect();
            prop_assert_eq!(&part_body(&t, &std::format!("name*0*=utf-8''{enc}")), f);
        }
    }
}

proptest! {
    /// Both line encoders (by pairs on 64-bit hosts, by characters on a
    /// 32-bit board) give the base64 crate's characters.
    #[test]
    fn line_encoders_match_the_base64_crate(groups in 0usize..40, seed in any::<u32>()) {
        let src = data(groups * 3, seed);
        let want = base64::engine::general_purpose::STANDARD.encode(&src);
        let mut a = std::vec![0u8; groups * 4];
        let mut b = std::vec![0u8; groups * 4];
        encode_groups(&src, &mut a);
        encode_groups_by_pairs(&src, &mut b);
        prop_assert_eq!(&a[..], want.as_bytes());
        prop_assert_eq!(&b[..], want.as_bytes());
    }
}

/// Pulls `c`'s message whole (files from their first octet).
fn drain<M: Message>(c: &mut Composer<M>, files: &[&[u8]], step: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut pos = std::vec![0usize; files.len()];
    let mut buf = std::vec![0u8; step];
    loop {
        match c.poll_output(&mut buf).unwrap() {
            Output::Wrote(n) => got.extend_from_slice(&buf[..n]),
            Output::NeedInput { part, max } => {
                let (f, p) = (files[part], &mut pos[part]);
                let k = (f.len() - *p).min(max).min(step);
                *p += c.handle_input(&f[*p..*p + k]).unwrap();
            }
            Output::Done => return got,
        }
    }
}

#[test]
fn a_restart_composes_the_same_octets_again_from_the_first() {
    // A mail API that asks a request again with the whole body, or a
    // resumed upload, reads the message again: it must be the same octets
    // (the same boundary, Date and Message-ID), wherever the first pass
    // stopped, even in a failed file.
    // Under Miri a smaller file and fewer stops: the same paths.
    let a = data(if cfg!(miri) { 600 } else { 5_000 }, 3);
    let atts = [Attachment {
        name: "scan.pdf",
        content_type: "",
        len: a.len() as u64,
    }];
    let m = parts(Some("Attached: 1 page."), "Scan", &atts, &TO);
    let whole = run(m, &[&a], 4096, 4096).unwrap().1;
    let stops: &[usize] = if cfg!(miri) {
        &[1, 400, whole.len()]
    } else {
        &[0, 1, 100, 400, 2_000, whole.len() - 1, whole.len()]
    };
    for &stop in stops {
        let mut c = Composer::new(m, Some(WHEN), &RANDOM).unwrap();
        let mut got = 0;
        let mut fed = 0;
        let mut buf = [0u8; 64];
        while got < stop {
            match c.poll_output(&mut buf[..(stop - got).min(64)]).unwrap() {
                Output::Wrote(n) => got += n,
                Output::NeedInput { max, .. } => {
                    let k = (a.len() - fed).min(max);
                    fed += c.handle_input(&a[fed..fed + k]).unwrap();
                }
                Output::Done => break,
            }
        }
        c.restart();
        assert_eq!(c.produced(), 0);
        assert_eq!(drain(&mut c, &[&a], 77), whole, "stopped at {stop}");
        assert!(c.is_done());
    }
    // A file that ended short failed the composer; the file read again
    // whole composes the message.
    let mut c = Composer::new(m, Some(WHEN), &RANDOM).unwrap();
    let mut buf = [0u8; 4096];
    let failed = loop {
        match c.poll_output(&mut buf) {
            Ok(Output::NeedInput { .. }) => {
                let _ = c.handle_input(&a[..10]);
                break c.handle_input(&[]);
            }
            Ok(_) => {}
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_eq!(failed, Err(Error::FileShorter { part: 0 }));
    c.restart();
    assert_eq!(drain(&mut c, &[&a], 4096), whole);
}
