//! Base64 (RFC 4648): the standard alphabet with `=` padding (§4) and the
//! URL-safe one without (§5), the only two forms the library writes, and
//! strict decoding (padding exactly as an encoder writes it, or none, as
//! asked; no stray bits in the last symbol).
//!
//! The values of the alphabets are computed, not looked up: the `base64`
//! crate's three engines each kept a 64-octet encoding and a 256-octet
//! decoding table, and with its generic encoder and decoder took 3.6 KB
//! more of the C library's flash at opt-level z (3.2 KB at s) than this
//! module (R-MEM, issue 15). The results are the crate's, octet for octet,
//! errors included (checked against it by the tests below).

/// Which base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alphabet {
    /// `+` and `/`, padded with `=` to a multiple of 4 when encoding (the
    /// `base64` crate's `STANDARD`; its `STANDARD_NO_PAD` when decoding).
    Standard,
    /// `-` and `_`, never padded (the crate's `URL_SAFE_NO_PAD`).
    UrlSafe,
}

impl Alphabet {
    /// The symbol for the 6-bit value `v` (only its low 6 bits count).
    fn symbol(self, v: u8) -> u8 {
        match v & 0x3f {
            v @ 0..=25 => b'A' + v,
            v @ 26..=51 => b'a' + (v - 26),
            v @ 52..=61 => b'0' + (v - 52),
            62 if self == Self::Standard => b'+',
            62 => b'-',
            _ if self == Self::Standard => b'/',
            _ => b'_',
        }
    }

    /// The 6-bit value of symbol `c`, if `c` is one of this alphabet's.
    fn value(self, c: u8) -> Option<u8> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' if self == Self::Standard => 62,
            b'/' if self == Self::Standard => 63,
            b'-' if self == Self::UrlSafe => 62,
            b'_' if self == Self::UrlSafe => 63,
            _ => return None,
        })
    }
}

/// Encodes `src` into the start of `out`; the number of octets written, or
/// `None` (and nothing written) if `out` is too short.
pub(crate) fn encode(alphabet: Alphabet, src: &[u8], out: &mut [u8]) -> Option<usize> {
    let full = src.len() / 3 * 4;
    let len = match src.len() % 3 {
        0 => full,
        _ if alphabet == Alphabet::Standard => full + 4,
        rest => full + rest + 1,
    };
    let out = out.get_mut(..len)?;
    let mut slots = out.iter_mut();
    for group in src.chunks(3) {
        let [a, b, c] = match *group {
            [a, b, c] => [a, b, c],
            [a, b] => [a, b, 0],
            [a] => [a, 0, 0],
            _ => [0, 0, 0],
        };
        let values = [a >> 2, a << 4 | b >> 4, b << 2 | c >> 6, c];
        for (i, v) in values.into_iter().enumerate() {
            let Some(slot) = slots.next() else { break };
            // A group of n octets has n + 1 symbols; then padding.
            *slot = if i <= group.len() {
                alphabet.symbol(v)
            } else {
                b'='
            };
        }
    }
    Some(len)
}

