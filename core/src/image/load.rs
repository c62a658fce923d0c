//! Reading the image back (R-NV): the newest good slot, decoded straight
//! into the settings and the store, from slots in memory or read a piece
//! at a time through the firmware's flash driver (R-MEM).

use super::records::{
    read_tagged, reset_tagged, restore, settings3_into, settings_into, NvSettings, NvSettings3,
    NvSlot, NvUser,
};
use super::seal::SecretSealer;
use super::{
    aad, le32, nonce, DeviceKey, LoadReport, NvCursor, NvError, SlotId, SlotState, BODY_FIXED_LEN,
    CRC, FLAG_SEALED, FORMAT_VERSION, MAGIC, PREFIX_LEN, RANDOM_LEN, TAG_LEN,
};
use crate::config::Settings;
use crate::limits::MAX_USER_TOKENS;
use crate::secret::SecretBuf;
use crate::token::{Slot, TokenError, TokenStore, UserSlots};

fn le16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*s.first()?, *s.get(1)?]))
}

/// Where the two slots are read: in memory ([`load`]) or through the
/// firmware's flash driver ([`load_from`]).
pub trait SlotReader {
    /// The octets of `slot` that may be read (the slot's size in flash,
    /// or less; 0 for a slot that is not there).
    fn slot_len(&self, slot: SlotId) -> usize;

    /// Fills `out` with the octets of `slot` from `offset` (within
    /// [`SlotReader::slot_len`]); `Err` for a flash read fault, which fails
    /// the load with [`NvError::ReadFailed`] (nothing is decided on a slot
    /// that could not be read).
    fn read(&mut self, slot: SlotId, offset: usize, out: &mut [u8]) -> Result<(), ReadFault>;
}

/// A flash read failed ([`SlotReader::read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadFault;

/// Two slots in memory (memory-mapped flash, or read whole).
struct InMemory<'a> {
    a: &'a [u8],
    b: &'a [u8],
}

impl InMemory<'_> {
    fn slot(&self, slot: SlotId) -> &[u8] {
        match slot {
            SlotId::A => self.a,
            SlotId::B => self.b,
        }
    }
}

impl SlotReader for InMemory<'_> {
    fn slot_len(&self, slot: SlotId) -> usize {
        self.slot(slot).len()
    }

    fn read(&mut self, slot: SlotId, offset: usize, out: &mut [u8]) -> Result<(), ReadFault> {
        let src = offset
            .checked_add(out.len())
            .and_then(|end| self.slot(slot).get(offset..end))
            .ok_or(ReadFault)?;
        out.copy_from_slice(src);
        Ok(())
    }
}

/// Octets read at a time to check a slot (R-MEM: the CRC and the erased
/// test need no buffer the size of a slot).
const READ_PIECE: usize = 64;

fn read(
    src: &mut dyn SlotReader,
    slot: SlotId,
    offset: usize,
    out: &mut [u8],
) -> Result<(), NvError> {
    src.read(slot, offset, out).map_err(|_| NvError::ReadFailed)
}

/// A slot whose prefix and CRC check out.
struct Checked {
    slot: SlotId,
    prefix: [u8; PREFIX_LEN],
    version: u16,
    flags: u16,
    seq: u32,
    body_len: usize,
}

/// What a slot holds: a good image, or why not (with the sequence number a
/// damaged image still claims, if its prefix reads as an image's: a torn
/// or damaged image; an erased or partly erased slot claims nothing).
enum Found {
    Good(Checked),
    Bad(SlotState, Option<u32>),
}

