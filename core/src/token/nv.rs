//! The persistence image: settings and refresh tokens for the firmware's
//! flash (R-NV).
//!
//! The firmware keeps two slots, A and B, of [`IMAGE_MAX_LEN`] octets each
//! and writes them alternately ([`NvCursor`]), so a power cut during a write
//! only ever damages the slot being written: [`load`] takes the newest slot
//! whose CRC is good and ignores a torn or corrupt one. Access tokens are
//! never written (R-TOK-1).
//!
//! ## Layout (format version 2)
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
//! secrets in order: the proxy password (if a proxy is set), the
//! administrator's refresh token, each user's refresh token. With a device
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

use core::fmt;

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce, Tag};
use heapless::{String, Vec};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use super::store::{Slot, TokenStore};
use super::{TokenStatus, WallTime};
use crate::address::Address;
use crate::config::{
    ProviderKind, Proxy, SenderMode, Settings, SmtpServer, TlsVersion, WebDavHttpVersion,
};
use crate::diag::{Diagnostic, Id};
use crate::limits::{
    MAX_ADDRESS_LEN, MAX_CLIENT_ID_LEN, MAX_DOMAIN_LEN, MAX_PROXY_PASSWORD_LEN, MAX_PROXY_USER_LEN,
    MAX_REFRESH_TOKEN_LEN, MAX_SEND_AS, MAX_TENANT_LEN, MAX_URL_LEN, MAX_USER_ID_LEN,
    MAX_USER_TOKENS,
};
use crate::provider::MicrosoftCloud;
use crate::secret::SecretBuf;
use crate::smtp::Security;

/// The image's magic number.
pub const MAGIC: [u8; 4] = *b"MFPO";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 2;
/// Bit 7 of a slot's status octet: the provider named the account (R-ACCT),
/// from format version 2.
const STATUS_VERIFIED: u8 = 0x80;
/// Octets of the version-independent prefix.
pub const PREFIX_LEN: usize = 20;
/// Octets of the ChaCha20-Poly1305 tag after each sealed secret.
pub const TAG_LEN: usize = 16;
/// Octets of caller randomness per image (nonce material).
pub const RANDOM_LEN: usize = 7;

const FLAG_SEALED: u16 = 1;
const BODY_FIXED_LEN: usize = RANDOM_LEN + 1;
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

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
    + 6;
const SLOT_MAX: usize = 1 + s(MAX_ADDRESS_LEN) + 1 + 11 + 11 + 3;
const USER_MAX: usize = s(MAX_USER_ID_LEN) + SLOT_MAX;

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
        + (MAX_PROXY_PASSWORD_LEN + TAG_LEN)
        + (1 + users) * (MAX_REFRESH_TOKEN_LEN + TAG_LEN)
}

/// Size of one NV slot the firmware reserves (and of the buffer it lends to
/// [`save`]), in octets: every setting and [`MAX_USER_TOKENS`] users' refresh
/// tokens at their maximum sizes, sealed.
pub const IMAGE_MAX_LEN: usize = image_len_bound(MAX_USER_TOKENS);

/// A device key for sealing the secrets (32 octets, zeroized, redacted).
#[derive(Debug, Clone)]
pub struct DeviceKey(SecretBuf<32>);

impl DeviceKey {
    /// A key from the device's 32 secret octets (from its secure element or
    /// OTP fuses); the caller wipes its own copy.
    #[must_use]
    pub fn new(bytes: &[u8; 32]) -> Self {
        let mut k = SecretBuf::new();
        // 32 octets always fit a 32-octet buffer.
        let _ = k.set(bytes);
        DeviceKey(k)
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(self.0.expose()))
    }
}

/// Seal the secrets of one [`save`].
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

/// What [`load`] found in a slot.
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

/// The outcome of a successful [`load`].
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
    /// [`super::StoreEvent::PreviousImageRestored`]
    /// ([`Id::NvPreviousRestored`]) and asks for a new image
    /// ([`super::StoreEvent::Persist`]), which goes over the damaged slot,
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
    /// The buffer lent to [`save`] is too small ([`IMAGE_MAX_LEN`] always
    /// suffices).
    BufferTooSmall,
}

