//! The persistence image for flash (R-NV): written whole into one buffer
//! (`mfp_oauth_mailer_save`) or in pieces through a small one
//! (`mfp_oauth_mailer_save_begin` / `_save_next`, R-MEM: no buffer the size
//! of a slot), then confirmed (`mfp_oauth_mailer_image_written`).

use mfp_oauth_core::image::{self, ImageWriter, NvError, Seal, SlotId};

use super::{device_key, slot_c, MailerObj, MfpOauthMailer, MfpOauthNvSlot};
use super::{MFP_OAUTH_DEVICE_KEY_LEN, MFP_OAUTH_SEAL_RANDOM_LEN};
use crate::buf::{bytes, bytes_mut};
use crate::call;
use crate::MfpOauthStatus;

/// An image being written in pieces, and where it goes.
pub(super) struct PieceSave {
    writer: ImageWriter,
    slot: SlotId,
    sequence: u32,
}

const _: () = assert!(MFP_OAUTH_DEVICE_KEY_LEN == 32);

/// The randomness for a sealed image: 7 octets from `random` when `sealed`.
///
/// # Safety
/// `random` NULL or valid for 7 bytes.
unsafe fn seal_random(
    sealed: bool,
    random: *const u8,
) -> Result<[u8; MFP_OAUTH_SEAL_RANDOM_LEN], MfpOauthStatus> {
    if !sealed {
        return Ok([0; MFP_OAUTH_SEAL_RANDOM_LEN]);
    }
    // SAFETY: valid for 7 bytes (contract).
    let r = unsafe { bytes(random, MFP_OAUTH_SEAL_RANDOM_LEN) }?;
    <[u8; MFP_OAUTH_SEAL_RANDOM_LEN]>::try_from(r).map_err(|_| MfpOauthStatus::InvalidArgument)
}

/// `mfp_oauth_mailer_save` on the live mailer. Not inlined: in the entry
/// point's frame it cost 8 octets more stack at opt-level s and z than the
/// hand-written entry point did (R-MEM).
///
/// # Safety
/// As for `mfp_oauth_mailer_save`; the outputs not NULL.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
unsafe fn save(
    m: &mut MailerObj,
    key: *const u8,
    random: *const u8,
    out: *mut u8,
    out_len: usize,
    out_written: *mut usize,
    out_slot: *mut MfpOauthNvSlot,
    out_sequence: *mut u32,
) -> MfpOauthStatus {
    // SAFETY: valid for `out_len` bytes of writes (contract).
    let out = try_status!(unsafe { bytes_mut(out, out_len) });
    // SAFETY: NULL or 32 bytes (contract).
    let key = try_status!(unsafe { device_key(key) });
    // SAFETY: NULL or 7 bytes (contract).
    let random = try_status!(unsafe { seal_random(key.is_some(), random) });
    let seal = key.as_ref().map(|key| Seal { key, random });
    // A whole image supersedes one being written in pieces.
    m.piece_save = None;
    let (slot, seq) = m.cursor.next();
    match image::save(m.mailer.settings(), m.mailer.store(), seq, seal, out) {
        Ok(n) => {
            // SAFETY: the outputs are not NULL and valid (contract).
            unsafe {
                out_written.write(n);
                out_slot.write(slot_c(slot));
                out_sequence.write(seq);
            }
            MfpOauthStatus::Ok
        }
        Err(NvError::BufferTooSmall) => {
            // SAFETY: not NULL and valid (contract).
            unsafe { out_written.write(image::IMAGE_MAX_LEN) };
            MfpOauthStatus::BufferTooSmall
        }
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// Writes the persistence image (settings and refresh tokens, never access
/// tokens) into `out` (`MFP_OAUTH_NV_IMAGE_MAX_LEN` octets always suffice)
/// and says which slot to write it to and its sequence number. Write
/// `out[..*out_len]` to that slot, then call
/// `mfp_oauth_mailer_image_written`; until then the next save targets the
/// same slot, so the last good image is never overwritten. With `key` (32
/// octets) the refresh tokens are sealed, and `random` (7 fresh octets from
/// an RNG) is required. On error `out` is wiped. With little RAM, write the
/// image in pieces instead (`mfp_oauth_mailer_save_begin`).
///
/// # Safety
/// `mailer` as for `_destroy`; `key` NULL or 32 bytes; `random` NULL or 7
/// bytes; `out` NULL or valid for `out_len` bytes of writes; the outputs
/// NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_save(
    mailer: *mut MfpOauthMailer,
    key: *const u8,
    random: *const u8,
    out: *mut u8,
    out_len: usize,
    out_written: *mut usize,
    out_slot: *mut MfpOauthNvSlot,
    out_sequence: *mut u32,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        // SAFETY: the caller's contract for the pointers.
        unsafe {
            save(
                m,
                key,
                random,
                out,
                out_len,
                out_written,
                out_slot,
                out_sequence,
            )
        }
    };
    // SAFETY: the caller's contract for `mailer`.
    unsafe { call::with_mut(mailer, (out_written, out_slot, out_sequence), work) }
}