/// Checks `slot` piece by piece; `Err` only for a read fault.
fn check(src: &mut dyn SlotReader, slot: SlotId) -> Result<Found, NvError> {
    let len = src.slot_len(slot);
    let mut prefix = [0u8; PREFIX_LEN];
    if len >= PREFIX_LEN {
        read(src, slot, 0, &mut prefix)?;
    }
    if len < PREFIX_LEN || prefix.get(..4) != Some(&MAGIC[..]) {
        let state = if len == 0 || erased(src, slot, len)? {
            SlotState::Empty
        } else {
            SlotState::Corrupt
        };
        return Ok(Found::Bad(state, None));
    }
    let claimed = le32(&prefix, 8);
    let bad = Found::Bad(SlotState::Corrupt, claimed);
    let (Some(version), Some(flags), Some(seq), Some(body_len), Some(crc)) = (
        le16(&prefix, 4),
        le16(&prefix, 6),
        claimed,
        le32(&prefix, 12).and_then(|n| usize::try_from(n).ok()),
        le32(&prefix, 16),
    ) else {
        return Ok(bad);
    };
    if PREFIX_LEN
        .checked_add(body_len)
        .map_or(true, |end| end > len)
        || version == 0
    {
        return Ok(bad);
    }
    let mut digest = CRC.digest();
    digest.update(prefix.get(..16).unwrap_or(&[]));
    let mut piece = [0u8; READ_PIECE];
    let mut at = 0;
    while at < body_len {
        let n = (body_len - at).min(READ_PIECE);
        let buf = piece.get_mut(..n).unwrap_or(&mut []);
        read(src, slot, PREFIX_LEN + at, buf)?;
        digest.update(buf);
        at += n;
    }
    if digest.finalize() != crc {
        return Ok(bad);
    }
    Ok(Found::Good(Checked {
        slot,
        prefix,
        version,
        flags,
        seq,
        body_len,
    }))
}

/// Whether the first `len` octets of `slot` are all 0xFF or all 0x00.
fn erased(src: &mut dyn SlotReader, slot: SlotId, len: usize) -> Result<bool, NvError> {
    let (mut ff, mut zero) = (true, true);
    let mut piece = [0u8; READ_PIECE];
    let mut at = 0;
    while at < len && (ff || zero) {
        let n = (len - at).min(READ_PIECE);
        let buf = piece.get_mut(..n).unwrap_or(&mut []);
        read(src, slot, at, buf)?;
        ff &= buf.iter().all(|b| *b == 0xFF);
        zero &= buf.iter().all(|b| *b == 0);
        at += n;
    }
    Ok(ff || zero)
}

/// Serial-number comparison, so the sequence may wrap.
fn newer(a: u32, b: u32) -> bool {
    let d = a.wrapping_sub(b);
    d != 0 && d < 0x8000_0000
}

/// Read the newest good image of slots `a` and `b` into `settings` and
/// `store` (R-NV). A torn or corrupt slot is ignored; nothing panics on any
/// input. On success the store holds no access token (R-TOK-1). The image is
/// decoded straight into `settings` and `store` (R-MEM). An image with more
/// users than `store` has user slots is [`NvError::TooManyUsers`], and the
/// older image is not loaded in its place. On error `store` is emptied, and
/// `settings` is unchanged if no image got as far as decoding, else reset
/// to the defaults.
pub fn load<U: UserSlots>(
    a: &[u8],
    b: &[u8],
    key: Option<&DeviceKey>,
    settings: &mut Settings,
    store: &mut TokenStore<U>,
) -> Result<LoadReport, NvError> {
    let mut slots = InMemory { a, b };
    let records = Records::Mapped { a, b };
    load_with(&mut slots, records, key, settings, store)
}

/// [`load`] from flash that is not memory-mapped, read a piece at a time
/// through `reader` (R-MEM: no buffer the size of a slot). The slots are
/// checked 64 octets at a time; the image's records (settings, accounts:
/// no secret) are read into `scratch`, which must hold them
/// ([`super::RECORDS_MAX_LEN`] always does; a few hundred octets are a typical
/// image's); each secret is read straight into its place in the store and
/// opened there. [`NvError::BufferTooSmall`] if `scratch` is too short for
/// the newest image's records (the older image is then not loaded in its
/// place), [`NvError::ReadFailed`] on a read fault; otherwise as [`load`].
pub fn load_from<U: UserSlots>(
    reader: &mut dyn SlotReader,
    scratch: &mut [u8],
    key: Option<&DeviceKey>,
    settings: &mut Settings,
    store: &mut TokenStore<U>,
) -> Result<LoadReport, NvError> {
    load_with(reader, Records::Scratch(scratch), key, settings, store)
}