impl Diagnostic for NvError {
    fn diag(&self) -> Id {
        match self {
            NvError::Empty => Id::NvEmpty,
            NvError::Corrupt => Id::NvCorrupt,
            NvError::NewerFormat => Id::NvNewerFormat,
            NvError::SealOpenFailed => Id::NvSealOpenFailed,
            NvError::BufferTooSmall => Id::BufferTooSmall,
        }
    }
}

impl fmt::Display for NvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.diag(), f)
    }
}

impl core::error::Error for NvError {}

// ----- the persisted records (format versions 1 and 2; never reorder fields) -----

#[derive(Serialize, Deserialize)]
struct NvSettings<'a> {
    admin_address: Option<&'a str>,
    oauth_enabled: bool,
    provider: u8,
    tenant: &'a str,
    client_id: &'a str,
    custom: [&'a str; 4],
    google_app_testing: bool,
    smtp: Option<(&'a str, u16, u8)>,
    sender_mode: u8,
    bulk_address: Option<&'a str>,
    #[serde(borrow)]
    send_as: Vec<&'a str, MAX_SEND_AS>,
    /// Host, port, user, password length (the password is in the vault).
    proxy: Option<(&'a str, u16, &'a str, u16)>,
    tls_min: u8,
    tls_max: u8,
    webdav_http: u8,
    vlan_on_network2: bool,
    auto_delete_user_tokens: bool,
    microsoft_cloud: u8,
}

#[derive(Serialize, Deserialize)]
struct NvSlot<'a> {
    account: Option<&'a str>,
    /// [`TokenStatus`], with [`STATUS_VERIFIED`] from format 2.
    status: u8,
    acquired_at: Option<u64>,
    last_used: Option<u64>,
    secret_len: u16,
}

#[derive(Serialize, Deserialize)]
struct NvUser<'a> {
    id: &'a str,
    #[serde(borrow)]
    slot: NvSlot<'a>,
}

#[derive(Serialize, Deserialize)]
struct NvMeta<'a> {
    #[serde(borrow)]
    settings: NvSettings<'a>,
    #[serde(borrow)]
    admin: NvSlot<'a>,
    #[serde(borrow)]
    users: Vec<NvUser<'a>, MAX_USER_TOKENS>,
}

const fn security_code(s: Security) -> u8 {
    match s {
        Security::StartTls => 0,
        Security::ImplicitTls => 1,
    }
}

fn len16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

fn nv_slot(slot: &Slot) -> NvSlot<'_> {
    NvSlot {
        account: slot.account.as_ref().map(Address::as_str),
        status: slot.status as u8 | if slot.verified { STATUS_VERIFIED } else { 0 },
        acquired_at: slot.acquired_at.map(|w| w.0),
        last_used: slot.last_used.map(|w| w.0),
        secret_len: len16(slot.refresh.len()),
    }
}

fn nv_settings(s: &Settings) -> NvSettings<'_> {
    NvSettings {
        admin_address: s.admin_address.as_ref().map(Address::as_str),
        oauth_enabled: s.oauth_enabled,
        provider: s.provider as u8,
        tenant: &s.tenant,
        client_id: &s.client_id,
        custom: [
            &s.custom.token_url,
            &s.custom.device_url,
            &s.custom.authorize_url,
            &s.custom.scope,
        ],
        google_app_testing: s.google_app_testing,
        smtp: s
            .smtp
            .as_ref()
            .map(|m| (m.host.as_str(), m.port, security_code(m.security))),
        sender_mode: s.sender_mode as u8,
        bulk_address: s.bulk_address.as_ref().map(Address::as_str),
        send_as: s.send_as.iter().map(Address::as_str).collect(),
        proxy: s.proxy.as_ref().map(|p| {
            (
                p.host.as_str(),
                p.port,
                p.user.as_str(),
                len16(p.password.len()),
            )
        }),
        tls_min: s.tls_min as u8,
        tls_max: s.tls_max as u8,
        webdav_http: s.webdav_http as u8,
        vlan_on_network2: s.vlan_on_network2,
        auto_delete_user_tokens: s.auto_delete_user_tokens,
        microsoft_cloud: match s.microsoft_cloud {
            MicrosoftCloud::Global => 0,
            MicrosoftCloud::UsGovGccHigh => 1,
            MicrosoftCloud::UsGovDod => 2,
            MicrosoftCloud::China => 3,
        },
    }
}