/// Starts writing the persistence image in pieces, through a buffer of any
/// size (a flash page; 64 octets are enough): no buffer the size of a slot
/// (`MFP_OAUTH_NV_IMAGE_MAX_LEN`) is needed. Says the image's length, the
/// slot to write it to and its sequence number; then call
/// `mfp_oauth_mailer_save_next` until it gives 0 octets, program each piece
/// at the offset it gives, and confirm with `mfp_oauth_mailer_image_written`
/// (refused until the last piece is out). `key` and `random` as for
/// `mfp_oauth_mailer_save`. A new begin (or a whole save) abandons an image
/// not finished.
///
/// # Safety
/// `mailer` as for `_destroy`; `key` NULL or 32 bytes; `random` NULL or 7
/// bytes; the outputs NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_save_begin(
    mailer: *mut MfpOauthMailer,
    key: *const u8,
    random: *const u8,
    out_image_len: *mut usize,
    out_slot: *mut MfpOauthNvSlot,
    out_sequence: *mut u32,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        m.piece_save = None;
        // SAFETY: NULL or 32 bytes (contract).
        let key = try_status!(unsafe { device_key(key) });
        // SAFETY: NULL or 7 bytes (contract).
        let random = try_status!(unsafe { seal_random(key.is_some(), random) });
        let seal = key.as_ref().map(|key| Seal { key, random });
        let (slot, sequence) = m.cursor.next();
        match ImageWriter::new(m.mailer.settings(), m.mailer.store(), sequence, seal) {
            Ok(writer) => {
                let len = writer.len();
                m.piece_save = Some(PieceSave {
                    writer,
                    slot,
                    sequence,
                });
                // SAFETY: the outputs are not NULL and valid (contract).
                unsafe {
                    out_image_len.write(len);
                    out_slot.write(slot_c(slot));
                    out_sequence.write(sequence);
                }
                MfpOauthStatus::Ok
            }
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract for `mailer` and the outputs.
    unsafe { call::with_mut(mailer, (out_image_len, out_slot, out_sequence), work) }
}

/// The next piece of the image begun with `mfp_oauth_mailer_save_begin`,
/// into `out` (`out_len` octets, not 0): program `out[..*out_written]` at
/// offset `*out_offset` of the slot. `*out_written` is `out_len` but for
/// the last piece, and 0 once the image is complete. If the settings or
/// tokens changed since the begin (a rotated refresh token, say), the last
/// piece fails with `MFP_OAUTH_STATUS_NV_IMAGE_CHANGED` (E512): that image
/// is incomplete, do not confirm it; the change asked for a new image, and
/// the other slot still holds the last good one. `WRONG_STATE` without a
/// begin. On error `out` is wiped.
///
/// # Safety
/// `mailer` as for `_destroy`; `out` NULL or valid for `out_len` bytes of
/// writes; the outputs NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_save_next(
    mailer: *mut MfpOauthMailer,
    out: *mut u8,
    out_len: usize,
    out_offset: *mut usize,
    out_written: *mut usize,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        // SAFETY: valid for `out_len` bytes of writes (contract).
        let out = try_status!(unsafe { bytes_mut(out, out_len) });
        let Some(piece) = m.piece_save.as_mut() else {
            return MfpOauthStatus::WrongState;
        };
        let offset = piece.writer.written();
        match piece
            .writer
            .next_chunk(m.mailer.settings(), m.mailer.store(), out)
        {
            Ok(n) => {
                // SAFETY: the outputs are not NULL and valid (contract).
                unsafe {
                    out_offset.write(offset);
                    out_written.write(n);
                }
                MfpOauthStatus::Ok
            }
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract for `mailer` and the outputs.
    unsafe { call::with_mut(mailer, (out_offset, out_written), work) }
}

/// The image from `mfp_oauth_mailer_save` or `_save_begin` (`slot`,
/// `sequence`) is now in flash and verified: the next image goes to the
/// other slot. An image written in pieces is confirmed only once
/// `mfp_oauth_mailer_save_next` has given its last piece
/// (`MFP_OAUTH_STATUS_WRONG_STATE` before, or after E512).
///
/// # Safety
/// As for `mfp_oauth_mailer_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_image_written(
    mailer: *mut MfpOauthMailer,
    slot: u32,
    sequence: u32,
) -> MfpOauthStatus {
    let work = |m: &mut MailerObj| {
        let slot = match slot {
            0 => SlotId::A,
            1 => SlotId::B,
            _ => return MfpOauthStatus::InvalidArgument,
        };
        if let Some(piece) = &m.piece_save {
            if (piece.slot, piece.sequence) == (slot, sequence) && !piece.writer.is_done() {
                return MfpOauthStatus::WrongState;
            }
        }
        m.piece_save = None;
        m.cursor.written(slot, sequence);
        MfpOauthStatus::Ok
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mailer, (), work) }
}
