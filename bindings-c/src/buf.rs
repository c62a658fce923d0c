//! Writing results into memory the C caller lent.

use core::ffi::c_char;

use crate::MfpOauthStatus;

/// `?` for functions that return a status: the `Err` status is returned.
macro_rules! try_status {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(status) => return status,
        }
    };
}

/// Writes `value` to `*out` if `out` is not NULL.
///
/// # Safety
/// `out` is NULL or valid for a write of `T` (caller's contract, documented on
/// every exported function).
pub(crate) unsafe fn put<T>(out: *mut T, value: T) -> MfpOauthStatus {
    if out.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: not NULL, and valid for writes by the caller's contract;
    // `write` does not read or drop the old (possibly uninitialised) value.
    unsafe { out.write(value) };
    MfpOauthStatus::Ok
}

/// Copies `text` and a terminating NUL into `buf[..buf_len]`.
///
/// On success `*out_len` is the length of `text` (without the NUL). When the
/// buffer is too short nothing is written to `buf`, `*out_len` is the
/// `buf_len` needed (text plus NUL) and the status is `BUFFER_TOO_SMALL`.
///
/// # Safety
/// `buf` is NULL or valid for `buf_len` bytes of writes; `out_len` is NULL or
/// valid for a write.
pub(crate) unsafe fn put_c_string(
    text: &str,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> MfpOauthStatus {
    let copy = |out: &mut [u8]| {
        for (to, &from) in out.iter_mut().zip(text.as_bytes()) {
            *to = from;
        }
    };
    // SAFETY: forwarded contract.
    unsafe { put_c_string_with(text.len(), copy, buf, buf_len, out_len) }
}

/// As [`put_c_string`], for a text of `len` octets that `fill` writes into
/// the slice it is given (exactly `len` octets; the NUL follows).
///
/// # Safety
/// As for [`put_c_string`].
pub(crate) unsafe fn put_c_string_with(
    len: usize,
    fill: impl FnOnce(&mut [u8]),
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> MfpOauthStatus {
    if buf.is_null() || out_len.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    let needed = len.saturating_add(1);
    if buf_len < needed {
        // SAFETY: `out_len` is not NULL and valid for a write (contract).
        unsafe { out_len.write(needed) };
        return MfpOauthStatus::BufferTooSmall;
    }
    // SAFETY: `buf` is not NULL and valid for `buf_len >= needed` bytes of
    // writes, unaliased during the call (contract); the slice ends with it.
    let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), needed) };
    if let Some((text, [nul, ..])) = out.split_at_mut_checked(len) {
        fill(text);
        *nul = 0;
    }
    // SAFETY: `out_len` is not NULL and valid for a write (contract).
    unsafe { out_len.write(len) };
    MfpOauthStatus::Ok
}

/// The caller's `len` bytes at `ptr`, borrowed for the call.
///
/// # Safety
/// `ptr` is NULL or valid for `len` bytes of reads that nothing writes
/// during the call.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], MfpOauthStatus> {
    if ptr.is_null() {
        return Err(MfpOauthStatus::NullParameter);
    }
    // SAFETY: not NULL and valid for `len` bytes (caller's contract); the
    // slice does not outlive the call.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// The caller's text (`len` bytes of UTF-8, no NUL needed), for the call.
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn text<'a>(ptr: *const c_char, len: usize) -> Result<&'a str, MfpOauthStatus> {
    // SAFETY: forwarded contract.
    let b = unsafe { bytes(ptr.cast::<u8>(), len) }?;
    core::str::from_utf8(b).map_err(|_| MfpOauthStatus::InvalidArgument)
}

/// The caller's writable `len` bytes at `ptr`, for the call.
///
/// # Safety
/// `ptr` is NULL or valid for `len` bytes of writes, not aliased during the
/// call.
pub(crate) unsafe fn bytes_mut<'a>(
    ptr: *mut u8,
    len: usize,
) -> Result<&'a mut [u8], MfpOauthStatus> {
    if ptr.is_null() {
        return Err(MfpOauthStatus::NullParameter);
    }
    // SAFETY: not NULL, valid for `len` bytes of writes and unaliased
    // (caller's contract); the slice does not outlive the call.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}
