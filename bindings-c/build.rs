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

/// An octet used at most this often is escaped, its value freed for a pair.
const RARE: u32 = 20;

/// Message en, message fr, remedy en, remedy fr.
const TEXTS_PER_ID: usize = 4;

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

    let mut uses = [0u32; 256];
    for t in &texts {
        for &b in t {
            uses[usize::from(b)] += 1;
        }
    }
    // An octet that stands for itself no more than RARE times is written
    // after ESCAPE instead, so that its value can stand for a pair (each
    // pair code saves more octets than the rare octet's escapes cost).
    // 0 never stands for anything: `[0, 0]` in the table marks an octet
    // that stands for itself, and a 0 separates an id's texts.
    let rare = |b: u8| (1..=RARE).contains(&uses[usize::from(b)]);
    let free: Vec<u8> = (1..=255u8)
        .filter(|&b| uses[usize::from(b)] == 0 || rare(b))
        .collect();
    let Some((&escape, free)) = free.split_first() else {
        panic!("no octet value left for the escape");
    };
    // Symbols: an octet or pair code below 256, an escaped octet above.
    let mut texts: Vec<Vec<u16>> = texts
        .iter()
        .map(|t| {
            t.iter()
                .map(|&b| u16::from(b) + if rare(b) { 256 } else { 0 })
                .collect()
        })
        .collect();

    let mut pairs = [[0u8; 2]; 256];
    let mut counts = vec![0u32; 1 << 16];
    for &code in free {
        counts.iter_mut().for_each(|c| *c = 0);
        for t in &texts {
            let mut i = 0;
            while i + 1 < t.len() {
                let (a, b) = (t[i], t[i + 1]);
                if a < 256 && b < 256 {
                    counts[usize::from(a) << 8 | usize::from(b)] += 1;
                }
                // "aaa" holds one pair "aa" that can be replaced, not two.
                i += if a == b && t.get(i + 2) == Some(&a) {
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
        let (a, b) = ((best >> 8) as u16, (best & 0xff) as u16);
        pairs[usize::from(code)] = [a as u8, b as u8];
        for t in &mut texts {
            let mut out = Vec::with_capacity(t.len());
            let mut i = 0;
            while i < t.len() {
                if i + 1 < t.len() && t[i] == a && t[i + 1] == b {
                    out.push(u16::from(code));
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

    // The packed octets: an escaped octet after ESCAPE.
    let texts: Vec<Vec<u8>> = texts
        .iter()
        .map(|t| {
            let mut out = Vec::new();
            for &sym in t {
                if sym >= 256 {
                    out.push(escape);
                }
                out.push((sym & 0xff) as u8);
            }
            out
        })
        .collect();

    // Check every text expands back to itself, as src/diag/packed.rs does.
    for (packed, original) in texts.iter().zip(&originals) {
        assert!(!packed.contains(&0), "a 0 in a packed text");
        let mut out = Vec::new();
        let mut stack = Vec::new();
        let mut octets = packed.iter();
        while let Some(&c) = octets.next() {
            if c == escape {
                out.push(*octets.next().expect("an octet after the escape"));
                continue;
            }
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

    // An id's four texts one after the other, a 0 after each but the last;
    // where each id's run starts (and the end).
    let mut blob = Vec::new();
    let mut starts = vec![0u16];
    for id_texts in texts.chunks(TEXTS_PER_ID) {
        blob.extend_from_slice(&id_texts.join(&0));
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
        "/// Before an octet that stands for itself, whatever `PAIRS` says."
    )
    .unwrap();
    writeln!(rs, "pub(super) const ESCAPE: u8 = {escape};").unwrap();
    writeln!(
        rs,
        "/// Where each id's packed texts start in `PACKED` (and the end)."
    )
    .unwrap();
    writeln!(
        rs,
        "pub(super) static STARTS: [u16; {}] = {starts:?};",
        starts.len()
    )
    .unwrap();
    writeln!(rs, "/// The packed texts, an id's four separated by a 0.").unwrap();
    writeln!(
        rs,
        "pub(super) static PACKED: [u8; {}] = *include_bytes!(concat!(env!(\"OUT_DIR\"), \"/diag_texts.bin\"));",
        blob.len()
    )
    .unwrap();
    std::fs::write(out_dir.join("diag_texts.rs"), rs).expect("write diag_texts.rs");
}