/// Write the image of `settings` and `store`'s refresh tokens, sequence
/// number `seq`, into `out`; returns its length. The firmware writes
/// `out[..len]` into the slot [`NvCursor::next`] named. On error `out` is
/// wiped.
pub fn save(
    settings: &Settings,
    store: &TokenStore,
    seq: u32,
    seal: Option<Seal<'_>>,
    out: &mut [u8],
) -> Result<usize, NvError> {
    let r = save_inner(settings, store, seq, seal, out);
    if r.is_err() {
        out.zeroize();
    }
    r
}

fn save_inner(
    settings: &Settings,
    store: &TokenStore,
    seq: u32,
    seal: Option<Seal<'_>>,
    out: &mut [u8],
) -> Result<usize, NvError> {
    let flags = if seal.is_some() { FLAG_SEALED } else { 0 };
    let mut prefix = [0u8; PREFIX_LEN];
    write_prefix_head(&mut prefix, flags, seq);

    let mut users: Vec<NvUser<'_>, MAX_USER_TOKENS> = Vec::new();
    for u in store.user_entries() {
        users
            .push(NvUser {
                id: &u.id,
                slot: nv_slot(&u.slot),
            })
            .map_err(|_| NvError::BufferTooSmall)?;
    }
    let meta = NvMeta {
        settings: nv_settings(settings),
        admin: nv_slot(&store.admin),
        users,
    };

    let body = out.get_mut(PREFIX_LEN..).ok_or(NvError::BufferTooSmall)?;
    let (fixed, rest) = body
        .split_at_mut_checked(BODY_FIXED_LEN)
        .ok_or(NvError::BufferTooSmall)?;
    fixed.fill(0);
    if let (Some(s), Some(dst)) = (seal, fixed.get_mut(..RANDOM_LEN)) {
        dst.copy_from_slice(&s.random);
    }
    let meta_len = postcard::to_slice(&meta, rest)
        .map_err(|_| NvError::BufferTooSmall)?
        .len();

    // The secrets, in the documented order.
    let proxy_password = settings.proxy.as_ref().map(|p| p.password.expose());
    let secrets = proxy_password
        .into_iter()
        .chain(core::iter::once(store.admin.refresh.expose()))
        .chain(store.user_entries().map(|u| u.slot.refresh.expose()));
    let cipher = seal.map(|s| s.key.cipher());
    let mut pos = meta_len;
    for (index, secret) in secrets.enumerate() {
        let end = pos
            .checked_add(secret.len())
            .ok_or(NvError::BufferTooSmall)?;
        let dst = rest.get_mut(pos..end).ok_or(NvError::BufferTooSmall)?;
        dst.copy_from_slice(secret);
        pos = end;
        if let (Some(cipher), Some(s)) = (&cipher, seal) {
            let nonce = nonce(seq, index, &s.random);
            let aad = aad(&prefix, index);
            let tag = cipher
                .encrypt_in_place_detached(Nonce::from_slice(&nonce), &aad, dst)
                .map_err(|_| NvError::BufferTooSmall)?;
            let end = pos.checked_add(TAG_LEN).ok_or(NvError::BufferTooSmall)?;
            rest.get_mut(pos..end)
                .ok_or(NvError::BufferTooSmall)?
                .copy_from_slice(&tag);
            pos = end;
        }
    }

    let body_len = BODY_FIXED_LEN
        .checked_add(pos)
        .ok_or(NvError::BufferTooSmall)?;
    let body_len32 = u32::try_from(body_len).map_err(|_| NvError::BufferTooSmall)?;
    prefix
        .get_mut(12..16)
        .ok_or(NvError::BufferTooSmall)?
        .copy_from_slice(&body_len32.to_le_bytes());
    let crc = image_crc(
        prefix.get(..16).unwrap_or(&[]),
        out.get(PREFIX_LEN..PREFIX_LEN + body_len).unwrap_or(&[]),
    );
    prefix
        .get_mut(16..20)
        .ok_or(NvError::BufferTooSmall)?
        .copy_from_slice(&crc.to_le_bytes());
    out.get_mut(..PREFIX_LEN)
        .ok_or(NvError::BufferTooSmall)?
        .copy_from_slice(&prefix);
    Ok(PREFIX_LEN + body_len)
}