/// Decodes `text` into the start of `out`; the number of octets written, or
/// `None` if `text` is not base64 of this alphabet (a foreign symbol, a
/// length of 4n + 1 symbols, a last symbol with bits set beyond the data,
/// `=` anywhere but where an encoder pads or, unless `padded`, at all) or
/// `out` is too short. `padded`: the `base64` crate's `STANDARD` decoding
/// (padding required); otherwise its `*_NO_PAD` (padding refused).
pub(crate) fn decode(
    alphabet: Alphabet,
    padded: bool,
    text: &[u8],
    out: &mut [u8],
) -> Option<usize> {
    let text = if padded {
        if text.len() % 4 != 0 {
            return None;
        }
        let unpadded = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"="));
        let body = unpadded.unwrap_or(text);
        // As many `=` as the last group lacks, no more.
        if (4 - body.len() % 4) % 4 != text.len() - body.len() {
            return None;
        }
        body
    } else {
        text
    };
    let mut acc = 0u32;
    let mut bits = 0u32;
    let mut written = 0usize;
    for &c in text {
        acc = acc << 6 | u32::from(alphabet.value(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(written)? = (acc >> bits) as u8;
            written += 1;
            acc &= (1 << bits) - 1;
        }
    }
    // 6 bits left: a lone symbol, no octet; otherwise the leftover bits
    // (2 or 4) must be zero.
    (bits < 6 && acc == 0).then_some(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine as _;

    fn octets(seed: u32, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 7) as u8
            })
            .collect()
    }

    #[test]
    fn encoding_matches_the_base64_crate() {
        let seeds = if cfg!(miri) { 1 } else { 8 };
        for len in 0..70 {
            for seed in 0..seeds {
                let src = octets(seed, len);
                for (alphabet, want) in [
                    (Alphabet::Standard, STANDARD.encode(&src)),
                    (Alphabet::UrlSafe, URL_SAFE_NO_PAD.encode(&src)),
                ] {
                    let mut out = [0u8; 100];
                    let n = encode(alphabet, &src, &mut out).unwrap();
                    assert_eq!(&out[..n], want.as_bytes(), "{alphabet:?} {len}");
                    // One octet short: nothing written.
                    let mut short = vec![0x55u8; n.saturating_sub(1)];
                    if n > 0 {
                        assert_eq!(encode(alphabet, &src, &mut short), None);
                        assert!(short.iter().all(|&b| b == 0x55));
                    }
                }
            }
        }
    }

    #[test]
    fn every_symbol_and_value_round_trip() {
        for alphabet in [Alphabet::Standard, Alphabet::UrlSafe] {
            for v in 0..64u8 {
                assert_eq!(alphabet.value(alphabet.symbol(v)), Some(v));
            }
            let known = (0..=255u8).filter(|&c| alphabet.value(c).is_some()).count();
            assert_eq!(known, 64);
        }
    }

    #[test]
    fn decoding_matches_the_base64_crate() {
        let engine = |a, padded| match (a, padded) {
            (Alphabet::Standard, true) => STANDARD,
            (Alphabet::Standard, false) => STANDARD_NO_PAD,
            (_, true) => URL_SAFE,
            (_, false) => URL_SAFE_NO_PAD,
        };
        let mut texts: Vec<Vec<u8>> = Vec::new();
        for len in 0..50 {
            for seed in 0..4 {
                let src = octets(seed, len);
                texts.push(STANDARD_NO_PAD.encode(&src).into_bytes());
                texts.push(URL_SAFE_NO_PAD.encode(&src).into_bytes());
                texts.push(STANDARD.encode(&src).into_bytes());
            }
        }
        // Damaged ones: each position set to a handful of other symbols,
        // including '=', the other alphabet's and stray bits at the end.
        // Miri: fewer (all of them take it minutes).
        let damaged = if cfg!(miri) { 12 } else { 120 };
        let originals = texts.clone();
        for t in originals.iter().take(damaged) {
            for i in 0..t.len() {
                for c in [b'=', b'+', b'/', b'-', b'_', b'B', b'!', 0x80] {
                    let mut d = t.clone();
                    d[i] = c;
                    texts.push(d);
                }
            }
            for tail in [&b"A"[..], b"=", b"==", b"===", b"A=", b"AA=="] {
                let mut longer = t.clone();
                longer.extend_from_slice(tail);
                texts.push(longer);
            }
            let mut shorter = t.clone();
            shorter.pop();
            texts.push(shorter);
        }
        let step = if cfg!(miri) { 11 } else { 1 };
        for t in texts.iter().step_by(step) {
            for alphabet in [Alphabet::Standard, Alphabet::UrlSafe] {
                for padded in [false, true] {
                    for room in [0usize, 5, 32, 35, 64] {
                        let mut want = vec![0u8; room];
                        let want = engine(alphabet, padded)
                            .decode_slice(t, &mut want)
                            .ok()
                            .map(|n| want[..n].to_vec());
                        let mut got = vec![0u8; room];
                        let got = decode(alphabet, padded, t, &mut got).map(|n| got[..n].to_vec());
                        assert_eq!(got, want, "{alphabet:?} {padded} {:?} in {room}", t);
                    }
                }
            }
        }
    }
}
