//! The message composer (R-MIME) on arbitrary messages, files, lies about
//! a file's length and any chunking of output and input. Nothing may panic;
//! a message that completes is exactly the announced size, canonical (CRLF
//! line ends only, no line over 998 octets, none starting with a dot) and
//! carries every file whole; a file of the wrong length never completes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::mime::{Attachment, Composer, Output, Parts, RANDOM_LEN};

/// Reads fields off the front of the input.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    fn text(&mut self) -> String {
        let n = usize::from(self.byte()).min(self.0.len());
        let (t, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8_lossy(t).into_owned()
    }
}

/// The octets of file `part`: a pattern the output is checked against.
fn file_octet(part: usize, i: u64) -> u8 {
    (i as u8).wrapping_mul(31).wrapping_add(part as u8)
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let out_chunk = usize::from(inp.byte()) % 97 + 1;
    let in_chunk = usize::from(inp.byte()) % 200 + 1;
    let lie = inp.byte() % 8; // 1: one octet short, 2: one octet long
    let n_to = usize::from(inp.byte() % 4);
    let n_files = usize::from(inp.byte() % 4);
    let lens: Vec<u64> = (0..n_files)
        .map(|_| u64::from(inp.byte()) * u64::from(inp.byte() % 8 + 1))
        .collect();
    let from = inp.text();
    let to: Vec<String> = (0..n_to).map(|_| inp.text()).collect();
    let subject = inp.text();
    let text = if inp.byte() & 1 == 1 {
        Some(inp.text())
    } else {
        None
    };
    let names: Vec<String> = (0..n_files).map(|_| inp.text()).collect();
    let types: Vec<String> = (0..n_files).map(|_| inp.text()).collect();
    let mut random = [0u8; RANDOM_LEN];
    for r in &mut random {
        *r = inp.byte();
    }
    let to_refs: Vec<&str> = to.iter().map(String::as_str).collect();
    let files: Vec<Attachment<'_>> = (0..n_files)
        .map(|i| Attachment {
            name: &names[i],
            content_type: &types[i],
            len: lens[i],
        })
        .collect();
    let parts = Parts {
        from: &from,
        to: &to_refs,
        subject: &subject,
        text: text.as_deref(),
        attachments: &files,
        message_id_local: "",
    };
    let Ok(mut c) = Composer::new(parts, Some(1_700_000_000), &random) else {
        return;
    };
    let size = c.size();
    let mut msg = Vec::new();
    let mut fed = vec![0u64; n_files];
    let mut out = vec![0u8; out_chunk];
    let mut failed = false;
    // Bounded: every round writes octets or takes input or ends.
    for _ in 0..1_000_000 {
        match c.poll_output(&mut out) {
            Ok(Output::Wrote(n)) => {
                assert!(n > 0 && n <= out.len());
                msg.extend_from_slice(&out[..n]);
                assert!(msg.len() as u64 <= size, "more octets than announced");
            }
            Ok(Output::NeedInput { part, max }) => {
                assert!(part < n_files && max > 0);
                let len = match lie {
                    1 if part == 0 => lens[part].saturating_sub(1),
                    2 if part == 0 => lens[part] + 1,
                    _ => lens[part],
                };
                let left = len - fed[part];
                if left == 0 {
                    if c.handle_input(&[]).is_err() {
                        failed = true;
                        break;
                    }
                    continue;
                }
                let k = (left.min(max as u64) as usize).min(in_chunk);
                let chunk: Vec<u8> = (0..k as u64)
                    .map(|i| file_octet(part, fed[part] + i))
                    .collect();
                match c.handle_input(&chunk) {
                    Ok(taken) => {
                        assert!(taken > 0 && taken <= k);
                        fed[part] += taken as u64;
                    }
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            Ok(Output::Done) => break,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    let lied = lie == 1 && n_files > 0 && lens[0] > 0 || lie == 2 && n_files > 0;
    if lied {
        assert!(failed, "a file of the wrong length completed the message");
        return;
    }
    assert!(!failed, "an honest message failed");
    assert_eq!(msg.len() as u64, size, "the announced size is exact");
    // Canonical: CRLF only, short lines, no line starting with a dot.
    for line in msg.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        assert!(line.ends_with(b"\r"), "bare LF");
        assert!(!line[..line.len() - 1].contains(&b'\r'), "bare CR");
        assert!(line.len() <= 999, "line over 998 octets");
        assert!(line[0] != b'.', "line starting with a dot");
    }
    assert!(msg.ends_with(b"\r\n"));
});