fn write_prefix_head(prefix: &mut [u8; PREFIX_LEN], flags: u16, seq: u32) {
    let (magic, rest) = prefix.split_at_mut(4);
    magic.copy_from_slice(&MAGIC);
    let (version, rest) = rest.split_at_mut(2);
    version.copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let (fl, rest) = rest.split_at_mut(2);
    fl.copy_from_slice(&flags.to_le_bytes());
    if let Some(s) = rest.get_mut(..4) {
        s.copy_from_slice(&seq.to_le_bytes());
    }
}

fn nonce(seq: u32, index: usize, random: &[u8; RANDOM_LEN]) -> [u8; 12] {
    let mut n = [0u8; 12];
    let (s, rest) = n.split_at_mut(4);
    s.copy_from_slice(&seq.to_le_bytes());
    let (i, r) = rest.split_at_mut(1);
    i.fill(u8::try_from(index).unwrap_or(u8::MAX));
    r.copy_from_slice(random);
    n
}

fn aad(prefix: &[u8; PREFIX_LEN], index: usize) -> [u8; 13] {
    let mut a = [0u8; 13];
    let (head, i) = a.split_at_mut(12);
    head.copy_from_slice(prefix.get(..12).unwrap_or(&[0; 12]));
    i.fill(u8::try_from(index).unwrap_or(u8::MAX));
    a
}

fn image_crc(head: &[u8], body: &[u8]) -> u32 {
    let mut d = CRC.digest();
    d.update(head);
    d.update(body);
    d.finalize()
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*s.first()?, *s.get(1)?]))
}

/// The sequence number a slot that failed its check claims, if its prefix
/// still reads as an image's (magic intact): a torn or damaged image. A
/// slot without the magic (erased, partly erased) claims nothing.
fn claimed_sequence(image: &[u8]) -> Option<u32> {
    if image.get(..4) != Some(&MAGIC[..]) {
        return None;
    }
    le32(image, 8)
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(s))
}

/// A slot whose prefix and CRC check out.
struct Checked<'a> {
    prefix: [u8; PREFIX_LEN],
    version: u16,
    flags: u16,
    seq: u32,
    body: &'a [u8],
}

fn check(image: &[u8]) -> Result<Checked<'_>, SlotState> {
    let erased = image.iter().all(|b| *b == 0xFF) || image.iter().all(|b| *b == 0);
    if image.len() < PREFIX_LEN || erased {
        return Err(if erased || image.is_empty() {
            SlotState::Empty
        } else {
            SlotState::Corrupt
        });
    }
    let prefix: [u8; PREFIX_LEN] = image
        .get(..PREFIX_LEN)
        .and_then(|p| p.try_into().ok())
        .ok_or(SlotState::Corrupt)?;
    if prefix.get(..4) != Some(&MAGIC[..]) {
        return Err(SlotState::Corrupt);
    }
    let field = |v: Option<u32>| v.ok_or(SlotState::Corrupt);
    let version = le16(&prefix, 4).ok_or(SlotState::Corrupt)?;
    let flags = le16(&prefix, 6).ok_or(SlotState::Corrupt)?;
    let seq = field(le32(&prefix, 8))?;
    let body_len = usize::try_from(field(le32(&prefix, 12))?).map_err(|_| SlotState::Corrupt)?;
    let crc = field(le32(&prefix, 16))?;
    let body = PREFIX_LEN
        .checked_add(body_len)
        .and_then(|end| image.get(PREFIX_LEN..end))
        .ok_or(SlotState::Corrupt)?;
    if image_crc(prefix.get(..16).unwrap_or(&[]), body) != crc || version == 0 {
        return Err(SlotState::Corrupt);
    }
    Ok(Checked {
        prefix,
        version,
        flags,
        seq,
        body,
    })
}

