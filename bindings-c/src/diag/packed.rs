//! The catalogue's messages and remedies as the C library keeps them:
//! byte-pair encoded and Huffman coded by `build.rs` from the core's texts,
//! expanded into the caller's buffer (R-MEM, issue 15). The core's `Id::message` and
//! `Id::remedy`, and their 44 KB of plain text, are not linked into the C
//! library; the host and the core keep them as `&'static str`.

use mfp_oauth_core::diag::{Id, Lang};

mod table {
    include!(concat!(env!("OUT_DIR"), "/diag_texts.rs"));
}

// The table was packed from the same catalogue this crate links.
const _: () = assert!(table::IDS == Id::ALL.len());

/// Which of an id's four texts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// What went wrong.
    Message = 0,
    /// What to do about it.
    Remedy = 2,
}

/// A diagnostic's packed text: the texts of an id from `PACKED[start]`,
/// of which this is the one after `skip` others.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Packed {
    start: usize,
    skip: usize,
}

impl Packed {
    /// The packed `kind` text of `id` in `lang`.
    pub(crate) fn of(id: Id, kind: Kind, lang: Lang) -> Option<Self> {
        let index = Id::ALL.iter().position(|&i| i == id)?;
        let lang = match lang {
            Lang::Fr => 1,
            _ => 0,
        };
        let start = usize::from(*table::STARTS.get(index)?);
        Some(Self {
            start,
            skip: kind as usize + lang,
        })
    }

    /// The text's length in octets, once expanded.
    pub(crate) fn len(self) -> usize {
        let mut n = 0usize;
        self.expand(|_| n += 1);
        n
    }

    /// Expands the text into the start of `out` (octets past `out`'s end,
    /// which a buffer of [`Self::len`] octets never has, are dropped).
    pub(crate) fn write(self, out: &mut [u8]) {
        let mut slots = out.iter_mut();
        self.expand(|b| {
            if let Some(slot) = slots.next() {
                *slot = b;
            }
        });
    }

    /// Calls `emit` with each octet of the text, in order: each symbol's
    /// Huffman code is read, then the symbol expanded left first, its right
    /// halves waiting on a stack of at most `DEPTH` symbols (checked by
    /// build.rs). The id's texts before it are read and dropped.
    fn expand(self, mut emit: impl FnMut(u8)) {
        let mut bits = Bits {
            data: &table::PACKED,
            pos: self.start.saturating_mul(8),
        };
        let mut pending = [0u16; table::DEPTH];
        let mut skip = self.skip;
        // Ends at the text's end symbol, or at the end of PACKED.
        while let Some(symbol) = bits.symbol() {
            let mut top = 0usize;
            let mut code = symbol;
            loop {
                let (left, right) = entry(code);
                if left != code {
                    if let Some(slot) = pending.get_mut(top) {
                        *slot = right;
                        top += 1;
                    }
                    code = left;
                    continue;
                }
                if right == 0 {
                    // The end of a text.
                    if skip == 0 {
                        return;
                    }
                    skip -= 1;
                } else if skip == 0 {
                    emit(right as u8);
                }
                let Some(next) = top.checked_sub(1) else {
                    break;
                };
                top = next;
                code = pending.get(top).copied().unwrap_or(0);
            }
        }
    }
}

/// Symbol `n`'s table entry: its pair's left and right symbols, or `n`
/// itself and the octet it stands for (0 for the end of a text).
fn entry(n: u16) -> (u16, u16) {
    let mut bits = Bits {
        data: &table::TABLE,
        pos: usize::from(n) * 2 * table::WIDTH,
    };
    let left = bits.read(table::WIDTH);
    (left, bits.read(table::WIDTH))
}

/// A reader of bits, most significant first.
struct Bits {
    data: &'static [u8],
    pos: usize,
}

impl Bits {
    /// The next `len` bits (0 past the end).
    fn read(&mut self, len: usize) -> u16 {
        let mut v = 0u16;
        for _ in 0..len {
            let octet = self.data.get(self.pos / 8).copied().unwrap_or(0);
            v = v << 1 | u16::from(octet >> (7 - self.pos % 8) & 1);
            self.pos += 1;
        }
        v
    }

    /// The next symbol's number, by its canonical Huffman code (the
    /// symbols are numbered in the code's order: `COUNTS` is the whole
    /// code); `None` past the end of the texts.
    fn symbol(&mut self) -> Option<u16> {
        let (mut code, mut first, mut index) = (0u16, 0u16, 0u16);
        for &count in &table::COUNTS {
            if self.pos >= self.data.len() * 8 {
                return None;
            }
            code |= self.read(1);
            if code.wrapping_sub(first) < count {
                return Some(index.wrapping_add(code.wrapping_sub(first)));
            }
            index = index.wrapping_add(count);
            first = first.wrapping_add(count) << 1;
            code <<= 1;
        }
        None
    }
}
