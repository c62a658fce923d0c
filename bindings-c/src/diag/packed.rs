//! The catalogue's messages and remedies as the C library keeps them:
//! byte-pair encoded by `build.rs` from the core's texts, expanded into the
//! caller's buffer (R-MEM, issue 15). The core's `Id::message` and
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

/// A diagnostic's packed text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Packed(&'static [u8]);

impl Packed {
    /// The packed `kind` text of `id` in `lang`.
    pub(crate) fn of(id: Id, kind: Kind, lang: Lang) -> Option<Self> {
        let index = Id::ALL.iter().position(|&i| i == id)?;
        let lang = match lang {
            Lang::Fr => 1,
            _ => 0,
        };
        let start = usize::from(*table::STARTS.get(index)?);
        let end = usize::from(*table::STARTS.get(index + 1)?);
        // No packed octet is 0 but those between an id's texts.
        let mut texts = table::PACKED.get(start..end)?.split(|&b| b == 0);
        texts.nth(kind as usize + lang).map(Self)
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

    /// Calls `emit` with each octet of the text, in order: each code is
    /// expanded left first, its right halves waiting on a stack of at most
    /// `DEPTH` octets (checked by build.rs); an octet after `ESCAPE` stands
    /// for itself.
    fn expand(self, mut emit: impl FnMut(u8)) {
        let mut pending = [0u8; table::DEPTH];
        let mut octets = self.0.iter();
        while let Some(&first) = octets.next() {
            if first == table::ESCAPE {
                // An octet that stands for itself, though its value is a
                // pair's (build.rs escapes the rarest ones).
                if let Some(&octet) = octets.next() {
                    emit(octet);
                }
                continue;
            }
            let mut top = 0usize;
            let mut code = first;
            loop {
                let [left, right] = table::PAIRS
                    .get(usize::from(code))
                    .copied()
                    .unwrap_or_default();
                if left != 0 {
                    if let Some(slot) = pending.get_mut(top) {
                        *slot = right;
                        top += 1;
                    }
                    code = left;
                    continue;
                }
                emit(code);
                let Some(next) = top.checked_sub(1) else {
                    break;
                };
                top = next;
                code = pending.get(top).copied().unwrap_or(0);
            }
        }
    }
}