/// Where an image's records are read from.
enum Records<'a> {
    /// The slots are in memory: straight from there.
    Mapped { a: &'a [u8], b: &'a [u8] },
    /// Read into this buffer.
    Scratch(&'a mut [u8]),
}

// Not inlined: the checks' read buffers are gone before the image is
// decoded (R-MEM).
#[inline(never)]
fn check_both(src: &mut dyn SlotReader) -> Result<(Found, Found), NvError> {
    Ok((check(src, SlotId::A)?, check(src, SlotId::B)?))
}

fn load_with<U: UserSlots>(
    src: &mut dyn SlotReader,
    mut records: Records<'_>,
    key: Option<&DeviceKey>,
    settings: &mut Settings,
    store: &mut TokenStore<U>,
) -> Result<LoadReport, NvError> {
    let (fa, fb) = match check_both(src) {
        Ok(found) => found,
        Err(e) => {
            store.reset();
            return Err(e);
        }
    };
    let state = |f: &Found| match f {
        Found::Good(c) => SlotState::Valid {
            sequence: c.seq,
            version: c.version,
        },
        Found::Bad(s, _) => *s,
    };
    let (sa, sb) = (state(&fa), state(&fb));
    // Candidates, newest first, borrowed where the checks left them (R-MEM:
    // no second copy of each on this frame):
    // (its image, what the other slot holds, whether the other slot is a
    // damaged newer image)
    let mut order: [Option<(&Checked, SlotState, bool)>; 2] = [None, None];
    match (&fa, &fb) {
        (Found::Good(x), Found::Good(y)) => {
            order = if newer(y.seq, x.seq) {
                [Some((y, sa, false)), Some((x, sb, false))]
            } else {
                [Some((x, sb, false)), Some((y, sa, false))]
            };
        }
        (Found::Good(x), Found::Bad(_, claim_b)) => {
            let damaged_newer = claim_b.is_some_and(|n| newer(n, x.seq));
            order[0] = Some((x, sb, damaged_newer));
        }
        (Found::Bad(_, claim_a), Found::Good(y)) => {
            let damaged_newer = claim_a.is_some_and(|n| newer(n, y.seq));
            order[0] = Some((y, sa, damaged_newer));
        }
        (Found::Bad(SlotState::Empty, _), Found::Bad(SlotState::Empty, _)) => {
            store.reset();
            return Err(NvError::Empty);
        }
        (Found::Bad(..), Found::Bad(..)) => {
            store.reset();
            return Err(NvError::Corrupt);
        }
    }
    // The newer candidate's body did not decode: it is the damaged one.
    let mut newer_undecodable = false;
    for (image, other, damaged_newer) in order.into_iter().flatten() {
        if image.version > FORMAT_VERSION {
            store.reset();
            return Err(NvError::NewerFormat);
        }
        match decode(src, &mut records, image, key, settings, store) {
            Ok(()) => {
                let mut cursor = NvCursor::new();
                cursor.written(image.slot, image.seq);
                // The newest image was damaged and the previous one loaded:
                // say so (issue 15 defect 6).
                let previous_restored = damaged_newer || newer_undecodable;
                if previous_restored {
                    store.previous_image_restored();
                }
                return Ok(LoadReport {
                    slot: image.slot,
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
///
/// Two phases, each on a frame of its own (R-MEM): the records' decoding
/// (the settings' temporaries) is over before the vault's secrets are
/// opened (the cipher's frames), and only what the records say of the
/// vault ([`Layout`], about 100 octets) is kept between them.
fn decode<U: UserSlots>(
    src: &mut dyn SlotReader,
    records: &mut Records<'_>,
    image: &Checked,
    key: Option<&DeviceKey>,
    settings: &mut Settings,
    store: &mut TokenStore<U>,
) -> Result<(), NvError> {
    let decoded = image_key(image, key).and_then(|key| {
        let layout = read_records(src, records, image, settings)?;
        open_vault(src, image, key, &layout, settings, store)
    });
    if decoded.is_err() {
        settings.reset();
    }
    decoded
}

/// The key that opens `image`'s vault: `None` for an unsealed image.
fn image_key<'k>(
    image: &Checked,
    key: Option<&'k DeviceKey>,
) -> Result<Option<&'k DeviceKey>, NvError> {
    let sealed = image.flags & FLAG_SEALED != 0;
    if image.flags & !FLAG_SEALED != 0 {
        return Err(NvError::Corrupt);
    }
    let key = match (sealed, key) {
        (true, Some(k)) => Some(k),
        (true, None) => return Err(NvError::SealOpenFailed),
        (false, _) => None,
    };
    if image.body_len < BODY_FIXED_LEN {
        return Err(NvError::Corrupt);
    }
    Ok(key)
}

/// What the records say of the vault that follows them: where it starts,
/// the length of each secret, and the token slots' metadata to restore
/// once each slot's secret is open.
struct Layout<'r> {
    /// Offset in the slot of the vault's first secret.
    vault_at: usize,
    proxy_password_len: Option<u16>,
    client_secret_len: u16,
    admin: NvSlot<'r>,
    users: &'r [u8],
    user_count: usize,
    /// Format 4's refresh-token death dates, one per slot (the
    /// administrator's first), each read as its slot is restored: the
    /// record's entries after its count, already checked; `None` before
    /// format 4.
    expiries: Option<&'r [u8]>,
}

/// The next entry of format 4's death dates (`NvExpiries`), and
/// what follows it.
fn next_expiry(bytes: &[u8]) -> Result<(Option<u64>, &[u8]), NvError> {
    postcard::take_from_bytes::<Option<u64>>(bytes).map_err(|_| NvError::Corrupt)
}

/// Decodes the image's records, writes the settings they hold in place and
/// says where the vault's secrets are. Not inlined (R-MEM, as above).
#[inline(never)]
fn read_records<'r>(
    src: &mut dyn SlotReader,
    records: &'r mut Records<'_>,
    image: &Checked,
    settings: &mut Settings,
) -> Result<Layout<'r>, NvError> {
    // The records: from the body's 9th octet to the vault, whose start only
    // their decoding tells.
    let records_at = PREFIX_LEN + BODY_FIXED_LEN;
    let records_room = image.body_len - BODY_FIXED_LEN;
    let (rest, truncated): (&[u8], bool) = match records {
        Records::Mapped { a, b } => {
            let slot = match image.slot {
                SlotId::A => *a,
                SlotId::B => *b,
            };
            let rest = slot
                .get(records_at..records_at + records_room)
                .ok_or(NvError::Corrupt)?;
            (rest, false)
        }
        Records::Scratch(scratch) => {
            let n = records_room.min(scratch.len());
            let buf = scratch.get_mut(..n).ok_or(NvError::BufferTooSmall)?;
            read(src, image.slot, records_at, buf)?;
            (&*buf, n < records_room)
        }
    };
    // A CRC-good image whose records do not decode from a short scratch
    // needs more room; from the whole body, it is damaged.
    let undecodable = if truncated {
        NvError::BufferTooSmall
    } else {
        NvError::Corrupt
    };
    // The metadata (an `NvMeta`) is read in its parts, each user as it is
    // restored, instead of as one value (R-MEM: the list of users is not
    // held, nor moved from frame to frame).
    let (proxy_password_len, after) = read_settings(rest, image.version, settings, undecodable)?;
    // Format 6: the client secret's length (its octets are in the vault).
    let (client_secret_len, after) = if image.version >= 6 {
        postcard::take_from_bytes::<u16>(after).map_err(|_| undecodable)?
    } else {
        (0, after)
    };
    let (admin, after) = postcard::take_from_bytes::<NvSlot<'_>>(after).map_err(|_| undecodable)?;
    let (user_count, users) = postcard::take_from_bytes::<usize>(after).map_err(|_| undecodable)?;
    if user_count > MAX_USER_TOKENS {
        return Err(NvError::Corrupt);
    }
    // A first pass finds where the users end and the vault begins.
    let mut vault = users;
    for _ in 0..user_count {
        vault = next_user(vault).map_err(|_| undecodable)?.1;
    }
    // Format 4's refresh-token death dates, one per slot; none before. Read
    // an entry at a time, here to find the vault, and again as each slot is
    // restored (R-MEM: the list is not held).
    let expiries = if image.version >= 4 {
        let (count, entries) =
            postcard::take_from_bytes::<usize>(vault).map_err(|_| undecodable)?;
        if count != user_count + 1 {
            return Err(NvError::Corrupt);
        }
        vault = entries;
        for _ in 0..count {
            vault = next_expiry(vault).map_err(|_| undecodable)?.1;
        }
        Some(entries)
    } else {
        None
    };
    Ok(Layout {
        vault_at: records_at + (rest.len() - vault.len()),
        proxy_password_len,
        client_secret_len,
        admin,
        users,
        user_count,
        expiries,
    })
}

/// Decodes the settings' records at the start of `rest` straight into
/// `settings`: the proxy password's length (its octets are in the vault)
/// and what follows them. Not inlined: the records' decoded form stays off
/// the frames that follow (R-MEM).
#[inline(never)]
fn read_settings<'r>(
    rest: &'r [u8],
    version: u16,
    settings: &mut Settings,
    undecodable: NvError,
) -> Result<(Option<u16>, &'r [u8]), NvError> {
    let (nv_settings, after) =
        postcard::take_from_bytes::<NvSettings<'_>>(rest).map_err(|_| undecodable)?;
    // Formats 3 and 4's second settings' record (a format-2 image has
    // none); format 5's tagged record in its place.
    let (nv_settings3, after) = if (3..5).contains(&version) {
        let (s3, after) =
            postcard::take_from_bytes::<NvSettings3>(after).map_err(|_| undecodable)?;
        (Some(s3), after)
    } else {
        (None, after)
    };
    reset_tagged(settings);
    let after = if version >= 5 {
        read_tagged(after, settings, undecodable)?
    } else {
        after
    };
    settings_into(&nv_settings, settings)?;
    settings3_into(nv_settings3.as_ref(), settings);
    Ok((nv_settings.proxy.map(|(_, _, _, len)| len), after))
}

