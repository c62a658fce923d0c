//! Packs the diagnostic catalogue's texts for the C API (R-MEM, issue 15).
//!
//! `mfp_oauth_diag_message` and `mfp_oauth_diag_remedy` copy a text into a
//! buffer the firmware lends, so the C library need not keep the texts as
//! they are: it keeps them byte-pair encoded (Gage, 1994), the resulting
//! symbols Huffman coded, and expands one into the caller's buffer. Each
//! symbol is an octet or a code that stands for a pair of symbols; the
//! table of pairs is the dictionary all texts share. Symbols are numbered
//! in the canonical Huffman order, so the code needs no table of its own
//! but the count of codes of each length. On today's catalogue this takes
//! the texts from about 44 KB to 16 KB (byte-pair encoding alone, each
//! symbol an octet, gave 22 KB; an LZ4 block per text against a shared
//! dictionary of 4 KB was measured at about 29 KB).
//!
//! The texts come from the core itself (`Id::message`, `Id::remedy`), so
//! they have one source; the packed form is written to `OUT_DIR` at each
//! build and never committed. `src/diag/packed.rs` expands them.

use std::collections::{BinaryHeap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;

use mfp_oauth_core::diag::{Id, Lang};

/// A pair is given a code only if it occurs at least this often.
const MIN_USES: u32 = 2;

/// At most this many pair codes: about where the table starts to grow
/// faster than the texts shrink (1,000 pairs: 16,247 octets of texts and
/// table; 1,450: 15,806; 1,900: 16,061).
const MAX_PAIRS: usize = 1450;

/// The deepest expansion stack the decoder may need (a bound it checks at
/// build time, so that its stack array stays small).
const MAX_DEPTH: usize = 48;

/// The longest Huffman code the decoder reads.
const MAX_BITS: usize = 16;

/// Message en, message fr, remedy en, remedy fr.
const TEXTS_PER_ID: usize = 4;

/// Symbol for the end of a text (no text holds a 0).
const END: u16 = 0;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The texts, four per id in `Id::ALL` order: message en, message fr,
    // remedy en, remedy fr (the order src/diag/packed.rs indexes).
    let mut originals: Vec<Vec<u8>> = Vec::new();
    for id in Id::ALL {
        for text in [
            id.message(Lang::En),
            id.message(Lang::Fr),
            id.remedy(Lang::En),
            id.remedy(Lang::Fr),
        ] {
            assert!(!text.as_bytes().contains(&0), "{id:?}: a NUL in a text");
            originals.push(text.as_bytes().to_vec());
        }
    }

    // Byte-pair encoding: symbols below 256 are octets, the others pair
    // codes, `pairs[code - 256]`.
    let mut texts: Vec<Vec<u16>> = originals
        .iter()
        .map(|t| t.iter().map(|&b| u16::from(b)).collect())
        .collect();
    let mut pairs: Vec<[u16; 2]> = Vec::new();
    while pairs.len() < MAX_PAIRS {
        let mut counts: HashMap<[u16; 2], u32> = HashMap::new();
        for t in &texts {
            let mut i = 0;
            while i + 1 < t.len() {
                let (a, b) = (t[i], t[i + 1]);
                *counts.entry([a, b]).or_default() += 1;
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
        let Some((&[a, b], &n)) = counts
            .iter()
            .max_by_key(|&(k, &n)| (n, std::cmp::Reverse(*k)))
        else {
            break;
        };
        if n < MIN_USES {
            break;
        }
        let code = u16::try_from(256 + pairs.len()).expect("codes fit 16 bits");
        pairs.push([a, b]);
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
    // Each text ends with END (the octet 0, which no text holds).
    for t in &mut texts {
        t.push(END);
    }

    // Huffman code lengths of the symbols the texts hold; ties broken by
    // symbol, so the code depends on the texts only.
    let mut freq: HashMap<u16, u64> = HashMap::new();
    for t in &texts {
        for &s in t {
            *freq.entry(s).or_default() += 1;
        }
    }
    let mut used: Vec<u16> = freq.keys().copied().collect();
    used.sort_unstable();
    let mut bits: HashMap<u16, usize> = HashMap::new();
    {
        // Nodes: (weight, tie, members).
        let mut heap: BinaryHeap<std::cmp::Reverse<(u64, usize, Vec<u16>)>> = used
            .iter()
            .enumerate()
            .map(|(i, &s)| std::cmp::Reverse((freq[&s], i, vec![s])))
            .collect();
        let mut tie = used.len();
        while heap.len() > 1 {
            let std::cmp::Reverse((wa, _, ma)) = heap.pop().expect("two nodes");
            let std::cmp::Reverse((wb, _, mb)) = heap.pop().expect("two nodes");
            let mut m = ma;
            m.extend(mb);
            for s in &m {
                *bits.entry(*s).or_default() += 1;
            }
            heap.push(std::cmp::Reverse((wa + wb, tie, m)));
            tie += 1;
        }
    }
    let longest = bits.values().copied().max().unwrap_or(1);
    assert!(longest <= MAX_BITS, "a Huffman code of {longest} bits");

    // The symbols' numbers: the coded ones in canonical order (by length,
    // then symbol), then the octets and codes that only pairs hold.
    let mut order: Vec<u16> = used.clone();
    order.sort_by_key(|s| (bits[s], *s));
    let coded = order.len();
    let mut reached = vec![false; 256 + pairs.len()];
    let mut walk: Vec<u16> = order.clone();
    while let Some(s) = walk.pop() {
        if std::mem::replace(&mut reached[usize::from(s)], true) {
            continue;
        }
        if let Some(&[l, r]) = pairs.get(usize::from(s).wrapping_sub(256)) {
            walk.push(l);
            walk.push(r);
        }
    }
    for s in 0..u16::try_from(reached.len()).expect("16 bits") {
        if reached[usize::from(s)] && !order.contains(&s) {
            order.push(s);
        }
    }
    let number: HashMap<u16, usize> = order.iter().enumerate().map(|(i, &s)| (s, i)).collect();
    let width = usize::BITS as usize - (order.len().max(256)).leading_zeros() as usize;

    // The table: for each symbol number, two `width`-bit fields, its pair's
    // left and right numbers, or its own number and the octet it stands
    // for (0 for the end of a text).
    let mut table = BitWriter::default();
    for &s in &order {
        match pairs.get(usize::from(s).wrapping_sub(256)) {
            Some([l, r]) => {
                table.put(number[l] as u32, width);
                table.put(number[r] as u32, width);
            }
            None => {
                table.put(number[&s] as u32, width);
                table.put(u32::from(s), width);
            }
        }
    }

    // Canonical codes: the count of codes of each length, and each coded
    // symbol's code.
    let mut counts = [0u16; MAX_BITS + 1];
    for s in &order[..coded] {
        counts[bits[s]] += 1;
    }
    let mut codes: HashMap<u16, (u32, usize)> = HashMap::new();
    {
        let mut code = 0u32;
        let mut len = 0usize;
        for s in &order[..coded] {
            let l = bits[s];
            code <<= l - len;
            len = l;
            codes.insert(*s, (code, l));
            code += 1;
        }
    }

    // The decoder's stack: a symbol's height (an octet has none).
    fn height(pairs: &[[u16; 2]], s: u16) -> usize {
        match pairs.get(usize::from(s).wrapping_sub(256)) {
            None => 0,
            Some(&[l, r]) => 1 + height(pairs, l).max(height(pairs, r)),
        }
    }
    let depth = order
        .iter()
        .map(|&s| height(&pairs, s))
        .max()
        .unwrap_or(0)
        .max(1);
    assert!(depth <= MAX_DEPTH, "pair codes nest {depth} deep");

    // An id's four texts one after the other, each ending with END, from
    // an octet boundary; where each id's run starts (and the end).
    let mut blob = Vec::new();
    let mut starts = vec![0u16];
    for id_texts in texts.chunks(TEXTS_PER_ID) {
        let mut w = BitWriter::default();
        for t in id_texts {
            for s in t {
                let (code, len) = codes[s];
                w.put(code, len);
            }
        }
        blob.extend_from_slice(&w.bytes);
        starts.push(u16::try_from(blob.len()).expect("packed texts past 64 KiB"));
    }

    // Check every text expands back to itself, as src/diag/packed.rs does.
    let entry = |n: usize| -> (usize, usize) {
        (
            read(&table.bytes, 2 * width * n, width) as usize,
            read(&table.bytes, 2 * width * n + width, width) as usize,
        )
    };
    let mut pos = 0usize;
    let mut id_run = 0;
    let mut decoded: Vec<Vec<u8>> = Vec::new();
    for _ in 0..texts.len() {
        if decoded.len() % TEXTS_PER_ID == 0 {
            pos = 8 * usize::from(starts[id_run]);
            id_run += 1;
        }
        let mut out = Vec::new();
        loop {
            // Canonical decoding, as in packed.rs.
            let (mut code, mut first, mut index) = (0u32, 0u32, 0u32);
            let mut sym = None;
            for &count in &counts[1..] {
                code |= read(&blob, pos, 1);
                pos += 1;
                let count = u32::from(count);
                if code - first < count {
                    sym = Some((index + code - first) as usize);
                    break;
                }
                index += count;
                first = (first + count) << 1;
                code <<= 1;
            }
            let sym = sym.expect("a symbol");
            let mut stack = vec![sym];
            let mut end = false;
            while let Some(n) = stack.pop() {
                match entry(n) {
                    (own, 0) if own == n => end = true,
                    (own, octet) if own == n => out.push(octet as u8),
                    (l, r) => {
                        stack.push(r);
                        stack.push(l);
                    }
                }
            }
            if end {
                break;
            }
        }
        decoded.push(out);
    }
    assert_eq!(
        decoded, originals,
        "a packed text does not expand to itself"
    );

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out_dir.join("diag_texts.bin"), &blob).expect("write diag_texts.bin");
    std::fs::write(out_dir.join("diag_table.bin"), &table.bytes).expect("write diag_table.bin");
    let mut rs = String::new();
    let mut line = |s: String| writeln!(rs, "{s}").expect("a String");
    line("// Generated by bindings-c/build.rs from the core's catalogue.".into());
    line("/// Ids the table holds texts for (`Id::ALL.len()` at build time).".into());
    line(format!("pub(super) const IDS: usize = {};", Id::ALL.len()));
    line("/// The deepest nesting of pair codes.".into());
    line(format!("pub(super) const DEPTH: usize = {depth};"));
    line("/// Bits of each of a symbol's two fields in `TABLE`.".into());
    line(format!("pub(super) const WIDTH: usize = {width};"));
    line("/// How many Huffman codes have 1, 2, ... bits.".into());
    line(format!(
        "pub(super) static COUNTS: [u16; {MAX_BITS}] = {:?};",
        &counts[1..]
    ));
    line("/// Each symbol's pair, or its own number and octet (0: end of text).".into());
    line(format!(
        "pub(super) static TABLE: [u8; {}] = *include_bytes!(concat!(env!(\"OUT_DIR\"), \"/diag_table.bin\"));",
        table.bytes.len()
    ));
    line("/// Where each id's packed texts start in `PACKED` (and the end).".into());
    line(format!(
        "pub(super) static STARTS: [u16; {}] = {starts:?};",
        starts.len()
    ));
    line("/// The Huffman coded texts, an id's four from an octet boundary.".into());
    line(format!(
        "pub(super) static PACKED: [u8; {}] = *include_bytes!(concat!(env!(\"OUT_DIR\"), \"/diag_texts.bin\"));",
        blob.len()
    ));
    std::fs::write(out_dir.join("diag_texts.rs"), rs).expect("write diag_texts.rs");
}

/// Bits written most significant first.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    bits: usize,
}

impl BitWriter {
    fn put(&mut self, value: u32, len: usize) {
        for k in (0..len).rev() {
            if self.bits % 8 == 0 {
                self.bytes.push(0);
            }
            if value >> k & 1 == 1 {
                *self.bytes.last_mut().expect("an octet") |= 0x80 >> (self.bits % 8);
            }
            self.bits += 1;
        }
    }
}

/// `len` bits from bit `pos` of `bytes`, most significant first.
fn read(bytes: &[u8], pos: usize, len: usize) -> u32 {
    (pos..pos + len).fold(0, |v, p| {
        v << 1 | u32::from(bytes.get(p / 8).copied().unwrap_or(0) >> (7 - p % 8) & 1)
    })
}