/// Serial-number comparison, so the sequence may wrap.
fn newer(a: u32, b: u32) -> bool {
    let d = a.wrapping_sub(b);
    d != 0 && d < 0x8000_0000
}

/// Read the newest good image of slots `a` and `b` into `settings` and
/// `store` (R-NV). A torn or corrupt slot is ignored; nothing panics on any
/// input. On success the store holds no access token (R-TOK-1). The image is
/// decoded straight into `settings` and `store` (R-MEM). On error `store` is
/// emptied, and `settings` is unchanged if no image got as far as decoding,
/// else reset to the defaults.
pub fn load(
    a: &[u8],
    b: &[u8],
    key: Option<&DeviceKey>,
    settings: &mut Settings,
    store: &mut TokenStore,
) -> Result<LoadReport, NvError> {
    let ca = check(a);
    let cb = check(b);
    let state = |c: &Result<Checked<'_>, SlotState>| match c {
        Ok(c) => SlotState::Valid {
            sequence: c.seq,
            version: c.version,
        },
        Err(s) => *s,
    };
    let (sa, sb) = (state(&ca), state(&cb));
    // What a slot that failed its check claims to be: a damaged newer image
    // is reported when the older one loads.
    let claimed = |c: &Result<Checked<'_>, SlotState>, raw: &[u8]| match c {
        Err(SlotState::Corrupt) => claimed_sequence(raw),
        _ => None,
    };
    let (claim_a, claim_b) = (claimed(&ca, a), claimed(&cb, b));
    // Candidates, newest first.
    // (slot, its image, what the other slot holds, whether the other slot
    // is a damaged newer image)
    let mut order: Vec<(SlotId, Checked<'_>, SlotState, bool), 2> = Vec::new();
    match (ca, cb) {
        (Ok(x), Ok(y)) => {
            let (first, second) = if newer(y.seq, x.seq) {
                ((SlotId::B, y, sa, false), (SlotId::A, x, sb, false))
            } else {
                ((SlotId::A, x, sb, false), (SlotId::B, y, sa, false))
            };
            let _ = order.push(first);
            let _ = order.push(second);
        }
        (Ok(x), Err(_)) => {
            let damaged_newer = claim_b.is_some_and(|n| newer(n, x.seq));
            let _ = order.push((SlotId::A, x, sb, damaged_newer));
        }
        (Err(_), Ok(y)) => {
            let damaged_newer = claim_a.is_some_and(|n| newer(n, y.seq));
            let _ = order.push((SlotId::B, y, sa, damaged_newer));
        }
        (Err(SlotState::Empty), Err(SlotState::Empty)) => {
            store.reset();
            return Err(NvError::Empty);
        }
        (Err(_), Err(_)) => {
            store.reset();
            return Err(NvError::Corrupt);
        }
    }
    // The newer candidate's body did not decode: it is the damaged one.
    let mut newer_undecodable = false;
    for (slot, image, other, damaged_newer) in order {
        if image.version > FORMAT_VERSION {
            store.reset();
            return Err(NvError::NewerFormat);
        }
        match decode(&image, key, settings, store) {
            Ok(()) => {
                let mut cursor = NvCursor::new();
                cursor.written(slot, image.seq);
                // The newest image was damaged and the previous one loaded:
                // say so (issue 15 defect 6).
                let previous_restored = damaged_newer || newer_undecodable;
                if previous_restored {
                    store.previous_image_restored();
                }
                return Ok(LoadReport {
                    slot,
                    sequence: image.seq,
                    other: if newer_undecodable {
                        SlotState::Corrupt
                    } else {
                        other
                    },
                    cursor,
                    previous_restored,
                });
            }
            Err(NvError::Corrupt) => {
                newer_undecodable = true;
                continue;
            }
            Err(e) => {
                store.reset();
                return Err(e);
            }
        }
    }
    store.reset();
    Err(NvError::Corrupt)
}

