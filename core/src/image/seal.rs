//! Sealing and opening one secret of the image (R-MEM, R-NV).
//!
//! The image is written in pieces through a small buffer, so a secret is
//! sealed piece by piece, never in place in a slot-sized buffer. The sealed
//! form is exactly the AEAD ChaCha20-Poly1305 of RFC 8439 §2.8: the
//! Poly1305 key is the first 32 octets of keystream block 0, the secret is
//! encrypted from block 1, and the tag covers the associated data and the
//! ciphertext, each padded to 16 octets, then both lengths. The
//! `chacha20poly1305` crate only seals a whole buffer in place; this
//! composes its two primitives (the `chacha20` and `poly1305` crates) piece
//! by piece, with nothing larger than one 64-octet block held, and opens a
//! secret where it is kept with the same code, so that one ChaCha20 and one
//! Poly1305 are linked into a firmware. The tests check both directions
//! against the crate's AEAD.

use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use chacha20::ChaCha20;
use poly1305::universal_hash::{KeyInit, UniversalHash};
use poly1305::{Block, Poly1305};
use zeroize::Zeroize;

use super::{DeviceKey, TAG_LEN};

/// Octets of one ChaCha20 block: every piece but the last is this long, so
/// that Poly1305's padding falls only after the last one.
pub(super) const PIECE_LEN: usize = 64;

/// Seals one secret piece by piece, or opens one.
pub(super) struct SecretSealer {
    cipher: ChaCha20,
    mac: Poly1305,
    aad_len: u64,
    sealed_len: u64,
}

impl SecretSealer {
    /// A sealer for one secret under `key`, `nonce` and `aad`.
    pub(super) fn new(key: &DeviceKey, nonce: &[u8; 12], aad: &[u8]) -> Self {
        let mut cipher = ChaCha20::new(key.octets().into(), nonce.into());
        let mut mac_key = poly1305::Key::default();
        cipher.apply_keystream(&mut mac_key);
        let mut mac = Poly1305::new(&mac_key);
        mac_key.zeroize();
        cipher.seek(PIECE_LEN as u64);
        mac.update_padded(aad);
        SecretSealer {
            cipher,
            mac,
            aad_len: aad.len() as u64,
            sealed_len: 0,
        }
    }

    /// Encrypts `piece` in place and authenticates it. Every piece but the
    /// last must be [`PIECE_LEN`] octets long.
    pub(super) fn seal(&mut self, piece: &mut [u8]) {
        self.cipher.apply_keystream(piece);
        self.mac.update_padded(piece);
        self.sealed_len = self.sealed_len.saturating_add(piece.len() as u64);
    }

    /// The tag over everything sealed.
    pub(super) fn tag(mut self) -> [u8; TAG_LEN] {
        self.authenticate_lengths();
        self.mac.finalize().into()
    }

    /// Opens the sealed secret `sealed` in place if `tag` is its tag
    /// (compared in constant time); otherwise leaves it as it is and
    /// returns `false`.
    pub(super) fn open(mut self, sealed: &mut [u8], tag: &[u8]) -> bool {
        let Ok(tag) = <[u8; TAG_LEN]>::try_from(tag) else {
            return false;
        };
        self.mac.update_padded(sealed);
        self.sealed_len = sealed.len() as u64;
        self.authenticate_lengths();
        let cipher = &mut self.cipher;
        if self.mac.verify(&Block::from(tag)).is_err() {
            return false;
        }
        cipher.apply_keystream(sealed);
        true
    }

    fn authenticate_lengths(&mut self) {
        let mut lengths = Block::default();
        let (aad, sealed) = lengths.split_at_mut(8);
        aad.copy_from_slice(&self.aad_len.to_le_bytes());
        sealed.copy_from_slice(&self.sealed_len.to_le_bytes());
        self.mac.update(&[lengths]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20poly1305::aead::AeadInPlace;
    use chacha20poly1305::{ChaCha20Poly1305, Nonce};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 1 } else { 64 }))]

        /// Piece by piece gives the octets and the tag of the crate's
        /// whole-buffer AEAD, for any length (over several blocks) and aad.
        #[test]
        fn pieces_seal_as_the_whole_buffer_aead_does(
            key in any::<[u8; 32]>(),
            nonce in any::<[u8; 12]>(),
            aad in proptest::collection::vec(any::<u8>(), 0..20),
            secret in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let device_key = DeviceKey::new(&key);
            let mut whole = secret.clone();
            let tag = ChaCha20Poly1305::new(&key.into())
                .encrypt_in_place_detached(Nonce::from_slice(&nonce), &aad, &mut whole)
                .unwrap();
            let mut sealer = SecretSealer::new(&device_key, &nonce, &aad);
            let mut pieces = secret.clone();
            for piece in pieces.chunks_mut(PIECE_LEN) {
                sealer.seal(piece);
            }
            prop_assert_eq!(&pieces, &whole);
            prop_assert_eq!(&sealer.tag()[..], &tag[..]);
            // Opened here, as the crate sealed it; refused with another
            // tag or another aad, the octets left as they were.
            let mut opened = whole.clone();
            prop_assert!(SecretSealer::new(&device_key, &nonce, &aad).open(&mut opened, &tag));
            prop_assert_eq!(&opened, &secret);
            let mut bad_tag = tag;
            bad_tag[0] ^= 1;
            let mut kept = whole.clone();
            prop_assert!(!SecretSealer::new(&device_key, &nonce, &aad).open(&mut kept, &bad_tag));
            prop_assert_eq!(&kept, &whole);
            let mut other_aad = aad.clone();
            other_aad.push(0);
            prop_assert!(!SecretSealer::new(&device_key, &nonce, &other_aad).open(&mut kept, &tag));
            prop_assert!(!SecretSealer::new(&device_key, &nonce, &aad).open(&mut kept, &tag[..15]));
        }
    }
}
