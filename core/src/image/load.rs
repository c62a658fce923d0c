//! Reading the image back (R-NV): the newest good slot, decoded straight
//! into the settings and the store.

use heapless::Vec;

use super::records::{restore, settings_into, NvSettings, NvSlot, NvUser};
use super::seal::SecretSealer;
use super::{
    aad, image_crc, nonce, DeviceKey, LoadReport, NvCursor, NvError, SlotId, SlotState,
    BODY_FIXED_LEN, FLAG_SEALED, FORMAT_VERSION, MAGIC, PREFIX_LEN, RANDOM_LEN, TAG_LEN,
};
use crate::config::Settings;
use crate::limits::MAX_USER_TOKENS;
use crate::secret::SecretBuf;
use crate::token::TokenStore;

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
    let key = match (sealed, key) {
        (true, Some(k)) => Some(k),
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
        sealed: key.is_some(),
    };
    // Each secret is copied straight into its place and opened there (R-MEM:
    // no scratch buffer of a refresh token's size on the stack).
    let opener = Opener {
        key,
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
    key: Option<&'a DeviceKey>,
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
        if let Some(key) = self.key {
            let nonce = nonce(self.image.seq, index, self.random);
            let sealer = SecretSealer::new(key, &nonce, &aad(&self.image.prefix, index));
            if !sealer.open(dst.expose_mut(), tag) {
                dst.clear();
                return Err(NvError::SealOpenFailed);
            }
        }
        Ok(())
    }
}
