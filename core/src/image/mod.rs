//! The persistence image: settings and refresh tokens for the firmware's
//! flash (R-NV).
//!
//! The firmware keeps two slots, A and B, of [`IMAGE_MAX_LEN`] octets each
//! and writes them alternately ([`NvCursor`]), so a power cut during a write
//! only ever damages the slot being written: [`load()`] takes the newest slot
//! whose CRC is good and ignores a torn or corrupt one. Access tokens are
//! never written (R-TOK-1).
//!
//! ## Layout (format version 6)
//!
//! The 20-octet prefix is the same in every format version, so that an image
//! from newer firmware is recognised and refused clearly
//! ([`NvError::NewerFormat`]) instead of being misread:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `MFPO` |
//! | 4 | 2 | format version, little-endian |
//! | 6 | 2 | flags (bit 0: secrets sealed) |
//! | 8 | 4 | sequence number |
//! | 12 | 4 | body length |
//! | 16 | 4 | CRC-32 (ISO-HDLC) of octets 0..16 and of the body |
//!
//! The body is 7 octets of the caller's randomness and a reserved octet,
//! then the postcard encoding of the settings and the slots' metadata
//! (accounts, statuses, wall-clock ages, secret lengths; no secret), then the
//! secrets in order: the proxy password (if a proxy is set), the app's
//! client secret (if set, from format 6), the administrator's refresh
//! token, each user's refresh token. With a device
//! key each secret is sealed on its own with ChaCha20-Poly1305 (16-octet tag
//! after it); its nonce is the sequence number, the secret's index and the
//! randomness, and the prefix's first 12 octets are authenticated with it.
//! Sealed secrets are decrypted straight into their zeroizing buffers.
//!
//! A slot's status octet carries, in bit 7, whether its account was named by
//! the provider at sign-in (R-ACCT; format version 2). Format version 1 is
//! the same without that bit: its images still load, their accounts
//! unverified; version-1 firmware refuses a version-2 image clearly
//! ([`NvError::NewerFormat`]).
//!
//! Format version 3 adds, right after the settings' record, a second one
//! for the settings that came later (the refresh margin, R-APP). A version-2
//! image has none: it loads with those settings at their defaults; older
//! firmware refuses a version-3 image clearly.
//!
//! Format version 4 adds, right after the users' records, the date each
//! slot's refresh token dies when the provider gave one
//! (`refresh_token_expires_in`, for the expiry warnings). A version-3 image
//! has none: its tokens are judged by the provider's rule alone.
//!
//! Format version 5 replaces format 3's second settings' record with a
//! tagged one: (tag, value) pairs for the settings `config/schema.rs` gives
//! a tag, the refresh margin first among them, each only when it is not at
//! its default. A new setting then needs no new record and leaves images
//! unchanged: an image without its tag loads it at its default, and a tag
//! this build does not know is skipped.
//!
//! Format version 6 adds, after the tagged record, the length of the app
//! registration's client secret (app-only with a secret, R-APP); the secret
//! itself is sealed in the vault right after the proxy password. A version-5
//! image has none.

use core::fmt;

use zeroize::Zeroizing;

use crate::diag::{Diagnostic, Id};
use crate::limits::{
    MAX_ADDRESS_LEN, MAX_CLIENT_ID_LEN, MAX_CLIENT_SECRET_LEN, MAX_DOMAIN_LEN,
    MAX_PROXY_PASSWORD_LEN, MAX_PROXY_USER_LEN, MAX_REFRESH_TOKEN_LEN, MAX_SEND_AS, MAX_TENANT_LEN,
    MAX_URL_LEN, MAX_USER_ID_LEN, MAX_USER_TOKENS,
};

mod load;
#[cfg(all(test, feature = "oauth"))]
mod powercut_tests;
mod records;
mod save;
mod seal;
#[cfg(all(test, feature = "oauth"))]
mod tests;

pub use load::{load, load_from, ReadFault, SlotReader};
pub use save::{save, ImageWriter};

/// The image's magic number.
pub const MAGIC: [u8; 4] = *b"MFPO";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 6;
/// Bit 7 of a slot's status octet: the provider named the account (R-ACCT),
/// from format version 2.
pub(crate) const STATUS_VERIFIED: u8 = 0x80;
/// Octets of the version-independent prefix.
pub const PREFIX_LEN: usize = 20;
/// Octets of the ChaCha20-Poly1305 tag after each sealed secret.
pub const TAG_LEN: usize = 16;
/// Octets of caller randomness per image (nonce material).
pub const RANDOM_LEN: usize = 7;