/// Decodes `image` straight into `settings` and `store` (R-MEM: no
/// settings value is built on the stack and moved); on error `settings` is
/// reset to the defaults (the store is reset by the caller).
// Not inlined: its frame (the image's metadata, the settings' temporaries)
// is gone before the caller goes on (R-MEM).
#[inline(never)]
fn decode(
    image: &Checked<'_>,
    key: Option<&DeviceKey>,
    settings: &mut Settings,
    store: &mut TokenStore,
) -> Result<(), NvError> {
    let decoded = decode_into(image, key, settings, store);
    if decoded.is_err() {
        settings.reset();
    }
    decoded
}

fn decode_into(
    image: &Checked<'_>,
    key: Option<&DeviceKey>,
    settings: &mut Settings,
    store: &mut TokenStore,
) -> Result<(), NvError> {
    let sealed = image.flags & FLAG_SEALED != 0;
    if image.flags & !FLAG_SEALED != 0 {
        return Err(NvError::Corrupt);
    }
    let cipher = match (sealed, key) {
        (true, Some(k)) => Some(k.cipher()),
        (true, None) => return Err(NvError::SealOpenFailed),
        (false, _) => None,
    };
    let random: [u8; RANDOM_LEN] = image
        .body
        .get(..RANDOM_LEN)
        .and_then(|r| r.try_into().ok())
        .ok_or(NvError::Corrupt)?;
    let rest = image.body.get(BODY_FIXED_LEN..).ok_or(NvError::Corrupt)?;
    // The metadata (an `NvMeta`) is read in its parts, each user as it is
    // restored, instead of as one value (R-MEM: the list of users is not
    // held, nor moved from frame to frame).
    let (nv_settings, after) =
        postcard::take_from_bytes::<NvSettings<'_>>(rest).map_err(|_| NvError::Corrupt)?;
    let (admin, after) =
        postcard::take_from_bytes::<NvSlot<'_>>(after).map_err(|_| NvError::Corrupt)?;
    let (user_count, users) =
        postcard::take_from_bytes::<usize>(after).map_err(|_| NvError::Corrupt)?;
    if user_count > MAX_USER_TOKENS {
        return Err(NvError::Corrupt);
    }
    // A first pass finds where the users end and the vault begins.
    let mut vault = users;
    for _ in 0..user_count {
        vault = next_user(vault)?.1;
    }
    settings_into(&nv_settings, settings)?;

    let mut vault = Vault {
        rest: vault,
        index: 0,
        sealed: cipher.is_some(),
    };
    // Each secret is copied straight into its place and opened there (R-MEM:
    // no scratch buffer of a refresh token's size on the stack).
    let opener = Opener {
        cipher: cipher.as_ref(),
        image,
        random: &random,
    };
    if let (Some(proxy), Some((_, _, _, len))) = (settings.proxy.as_mut(), nv_settings.proxy) {
        opener.open_into(&mut proxy.password, vault.next(len)?)?;
    }
    store.reset();
    opener.open_into(&mut store.admin.refresh, vault.next(admin.secret_len)?)?;
    restore(&mut store.admin, &admin, image.version)?;
    let mut users = users;
    for _ in 0..user_count {
        let (user, rest) = next_user(users)?;
        users = rest;
        let slot = store.restore_user(user.id).map_err(|_| NvError::Corrupt)?;
        opener.open_into(&mut slot.refresh, vault.next(user.slot.secret_len)?)?;
        restore(slot, &user.slot, image.version)?;
    }
    let vault = vault.rest;
    if !vault.is_empty() {
        return Err(NvError::Corrupt);
    }
    Ok(())
}

