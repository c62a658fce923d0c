//! Writing the image (R-NV).

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::Nonce;
use heapless::Vec;
use zeroize::Zeroize;

use super::records::{nv_settings, nv_slot, NvMeta, NvUser};
use super::{
    aad, image_crc, nonce, NvError, Seal, BODY_FIXED_LEN, FLAG_SEALED, FORMAT_VERSION, MAGIC,
    PREFIX_LEN, RANDOM_LEN, TAG_LEN,
};
use crate::config::Settings;
use crate::limits::MAX_USER_TOKENS;
use crate::token::TokenStore;

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