const FLAG_SEALED: u16 = 1;
const BODY_FIXED_LEN: usize = RANDOM_LEN + 1;
// Bit by bit, without the 1 KB table: an image is checked once per load
// and save, where flash dominates (R-MEM).
static CRC: crc::Crc<u32, crc::NoTable> = crc::Crc::<u32, crc::NoTable>::new(&crc::CRC_32_ISO_HDLC);

// Upper bounds of the postcard encoding: a string is a varint length (at
// most 3 octets below 2 MiB) plus its octets; an Option adds 1; a u16 varint
// takes at most 3, a u64 at most 10.
const fn s(n: usize) -> usize {
    n + 3
}
const SETTINGS_MAX: usize = 1
    + s(MAX_ADDRESS_LEN)
    + 1
    + 1
    + s(MAX_TENANT_LEN)
    + s(MAX_CLIENT_ID_LEN)
    + 4 * s(MAX_URL_LEN)
    + 1
    + 1
    + s(MAX_DOMAIN_LEN)
    + 3
    + 1
    + 1
    + 1
    + s(MAX_ADDRESS_LEN)
    + 1
    + MAX_SEND_AS * s(MAX_ADDRESS_LEN)
    + 1
    + s(MAX_DOMAIN_LEN)
    + 3
    + s(MAX_PROXY_USER_LEN)
    + 3
    + 6
    // Format 5's tagged record (format 3's refresh margin record is smaller).
    + crate::config::schema::tagged_len_bound()
    // Format 6's client secret length (a u16 varint).
    + 3;
const SLOT_MAX: usize = 1 + s(MAX_ADDRESS_LEN) + 1 + 11 + 11 + 3;
const USER_MAX: usize = s(MAX_USER_ID_LEN) + SLOT_MAX;
/// Format 4's death dates: a varint count, then per slot an `Option<u64>`.
const fn expiries_max(users: usize) -> usize {
    1 + (1 + users) * 11
}

/// An upper bound of the image for `users` user slots, in octets: the
/// prefix, the metadata and every secret at its maximum size.
#[must_use]
pub const fn image_len_bound(users: usize) -> usize {
    PREFIX_LEN
        + BODY_FIXED_LEN
        + SETTINGS_MAX
        + SLOT_MAX
        + 3
        + users * USER_MAX
        + expiries_max(users)
        + (MAX_PROXY_PASSWORD_LEN + TAG_LEN)
        + (MAX_CLIENT_SECRET_LEN + TAG_LEN)
        + (1 + users) * (MAX_REFRESH_TOKEN_LEN + TAG_LEN)
}

/// An upper bound of an image's records (settings and each slot's
/// metadata, no secret) for `users` user slots, in octets: what
/// [`load_from`] reads into its scratch buffer.
#[must_use]
pub const fn records_len_bound(users: usize) -> usize {
    SETTINGS_MAX + SLOT_MAX + 3 + users * USER_MAX + expiries_max(users)
}

/// The scratch buffer that always suffices for [`load_from`]: the records
/// of an image with [`MAX_USER_TOKENS`] users, every setting at its
/// longest.
pub const RECORDS_MAX_LEN: usize = records_len_bound(MAX_USER_TOKENS);

/// Size of one NV slot the firmware reserves (and of the buffer it lends to
/// [`save()`]), in octets: every setting and [`MAX_USER_TOKENS`] users' refresh
/// tokens at their maximum sizes, sealed.
pub const IMAGE_MAX_LEN: usize = image_len_bound(MAX_USER_TOKENS);

/// A device key for sealing the secrets (32 octets, zeroized, redacted).
#[derive(Clone)]
pub struct DeviceKey(Zeroizing<[u8; 32]>);

impl DeviceKey {
    /// A key from the device's 32 secret octets (from its secure element or
    /// OTP fuses); the caller wipes its own copy.
    #[must_use]
    pub fn new(bytes: &[u8; 32]) -> Self {
        DeviceKey(Zeroizing::new(*bytes))
    }

    /// The key's octets, for the ciphers.
    pub(crate) fn octets(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceKey(<redacted>)")
    }
}

/// Seal the secrets of one [`save()`].
#[derive(Debug, Clone, Copy)]
pub struct Seal<'a> {
    /// The device key.
    pub key: &'a DeviceKey,
    /// Fresh randomness from the caller for this image (nonce material: with
    /// the sequence number, no nonce repeats even if the sequence restarts).
    pub random: [u8; RANDOM_LEN],
}

/// One of the two NV slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SlotId {
    /// Slot A.
    A,
    /// Slot B.
    B,
}

impl SlotId {
    /// The other slot.
    #[must_use]
    pub const fn other(self) -> SlotId {
        match self {
            SlotId::A => SlotId::B,
            SlotId::B => SlotId::A,
        }
    }
}

