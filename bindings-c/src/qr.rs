//! The verification URI as a QR code bitmap for the panel's LCD (R-QR).

use mfp_oauth_core::qr::{self, QR_BITMAP_LEN, QR_BUFFER_LEN};

use crate::call;
use crate::MfpOauthStatus;

/// Octets of the work area `mfp_oauth_qr_encode` borrows: the encoder's
/// scratch space and its packed matrix, side by side.
pub const MFP_OAUTH_QR_WORK_LEN: usize = 1984;
/// Octets of the largest bitmap `mfp_oauth_qr_encode` writes (89 rows of
/// 12 octets): a buffer of this size always suffices.
pub const MFP_OAUTH_QR_BITMAP_LEN: usize = 1068;
/// Light modules to leave around the code when drawing it.
pub const MFP_OAUTH_QR_QUIET_ZONE: usize = 4;

// The header carries the numbers (cbindgen copies literals only); they
// must be the core's.
const _: () = assert!(MFP_OAUTH_QR_WORK_LEN == 2 * QR_BUFFER_LEN);
const _: () = assert!(MFP_OAUTH_QR_BITMAP_LEN == QR_BITMAP_LEN);
const _: () = assert!(MFP_OAUTH_QR_QUIET_ZONE == qr::QR_QUIET_ZONE);

/// Encodes `text` (`text_len` octets of UTF-8, no NUL needed; for a device
/// sign-in, the complete verification URI when the provider gave one, else
/// the verification URI) as a QR code and writes it to `out_bitmap` as a
/// bitmap for the panel.
///
/// The bitmap: `*out_size` rows of `*out_size` modules, from the top; each
/// row takes `(*out_size + 7) / 8` octets; the leftmost module of a row is
/// the most significant bit of its first octet; 1 is a dark module. Draw
/// each module as a square of pixels and leave a light margin of
/// `MFP_OAUTH_QR_QUIET_ZONE` modules around the code. Sizes run from 21 to
/// 89 modules (error correction level M, the smallest symbol that holds
/// the text).
///
/// `work` is scratch memory of `work_len` octets, at least
/// `MFP_OAUTH_QR_WORK_LEN`; its contents afterwards mean nothing. A
/// `bitmap_len` of `MFP_OAUTH_QR_BITMAP_LEN` always suffices; with less,
/// the call may return `MFP_OAUTH_STATUS_BUFFER_TOO_SMALL` with the octets
/// needed in `*out_bitmap_len`. On success `*out_bitmap_len` is the octets
/// written (rows times row length).
///
/// Statuses: `NULL_PARAMETER` for a NULL pointer (a NULL `text` with
/// `text_len` 0 is the empty text), `BUFFER_TOO_SMALL` for a short `work`
/// (nothing written) or bitmap, `INVALID_ARGUMENT` when `text` is not UTF-8
/// or too long for the largest code (more than about 560 octets).
///
/// Stack: a few hundred octets; no heap. Reentrant: nothing is shared.
///
/// # Safety
/// `text` NULL or valid for `text_len` octets of reads; `work` valid for
/// `work_len` octets of writes; `out_bitmap` valid for `bitmap_len` octets
/// of writes; `out_size` and `out_bitmap_len` valid for one write; the
/// three buffers do not overlap.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_qr_encode(
    text: *const u8,
    text_len: usize,
    work: *mut u8,
    work_len: usize,
    out_bitmap: *mut u8,
    bitmap_len: usize,
    out_size: *mut u32,
    out_bitmap_len: *mut usize,
) -> MfpOauthStatus {
    if text.is_null() && text_len != 0 {
        return MfpOauthStatus::NullParameter;
    }
    call::call((work, out_bitmap, out_size, out_bitmap_len), || {
        // SAFETY: the caller's contract, as documented above.
        unsafe {
            encode(
                text,
                text_len,
                work,
                work_len,
                out_bitmap,
                bitmap_len,
                out_size,
                out_bitmap_len,
            )
        }
    })
}

/// `mfp_oauth_qr_encode` with its pointers checked (only `text` may be
/// NULL, with `text_len` 0).
///
/// # Safety
/// As for `mfp_oauth_qr_encode`.
#[allow(clippy::too_many_arguments)]
unsafe fn encode(
    text: *const u8,
    text_len: usize,
    work: *mut u8,
    work_len: usize,
    out_bitmap: *mut u8,
    bitmap_len: usize,
    out_size: *mut u32,
    out_bitmap_len: *mut usize,
) -> MfpOauthStatus {
    let text: &[u8] = if text_len == 0 {
        &[]
    } else {
        // SAFETY: not NULL and valid for `text_len` octets of reads (the
        // caller's contract); only read while this call runs.
        unsafe { core::slice::from_raw_parts(text, text_len) }
    };
    let Ok(text) = core::str::from_utf8(text) else {
        return MfpOauthStatus::InvalidArgument;
    };
    if work_len < MFP_OAUTH_QR_WORK_LEN {
        // SAFETY: not NULL, valid for one write (contract).
        unsafe { out_bitmap_len.write(MFP_OAUTH_QR_WORK_LEN) };
        return MfpOauthStatus::BufferTooSmall;
    }
    // SAFETY: not NULL, valid for `work_len` octets of writes and not
    // overlapping the other buffers (contract); exclusive for this call.
    let work = unsafe { core::slice::from_raw_parts_mut(work, work_len) };
    // SAFETY: as for `work`, for `bitmap_len` octets.
    let bitmap = unsafe { core::slice::from_raw_parts_mut(out_bitmap, bitmap_len) };
    let (scratch, packed) = work.split_at_mut(QR_BUFFER_LEN);
    let matrix = match qr::encode(text, scratch, packed) {
        Ok(m) => m,
        Err(qr::QrError::BufferTooSmall { .. }) => return MfpOauthStatus::BufferTooSmall,
        Err(_) => return MfpOauthStatus::InvalidArgument,
    };
    match matrix.write_bitmap(bitmap) {
        Ok(len) => {
            let size = u32::try_from(matrix.size()).unwrap_or(0);
            // SAFETY: both not NULL and valid for one write (contract).
            unsafe {
                out_size.write(size);
                out_bitmap_len.write(len);
            }
            MfpOauthStatus::Ok
        }
        Err(qr::QrError::BufferTooSmall { needed }) => {
            // SAFETY: not NULL, valid for one write (contract).
            unsafe { out_bitmap_len.write(needed) };
            MfpOauthStatus::BufferTooSmall
        }
        Err(_) => MfpOauthStatus::InvalidArgument,
    }
}