/// The next user of an image's metadata, and what follows it.
fn next_user(bytes: &[u8]) -> Result<(NvUser<'_>, &[u8]), NvError> {
    postcard::take_from_bytes::<NvUser<'_>>(bytes).map_err(|_| NvError::Corrupt)
}

/// The secrets of an image's vault, in order.
struct Vault<'a> {
    rest: &'a [u8],
    index: usize,
    sealed: bool,
}

impl<'a> Vault<'a> {
    /// The next secret: its `len` octets, its tag (if sealed) and its number.
    fn next(&mut self, len: u16) -> Result<(&'a [u8], &'a [u8], usize), NvError> {
        let len = usize::from(len);
        let sealed_len = if self.sealed { TAG_LEN } else { 0 };
        let total = len.checked_add(sealed_len).ok_or(NvError::Corrupt)?;
        let (chunk, tail) = self.rest.split_at_checked(total).ok_or(NvError::Corrupt)?;
        self.rest = tail;
        let (data, tag) = chunk.split_at_checked(len).ok_or(NvError::Corrupt)?;
        let index = self.index;
        self.index = self.index.saturating_add(1);
        Ok((data, tag, index))
    }
}

/// Opens an image's secrets where they are kept.
struct Opener<'a, 'b> {
    cipher: Option<&'a ChaCha20Poly1305>,
    image: &'a Checked<'b>,
    random: &'a [u8; RANDOM_LEN],
}

impl Opener<'_, '_> {
    /// Copies the secret into `dst` and, if sealed, opens it there; a
    /// secret that does not open is wiped.
    fn open_into<const N: usize>(
        &self,
        dst: &mut SecretBuf<N>,
        (data, tag, index): (&[u8], &[u8], usize),
    ) -> Result<(), NvError> {
        dst.set(data).map_err(|_| NvError::Corrupt)?;
        if let Some(cipher) = self.cipher {
            let nonce = nonce(self.image.seq, index, self.random);
            let opened = cipher.decrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                &aad(&self.image.prefix, index),
                dst.expose_mut(),
                Tag::from_slice(tag),
            );
            if opened.is_err() {
                dst.clear();
                return Err(NvError::SealOpenFailed);
            }
        }
        Ok(())
    }
}

fn restore(slot: &mut Slot, nv: &NvSlot<'_>, version: u16) -> Result<(), NvError> {
    let account = nv.account.map(parse_address).transpose()?;
    let verified = nv.status & STATUS_VERIFIED != 0;
    // Format 1 had no such mark: an image claiming it is damaged.
    if verified && version < 2 {
        return Err(NvError::Corrupt);
    }
    let status = TokenStatus::from_u8(nv.status & !STATUS_VERIFIED).ok_or(NvError::Corrupt)?;
    slot.restore(
        account,
        verified,
        status,
        nv.acquired_at.map(WallTime),
        nv.last_used.map(WallTime),
    );
    Ok(())
}

fn parse_address(s: &str) -> Result<Address, NvError> {
    Address::parse(s).map_err(|_| NvError::Corrupt)
}

/// `s` written into `place` (R-MEM: no string temporary).
fn set_string<const N: usize>(place: &mut String<N>, s: &str) -> Result<(), NvError> {
    place.clear();
    place.push_str(s).map_err(|_| NvError::Corrupt)
}

fn string<const N: usize>(s: &str) -> Result<String<N>, NvError> {
    String::try_from(s).map_err(|_| NvError::Corrupt)
}