/// What [`load()`] found in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SlotState {
    /// Erased (all 0x00 or all 0xFF) or shorter than a prefix.
    Empty,
    /// Damaged: bad magic, length or CRC, or an unreadable body.
    Corrupt,
    /// Good, with this sequence number and format version.
    Valid {
        /// Sequence number.
        sequence: u32,
        /// Format version.
        version: u16,
    },
}

/// Where the next image goes: the slot not holding the newest good image,
/// with the next sequence number. Advance it only after the firmware has
/// written the image ([`NvCursor::written`]): a failed write is retried in
/// the same slot, so the last good image is never overwritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NvCursor {
    newest: Option<(SlotId, u32)>,
}

impl NvCursor {
    /// A cursor for blank storage (first image goes to A with sequence 1).
    #[must_use]
    pub const fn new() -> Self {
        NvCursor { newest: None }
    }

    /// The slot and sequence number for the next image.
    #[must_use]
    pub fn next(&self) -> (SlotId, u32) {
        match self.newest {
            None => (SlotId::A, 1),
            Some((slot, seq)) => (slot.other(), seq.wrapping_add(1)),
        }
    }

    /// The firmware wrote and verified the image `seq` into `slot`.
    pub fn written(&mut self, slot: SlotId, seq: u32) {
        self.newest = Some((slot, seq));
    }
}

/// The outcome of a successful [`load()`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LoadReport {
    /// The slot loaded.
    pub slot: SlotId,
    /// Its sequence number.
    pub sequence: u32,
    /// What the other slot holds (a corrupt one is the sign of a power cut
    /// during the last write; nothing was lost).
    pub other: SlotState,
    /// Where the next image goes.
    pub cursor: NvCursor,
    /// The newest image was damaged (bad CRC, or a body that does not
    /// decode) and the previous one was loaded: the last change saved
    /// before the power-on may be lost. The store then holds the notice
    /// [`crate::token::StoreEvent::PreviousImageRestored`]
    /// ([`Id::NvPreviousRestored`]) and asks for a new image
    /// ([`crate::token::StoreEvent::Persist`]), which goes over the damaged slot,
    /// never over the one loaded (R-NV).
    pub previous_restored: bool,
}

/// Saving or loading the image failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum NvError {
    /// Both slots are erased: first start.
    Empty,
    /// No slot holds a good image.
    Corrupt,
    /// The newest good image comes from a newer firmware (format version).
    NewerFormat,
    /// The sealed secrets could not be opened with this key (or no key was
    /// given for a sealed image).
    SealOpenFailed,
    /// The buffer lent to [`save()`] is too small ([`IMAGE_MAX_LEN`] always
    /// suffices), or an empty one was lent for a piece.
    BufferTooSmall,
    /// The state changed while its image was being written in pieces: that
    /// image is incomplete and must not be confirmed ([`ImageWriter`]).
    Changed,
    /// The firmware's flash driver failed to read a slot ([`load_from`]).
    ReadFailed,
    /// The newest image holds more users than the store has user slots
    /// ([`crate::token::TokenStore::set_user_slots`]): it is not loaded,
    /// and the older image is not loaded in its place.
    TooManyUsers,
}

impl Diagnostic for NvError {
    fn diag(&self) -> Id {
        match self {
            NvError::Empty => Id::NvEmpty,
            NvError::Corrupt => Id::NvCorrupt,
            NvError::NewerFormat => Id::NvNewerFormat,
            NvError::SealOpenFailed => Id::NvSealOpenFailed,
            NvError::BufferTooSmall => Id::BufferTooSmall,
            NvError::Changed => Id::NvImageChanged,
            NvError::ReadFailed => Id::StorageFault,
            NvError::TooManyUsers => Id::NvTooManyUsers,
        }
    }
}

impl fmt::Display for NvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.diag(), f)
    }
}

impl core::error::Error for NvError {}

/// The little-endian `u32` at `at` of `b` (a prefix field), if there.
pub(crate) fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(s))
}

pub(crate) fn nonce(seq: u32, index: usize, random: &[u8; RANDOM_LEN]) -> [u8; 12] {
    let mut n = [0u8; 12];
    let (s, rest) = n.split_at_mut(4);
    s.copy_from_slice(&seq.to_le_bytes());
    let (i, r) = rest.split_at_mut(1);
    i.fill(u8::try_from(index).unwrap_or(u8::MAX));
    r.copy_from_slice(random);
    n
}

pub(crate) fn aad(prefix: &[u8; PREFIX_LEN], index: usize) -> [u8; 13] {
    let mut a = [0u8; 13];
    let (head, i) = a.split_at_mut(12);
    head.copy_from_slice(prefix.get(..12).unwrap_or(&[0; 12]));
    i.fill(u8::try_from(index).unwrap_or(u8::MAX));
    a
}
