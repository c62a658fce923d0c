//! Packs the diagnostic catalogue's texts for the C API (R-MEM, issue 15).
//!
//! `mfp_oauth_diag_message` and `mfp_oauth_diag_remedy` copy a text into a
//! buffer the firmware lends, so the C library need not keep the texts as
//! they are: it keeps them byte-pair encoded (Gage, 1994) and expands one
//! into the caller's buffer. Each octet value that no text uses stands for
//! a pair of symbols (octets or other such codes); the pair table is the
//! dictionary all texts share. On today's catalogue this halves the texts
//! (about 44 KB to 22 KB, with a 512-octet table); an LZ4 block per text
//! against a shared dictionary of 4 KB was measured at about 29 KB.
//!
//! The texts come from the core itself (`Id::message`, `Id::remedy`), so
//! they have one source; the packed form is written to `OUT_DIR` at each
//! build and never committed. `src/diag/packed.rs` expands them.

use std::fmt::Write as _;
use std::path::PathBuf;

use mfp_oauth_core::diag::{Id, Lang};

/// A pair is given a code only if it occurs at least this often (each
/// occurrence saves one octet; the table's size is fixed).
const MIN_USES: u32 = 2;

/// The deepest expansion stack the decoder may need (a bound it checks at
/// build time, so that its stack array stays small).
const MAX_DEPTH: usize = 32;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The texts, four per id in `Id::ALL` order: message en, message fr,
    // remedy en, remedy fr (the order src/diag/packed.rs indexes).
    let mut texts: Vec<Vec<u8>> = Vec::new();
    for id in Id::ALL {
        for text in [
            id.message(Lang::En),
            id.message(Lang::Fr),
            id.remedy(Lang::En),
            id.remedy(Lang::Fr),
        ] {
            assert!(!text.as_bytes().contains(&0), "{id:?}: a NUL in a text");
            texts.push(text.as_bytes().to_vec());
        }
    }
    let originals = texts.clone();

    let mut used = [false; 256];
    for t in &texts {
        for &b in t {
            used[usize::from(b)] = true;
        }
    }
    // 0 never stands for a pair: `[0, 0]` in the table marks an octet that
    // stands for itself.
    let free: Vec<u8> = (1..=255u8).filter(|&b| !used[usize::from(b)]).collect();

    let mut pairs = [[0u8; 2]; 256];
    let mut counts = vec![0u32; 1 << 16];
    for &code in &free {
        counts.iter_mut().for_each(|c| *c = 0);
        for t in &texts {
            let mut i = 0;
            while i + 1 < t.len() {
                let k = usize::from(t[i]) << 8 | usize::from(t[i + 1]);
                counts[k] += 1;
                // "aaa" holds one pair "aa" that can be replaced, not two.
                i += if t[i] == t[i + 1] && t.get(i + 2) == Some(&t[i]) {
                    2
                } else {
                    1
                };
            }
        }
        // The most frequent pair; on a tie the smallest, so that the
        // output does not depend on anything but the texts.
        let (best, &n) = counts
            .iter()
            .enumerate()
            .max_by_key(|&(k, &n)| (n, std::cmp::Reverse(k)))
            .expect("65,536 counts");
        if n < MIN_USES {
            break;
        }
        let (a, b) = ((best >> 8) as u8, (best & 0xff) as u8);
        pairs[usize::from(code)] = [a, b];
        for t in &mut texts {
            let mut out = Vec::with_capacity(t.len());
            let mut i = 0;
            while i < t.len() {
                if i + 1 < t.len() && t[i] == a && t[i + 1] == b {
                    out.push(code);
                    i += 2;
                } else {
                    out.push(t[i]);
                    i += 1;
                }
            }
            *t = out;
        }
    }

    // The decoder's stack: a code's height (an octet that stands for itself
    // has none).
    fn height(pairs: &[[u8; 2]; 256], c: u8) -> usize {
        match pairs[usize::from(c)] {
            [0, 0] => 0,
            [l, r] => 1 + height(pairs, l).max(height(pairs, r)),
        }
    }
    let depth = (0..=255u8)
        .map(|c| height(&pairs, c))
        .max()
        .unwrap_or(0)
        .max(1);
    assert!(depth <= MAX_DEPTH, "pair codes nest {depth} deep");

    // Check every text expands back to itself.
    for (packed, original) in texts.iter().zip(&originals) {
        let mut out = Vec::new();
        let mut stack = Vec::new();
        for &c in packed {
            stack.push(c);
            while let Some(c) = stack.pop() {
                match pairs[usize::from(c)] {
                    [0, 0] => out.push(c),
                    [l, r] => {
                        stack.push(r);
                        stack.push(l);
                    }
                }
            }
        }
        assert_eq!(&out, original, "a packed text does not expand to itself");
    }

    let mut blob = Vec::new();
    let mut starts = vec![0u16];
    for t in &texts {
        blob.extend_from_slice(t);
        starts.push(u16::try_from(blob.len()).expect("packed texts past 64 KiB"));
    }

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out_dir.join("diag_texts.bin"), &blob).expect("write diag_texts.bin");
    let mut rs = String::new();
    writeln!(
        rs,
        "// Generated by bindings-c/build.rs from the core's catalogue."
    )
    .unwrap();
    writeln!(
        rs,
        "/// Ids the table holds texts for (`Id::ALL.len()` at build time)."
    )
    .unwrap();
    writeln!(rs, "pub(super) const IDS: usize = {};", Id::ALL.len()).unwrap();
    writeln!(rs, "/// The deepest nesting of pair codes.").unwrap();
    writeln!(rs, "pub(super) const DEPTH: usize = {depth};").unwrap();
    writeln!(
        rs,
        "/// What each octet stands for: a pair, or itself (`[0, 0]`)."
    )
    .unwrap();
    writeln!(rs, "pub(super) static PAIRS: [[u8; 2]; 256] = {pairs:?};").unwrap();
    writeln!(
        rs,
        "/// Where each packed text starts in `PACKED` (and the end)."
    )
    .unwrap();
    writeln!(
        rs,
        "pub(super) static STARTS: [u16; {}] = {starts:?};",
        starts.len()
    )
    .unwrap();
    writeln!(rs, "/// The packed texts, one after the other.").unwrap();
    writeln!(
        rs,
        "pub(super) static PACKED: [u8; {}] = *include_bytes!(concat!(env!(\"OUT_DIR\"), \"/diag_texts.bin\"));",
        blob.len()
    )
    .unwrap();
    std::fs::write(out_dir.join("diag_texts.rs"), rs).expect("write diag_texts.rs");
}