/// Reads the vault's secrets straight into their places and opens them
/// there (R-MEM: no scratch buffer of a refresh token's size on the
/// stack), then restores each token slot. Not inlined (R-MEM, as above).
#[inline(never)]
fn open_vault<U: UserSlots>(
    src: &mut dyn SlotReader,
    image: &Checked,
    key: Option<&DeviceKey>,
    layout: &Layout<'_>,
    settings: &mut Settings,
    store: &mut TokenStore<U>,
) -> Result<(), NvError> {
    let mut random = [0u8; RANDOM_LEN];
    read(src, image.slot, PREFIX_LEN, &mut random)?;
    let mut vault = Vault {
        src,
        slot: image.slot,
        at: layout.vault_at,
        end: PREFIX_LEN + image.body_len,
        index: 0,
        key,
        image,
        random: &random,
    };
    if let (Some(proxy), Some(len)) = (settings.proxy.as_mut(), layout.proxy_password_len) {
        vault.open_into(&mut proxy.password, len)?;
    }
    settings.app_client_secret.0.clear();
    if layout.client_secret_len > 0 {
        vault.open_into(&mut settings.app_client_secret.0, layout.client_secret_len)?;
    }
    let mut expiries = layout.expiries;
    let mut expiry = || -> Result<Option<u64>, NvError> {
        let Some(entries) = expiries.as_mut() else {
            return Ok(None);
        };
        let (expiry, rest) = next_expiry(entries)?;
        *entries = rest;
        Ok(expiry)
    };
    store.reset();
    vault.open_into(&mut store.admin.refresh, layout.admin.secret_len)?;
    restore(&mut store.admin, &layout.admin, expiry()?, image.version)?;
    let mut users = layout.users;
    for _ in 0..layout.user_count {
        let (user, rest) = next_user(users)?;
        users = rest;
        let slot = user_slot(store, user.id)?;
        vault.open_into(&mut slot.refresh, user.slot.secret_len)?;
        restore(slot, &user.slot, expiry()?, image.version)?;
    }
    if vault.at != vault.end {
        return Err(NvError::Corrupt);
    }
    Ok(())
}

