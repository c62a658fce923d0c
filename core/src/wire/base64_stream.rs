//! Base64 (RFC 4648 §4, with padding) of a [`Plaintext`], written a window
//! at a time from any offset of the encoded text.
//!
//! The SMTP client sends a SASL response whose plaintext (address + token)
//! never exists in one buffer: each call encodes the 3-octet groups that
//! cover the requested part of the output through a small stack window.

use base64::Engine as _;

use crate::wire::sasl::Plaintext;
use crate::wire::BufferTooSmall;

/// Plaintext octets encoded per step (a multiple of 3, so only the very
/// last step can carry padding).
const WINDOW: usize = 48;

/// Length of the base64 encoding of `plain_len` octets.
#[must_use]
pub const fn encoded_len(plain_len: usize) -> usize {
    plain_len.div_ceil(3).saturating_mul(4)
}

/// Write encoded octets `skip..` into `out`; returns how many were written
/// (fewer than `out.len()` only when the encoding ends).
pub fn encode_window<P: Plaintext + ?Sized>(msg: &P, skip: usize, out: &mut [u8]) -> usize {
    let total = encoded_len(msg.plain_len());
    let mut pos = skip;
    let mut written = 0;
    let mut plain = [0u8; WINDOW];
    let mut enc = [0u8; WINDOW / 3 * 4];
    while pos < total && written < out.len() {
        // Start at the group containing `pos`.
        let group_start = pos / 4 * 4;
        let plain_offset = group_start / 4 * 3;
        let got = msg.copy_plain(plain_offset, &mut plain);
        let Some(src) = plain.get(..got) else { break };
        let Ok(n) = base64::engine::general_purpose::STANDARD.encode_slice(src, &mut enc) else {
            break;
        };
        if n == 0 {
            break;
        }
        let from = pos - group_start;
        let chunk = enc.get(from..n).unwrap_or(&[]);
        let room = out.len() - written;
        let take = chunk.len().min(room);
        if let (Some(dst), Some(src)) = (out.get_mut(written..written + take), chunk.get(..take)) {
            dst.copy_from_slice(src);
        }
        written += take;
        pos += take;
    }
    written
}

/// Encode the whole plaintext into `out`.
pub fn encode_all<P: Plaintext + ?Sized>(msg: &P, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let needed = encoded_len(msg.plain_len());
    if out.len() < needed {
        return Err(BufferTooSmall { needed });
    }
    Ok(encode_window(msg, 0, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Bytes<'a>(&'a [u8]);
    impl Plaintext for Bytes<'_> {
        fn plain_len(&self) -> usize {
            self.0.len()
        }
        fn copy_plain(&self, offset: usize, dst: &mut [u8]) -> usize {
            let src = self.0.get(offset..).unwrap_or(&[]);
            let n = src.len().min(dst.len());
            dst[..n].copy_from_slice(&src[..n]);
            n
        }
    }

    #[test]
    fn rfc4648_section_10_vectors() {
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (plain, want) in cases {
            let mut out = [0u8; 16];
            let n = encode_all(&Bytes(plain), &mut out).unwrap();
            assert_eq!(&out[..n], want.as_bytes());
        }
        assert_eq!(
            encode_all(&Bytes(b"foo"), &mut [0u8; 3]),
            Err(BufferTooSmall { needed: 4 })
        );
    }

    proptest! {
        #[test]
        fn any_windowing_gives_the_standard_encoding(
            data in proptest::collection::vec(any::<u8>(), 0..600),
            window in 1usize..70,
        ) {
            let want = base64::engine::general_purpose::STANDARD.encode(&data);
            let mut got = Vec::new();
            let mut skip = 0;
            let mut buf = std::vec![0u8; window];
            loop {
                let n = encode_window(&Bytes(&data), skip, &mut buf);
                if n == 0 { break; }
                got.extend_from_slice(&buf[..n]);
                skip += n;
            }
            prop_assert_eq!(String::from_utf8(got).unwrap(), want);
        }
    }
}