/// Writes the image's settings into `s`, field by field (R-MEM). Not
/// inlined: its temporaries (an address, a host) then live on its own
/// frame, not beside the secret's scratch buffer of [`decode_into`].
#[inline(never)]
fn settings_into(nv: &NvSettings<'_>, s: &mut Settings) -> Result<(), NvError> {
    let bad = NvError::Corrupt;
    s.provider = match nv.provider {
        0 => ProviderKind::Microsoft,
        1 => ProviderKind::Google,
        2 => ProviderKind::Custom,
        _ => return Err(bad),
    };
    s.sender_mode = match nv.sender_mode {
        0 => SenderMode::LoginUserAddress,
        1 => SenderMode::AllowUserChanges,
        2 => SenderMode::AdminFixedAddress,
        3 => SenderMode::BulkSetting,
        _ => return Err(bad),
    };
    let tls = |n: u8| match n {
        0 => Ok(TlsVersion::Tls10),
        1 => Ok(TlsVersion::Tls11),
        2 => Ok(TlsVersion::Tls12),
        3 => Ok(TlsVersion::Tls13),
        _ => Err(bad),
    };
    s.microsoft_cloud = match nv.microsoft_cloud {
        0 => MicrosoftCloud::Global,
        1 => MicrosoftCloud::UsGovGccHigh,
        2 => MicrosoftCloud::UsGovDod,
        3 => MicrosoftCloud::China,
        _ => return Err(bad),
    };
    s.webdav_http = match nv.webdav_http {
        0 => WebDavHttpVersion::Http11,
        1 => WebDavHttpVersion::Http2Http11,
        _ => return Err(bad),
    };
    set_smtp(&mut s.smtp, nv.smtp)?;
    set_proxy(&mut s.proxy, nv.proxy)?;
    s.send_as.clear();
    for a in &nv.send_as {
        push_address(&mut s.send_as, a)?;
    }
    let [token_url, device_url, authorize_url, scope] = nv.custom;
    set_address(&mut s.admin_address, nv.admin_address)?;
    s.oauth_enabled = nv.oauth_enabled;
    set_string(&mut s.tenant, nv.tenant)?;
    set_string(&mut s.client_id, nv.client_id)?;
    set_string(&mut s.custom.token_url, token_url)?;
    set_string(&mut s.custom.device_url, device_url)?;
    set_string(&mut s.custom.authorize_url, authorize_url)?;
    set_string(&mut s.custom.scope, scope)?;
    s.google_app_testing = nv.google_app_testing;
    set_address(&mut s.bulk_address, nv.bulk_address)?;
    s.tls_min = tls(nv.tls_min)?;
    s.tls_max = tls(nv.tls_max)?;
    s.vlan_on_network2 = nv.vlan_on_network2;
    s.auto_delete_user_tokens = nv.auto_delete_user_tokens;
    Ok(())
}

// The helpers below are not inlined: each one's temporary (an address, a
// host, a proxy) lives on its own short frame, one at a time, not all
// together on `settings_into`'s (R-MEM).

#[inline(never)]
fn set_address(place: &mut Option<Address>, s: Option<&str>) -> Result<(), NvError> {
    *place = s.map(parse_address).transpose()?;
    Ok(())
}

#[inline(never)]
fn push_address<const N: usize>(list: &mut Vec<Address, N>, s: &str) -> Result<(), NvError> {
    list.push(parse_address(s)?).map_err(|_| NvError::Corrupt)
}

#[inline(never)]
fn set_smtp(
    s_smtp: &mut Option<SmtpServer>,
    nv_smtp: Option<(&str, u16, u8)>,
) -> Result<(), NvError> {
    let bad = NvError::Corrupt;
    *s_smtp = match nv_smtp {
        None => None,
        Some((host, port, sec)) => Some(SmtpServer {
            host: string(host)?,
            port,
            security: match sec {
                0 => Security::StartTls,
                1 => Security::ImplicitTls,
                _ => return Err(bad),
            },
        }),
    };
    Ok(())
}

#[inline(never)]
fn set_proxy(
    s_proxy: &mut Option<Proxy>,
    nv_proxy: Option<(&str, u16, &str, u16)>,
) -> Result<(), NvError> {
    if let Some(p) = s_proxy.as_mut() {
        p.password.clear();
    }
    let Some((host, port, user, _)) = nv_proxy else {
        *s_proxy = None;
        return Ok(());
    };
    // Written in place from an all-zero value (a memset), not built and
    // moved (R-MEM).
    let p = s_proxy.insert(Proxy {
        host: String::new(),
        port: 0,
        user: String::new(),
        password: SecretBuf::new(),
    });
    set_string(&mut p.host, host)?;
    p.port = port;
    set_string(&mut p.user, user)
}