/// The slot of the user `id` in `store`, taken for the image's user.
/// Not inlined: the owner it builds stays off the frame that opens the
/// vault (R-MEM).
#[inline(never)]
fn user_slot<'s, U: UserSlots>(
    store: &'s mut TokenStore<U>,
    id: &str,
) -> Result<&'s mut Slot, NvError> {
    store.restore_user(id).map_err(|e| match e {
        // A good image that this store has too few user slots for: say
        // so, never fall back to the older image (it would then be saved
        // over the newer one, R-NV).
        TokenError::StoreFull => NvError::TooManyUsers,
        _ => NvError::Corrupt,
    })
}

/// The next user of an image's metadata, and what follows it.
fn next_user(bytes: &[u8]) -> Result<(NvUser<'_>, &[u8]), NvError> {
    postcard::take_from_bytes::<NvUser<'_>>(bytes).map_err(|_| NvError::Corrupt)
}

/// The secrets of an image's vault, in order, read where they are kept and
/// opened there.
struct Vault<'s, 'c> {
    src: &'s mut dyn SlotReader,
    slot: SlotId,
    /// Offset in the slot of the next secret.
    at: usize,
    /// Offset of the body's end.
    end: usize,
    index: usize,
    key: Option<&'c DeviceKey>,
    image: &'c Checked,
    random: &'c [u8; RANDOM_LEN],
}

impl Vault<'_, '_> {
    /// Reads the next secret (`len` octets) into `dst` and, if sealed,
    /// opens it there with the tag that follows it; a secret that does not
    /// open is wiped.
    fn open_into<const N: usize>(
        &mut self,
        dst: &mut SecretBuf<N>,
        len: u16,
    ) -> Result<(), NvError> {
        dst.fill_with(usize::from(len), NvError::Corrupt, |buf| {
            self.read_open(buf)
        })
    }

    /// Reads the next secret into `buf` (its length) and opens it there.
    /// Not generic, unlike [`Vault::open_into`]: one copy in flash.
    fn read_open(&mut self, buf: &mut [u8]) -> Result<(), NvError> {
        let tag_len = if self.key.is_some() { TAG_LEN } else { 0 };
        let tag_at = self.at.checked_add(buf.len()).ok_or(NvError::Corrupt)?;
        let next = tag_at.checked_add(tag_len).ok_or(NvError::Corrupt)?;
        if next > self.end {
            return Err(NvError::Corrupt);
        }
        read(self.src, self.slot, self.at, buf)?;
        let index = self.index;
        self.index = self.index.saturating_add(1);
        self.at = next;
        if let Some(key) = self.key {
            let mut tag = [0u8; TAG_LEN];
            read(self.src, self.slot, tag_at, &mut tag)?;
            let nonce = nonce(self.image.seq, index, self.random);
            let sealer = SecretSealer::new(key, &nonce, &aad(&self.image.prefix, index));
            if !sealer.open(buf, &tag) {
                return Err(NvError::SealOpenFailed);
            }
        }
        Ok(())
    }
}
