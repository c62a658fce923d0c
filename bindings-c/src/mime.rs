//! The message composer (R-MIME): a job's e-mail, text and scanned files,
//! produced as a stream of exactly known size, the same octets as the CLI's.
//!
//! The header text of these functions is written for C readers: the pointer
//! contract of each is in its "Pointers:" paragraph.
#![allow(clippy::missing_safety_doc)]

use mfp_oauth_core::mime::{self, Composer, Output};

use crate::buf::{bytes, bytes_mut, put};
use crate::call;
use crate::handle::{self, opaque};
use crate::smtp::MfpOauthStr;
use crate::MfpOauthStatus;

/// 64-bit words of `mfp_oauth_mime` (the composer needs under 768 octets on
/// a 64-bit host, less on a 32-bit MCU; 456 of them are its input buffer).
pub const MFP_OAUTH_MIME_WORDS: usize = 96;
/// Random octets `mfp_oauth_mime_begin` takes for each message.
pub const MFP_OAUTH_MIME_RANDOM_LEN: usize = 12;
/// The most file octets `NEED_INPUT` asks for at once.
pub const MFP_OAUTH_MIME_INPUT_BUF_LEN: usize = 456;
/// Attachments of one message, at most.
pub const MFP_OAUTH_MIME_MAX_ATTACHMENTS: usize = 32;
/// To addresses of one message, at most.
pub const MFP_OAUTH_MIME_MAX_TO: usize = 16;
/// Longest subject, in octets of UTF-8.
pub const MFP_OAUTH_MIME_MAX_SUBJECT_LEN: usize = 998;
/// Longest file name, in octets of UTF-8.
pub const MFP_OAUTH_MIME_MAX_FILE_NAME_LEN: usize = 255;

const _: () = assert!(MFP_OAUTH_MIME_RANDOM_LEN == mime::RANDOM_LEN);
const _: () = assert!(MFP_OAUTH_MIME_INPUT_BUF_LEN == mime::INPUT_BUF_LEN);
const _: () = assert!(MFP_OAUTH_MIME_MAX_ATTACHMENTS == mime::MAX_ATTACHMENTS);
const _: () = assert!(MFP_OAUTH_MIME_MAX_TO == mime::MAX_TO);
const _: () = assert!(MFP_OAUTH_MIME_MAX_SUBJECT_LEN == mime::MAX_SUBJECT_LEN);
const _: () = assert!(MFP_OAUTH_MIME_MAX_FILE_NAME_LEN == mime::MAX_FILE_NAME_LEN);

/// Storage for one message composer (`mfp_oauth_mime`), allocated by the
/// caller: static, on a task's stack, or inside the caller's own structs.
/// Its contents are private. It holds no secret and nothing to release:
/// `mfp_oauth_mime_destroy` only marks it unused.
#[repr(C)]
pub struct MfpOauthMime {
    _opaque: [u64; MFP_OAUTH_MIME_WORDS],
}

impl core::fmt::Debug for MfpOauthMime {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MfpOauthMime").finish_non_exhaustive()
    }
}

opaque!(
    MfpOauthMime,
    MFP_OAUTH_MIME_WORDS,
    Composer<CMessage>,
    0x6d66_706f_6d69_6d65
);

/// One attached file (`mfp_oauth_mime_attachment`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthMimeAttachment {
    /// File name shown to the recipient (UTF-8, 1 to 255 octets; non-ASCII
    /// names are encoded as RFC 2231 asks).
    pub name: MfpOauthStr,
    /// MIME type such as "application/pdf"; length 0 for the type by the
    /// name's extension (pdf, jpg, jpeg, png, tif, tiff, xps, oxps, docx,
    /// xlsx, pptx, txt; others are application/octet-stream).
    pub content_type: MfpOauthStr,
    /// The file's exact length in octets: what the caller will push.
    pub len: u64,
}

/// What the message says (`mfp_oauth_mime_message`). Every string is
/// `len` octets of UTF-8 at `ptr` (no NUL needed; `ptr` may be NULL when
/// `len` is 0).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthMimeMessage {
    /// The From address (`local@domain`); its domain is the Message-ID's.
    pub from: MfpOauthStr,
    /// The To addresses: `to_count` entries (0 to 16; NULL when 0).
    pub to: *const MfpOauthStr,
    /// Entries of `to`.
    pub to_count: usize,
    /// The subject (any UTF-8, at most 998 octets).
    pub subject: MfpOauthStr,
    /// The text part (any UTF-8; line ends become CRLF). A NULL `ptr` means
    /// no text part (a message without files always has one).
    pub text: MfpOauthStr,
    /// The files: `attachment_count` entries (0 to 32; NULL when 0).
    pub attachments: *const MfpOauthMimeAttachment,
    /// Entries of `attachments`.
    pub attachment_count: usize,
    /// Local part of the Message-ID (before the @), for example the job's
    /// number; length 0 for 24 hex digits from the random octets.
    pub message_id_local: MfpOauthStr,
}

/// What `mfp_oauth_mime_poll_output` did (`mfp_oauth_mime_output_kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthMimeOutputKind {
    /// `written` octets of the message are at the start of `out`: send them.
    Wrote = 1,
    /// Attachment `part` (counted from 0) needs its next octets: read at
    /// most `max` octets of that file and pass them to
    /// `mfp_oauth_mime_handle_input`; at the end of the file pass 0 octets.
    NeedInput = 2,
    /// The message is complete.
    Done = 3,
}

/// The result of `mfp_oauth_mime_poll_output` (`mfp_oauth_mime_output`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthMimeOutput {
    /// What happened.
    pub kind: MfpOauthMimeOutputKind,
    /// `WROTE`: octets written to `out`; otherwise 0.
    pub written: usize,
    /// `NEED_INPUT`: the attachment's index; otherwise 0.
    pub part: usize,
    /// `NEED_INPUT`: the most octets `mfp_oauth_mime_handle_input` takes
    /// now (at most `MFP_OAUTH_MIME_INPUT_BUF_LEN`); otherwise 0.
    pub max: usize,
}

/// The caller's message, read again on every call (the contract of
/// `mfp_oauth_mime_begin` keeps it valid and unchanged).
#[derive(Debug)]
pub struct CMessage {
    msg: *const MfpOauthMimeMessage,
}

/// The caller's string; "" for a NULL pointer or invalid UTF-8 (checked
/// before: see `check`).
///
/// # Safety
/// `s.ptr` is NULL or valid for `s.len` octets of reads for `'a`.
unsafe fn text_of<'a>(s: &MfpOauthStr) -> &'a str {
    if s.ptr.is_null() || s.len == 0 {
        return "";
    }
    // SAFETY: not NULL and valid for `len` octets (contract).
    let b = unsafe { core::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len) };
    core::str::from_utf8(b).unwrap_or("")
}

impl CMessage {
    fn get(&self) -> &MfpOauthMimeMessage {
        // SAFETY: `msg` was checked not NULL by `mfp_oauth_mime_begin` and
        // stays valid and unchanged while the composer lives (its contract).
        unsafe { &*self.msg }
    }

    /// Entry `i` of the caller's array `ptr[..count]`.
    ///
    /// # Safety
    /// `ptr` is NULL or valid for `count` entries for `'a`.
    unsafe fn entry<'a, T>(ptr: *const T, count: usize, i: usize) -> Option<&'a T> {
        if ptr.is_null() || i >= count {
            return None;
        }
        // SAFETY: `ptr` is valid for `count` entries (contract) and
        // `i < count`.
        Some(unsafe { &*ptr.add(i) })
    }
}

impl mime::Message for CMessage {
    fn from(&self) -> &str {
        // SAFETY: the message's strings stay valid (contract).
        unsafe { text_of(&self.get().from) }
    }
    fn to(&self, i: usize) -> Option<&str> {
        let m = self.get();
        // SAFETY: the arrays and strings of the message stay valid
        // (contract of `mfp_oauth_mime_begin`).
        unsafe { Self::entry(m.to, m.to_count, i).map(|s| text_of(s)) }
    }
    fn subject(&self) -> &str {
        // SAFETY: as for `from`.
        unsafe { text_of(&self.get().subject) }
    }
    fn text(&self) -> Option<&str> {
        let t = &self.get().text;
        // SAFETY: as for `from`.
        (!t.ptr.is_null()).then(|| unsafe { text_of(t) })
    }
    fn attachment(&self, i: usize) -> Option<mime::Attachment<'_>> {
        let m = self.get();
        // SAFETY: the arrays and strings of the message stay valid
        // (contract of `mfp_oauth_mime_begin`).
        unsafe {
            Self::entry(m.attachments, m.attachment_count, i).map(|a| mime::Attachment {
                name: text_of(&a.name),
                content_type: text_of(&a.content_type),
                len: a.len,
            })
        }
    }
    fn message_id_local(&self) -> &str {
        // SAFETY: as for `from`.
        unsafe { text_of(&self.get().message_id_local) }
    }
}

/// Every string of `m` is UTF-8 and every array not NULL when it has
/// entries; the counts within the limits.
///
/// # Safety
/// The pointers of `m` are valid for their lengths.
unsafe fn check(m: &MfpOauthMimeMessage) -> Result<(), MfpOauthStatus> {
    let utf8 = |s: &MfpOauthStr| -> Result<(), MfpOauthStatus> {
        if s.len == 0 {
            return Ok(());
        }
        // SAFETY: valid for `len` octets (contract).
        let b = unsafe { bytes(s.ptr.cast::<u8>(), s.len) }?;
        core::str::from_utf8(b)
            .map(|_| ())
            .map_err(|_| MfpOauthStatus::InvalidArgument)
    };
    utf8(&m.from)?;
    utf8(&m.subject)?;
    utf8(&m.text)?;
    utf8(&m.message_id_local)?;
    if m.to_count > mime::MAX_TO {
        return Err(MfpOauthStatus::CapacityExceeded);
    }
    if m.attachment_count > mime::MAX_ATTACHMENTS {
        return Err(MfpOauthStatus::CapacityExceeded);
    }
    if (m.to.is_null() && m.to_count > 0) || (m.attachments.is_null() && m.attachment_count > 0) {
        return Err(MfpOauthStatus::NullParameter);
    }
    for i in 0..m.to_count {
        // SAFETY: `to` is valid for `to_count` entries (contract).
        if let Some(s) = unsafe { CMessage::entry(m.to, m.to_count, i) } {
            utf8(s)?;
        }
    }
    for i in 0..m.attachment_count {
        // SAFETY: `attachments` is valid for `attachment_count` entries.
        if let Some(a) = unsafe { CMessage::entry(m.attachments, m.attachment_count, i) } {
            utf8(&a.name)?;
            utf8(&a.content_type)?;
        }
    }
    Ok(())
}

/// Starts composing the message `msg` in `mime` and writes its exact size
/// in octets to `*out_size`, before any octet is produced: announce it
/// with MAIL FROM ... SIZE= and use it for BDAT. Then call
/// `mfp_oauth_mime_poll_output` until it says `DONE`.
///
/// `date_unix` is the Date field's time in seconds since 1970-01-01
/// 00:00:00 UTC, or 0 for no Date field (the submission server adds one).
/// `random` points to `MFP_OAUTH_MIME_RANDOM_LEN` fresh random octets: the
/// MIME boundary is made from them (and the Message-ID when
/// `msg->message_id_local` is empty).
///
/// The message, as produced: a header (Date, From, To, Subject as RFC 2047
/// encoded words when not ASCII, Message-ID, MIME-Version), then a
/// multipart/mixed body with the text part and one part per file, every
/// part base64 in 76-column lines, CRLF line ends, no line starting with a
/// dot. It can be sent with BDAT as is, or through
/// `mfp_oauth_smtp_write_body`.
///
/// `mime` may hold an earlier composer: it is replaced.
///
/// Statuses: `NULL_PARAMETER`; `INVALID_ADDRESS` (From or a To address is
/// not a plain address); `CAPACITY_EXCEEDED` (more than
/// `MFP_OAUTH_MIME_MAX_TO` To addresses or `MFP_OAUTH_MIME_MAX_ATTACHMENTS`
/// files); `INVALID_ARGUMENT` (a string that is not UTF-8, a subject above
/// `MFP_OAUTH_MIME_MAX_SUBJECT_LEN` octets, an empty or too long file name,
/// a content type that is not type/subtype, a Message-ID local part with
/// characters a Message-ID cannot hold). On failure `mime` holds no
/// composer.
///
/// Stack: the composer (under 768 octets) is built on the stack, then
/// copied into `mime`. Reentrant: nothing is shared.
///
/// Pointers: `mime` valid for writes of `mfp_oauth_mime`; `msg`, the arrays
/// and the strings it points to valid for reads, and left valid and
/// unchanged until the composer is done, replaced or destroyed (the
/// composer reads them again on every call); `random` valid for
/// `MFP_OAUTH_MIME_RANDOM_LEN` octets; `out_size` valid for one write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mime_begin(
    mime: *mut MfpOauthMime,
    msg: *const MfpOauthMimeMessage,
    date_unix: u64,
    random: *const u8,
    out_size: *mut u64,
) -> MfpOauthStatus {
    call::call((mime, msg, random, out_size), || {
        // SAFETY: `mime` is valid for writes of the storage (contract); the
        // storage holds no value with drop glue that matters (a composer
        // owns nothing): zero it so that a failure leaves no live object.
        unsafe { core::ptr::write_bytes(mime.cast::<u8>(), 0, size_of::<MfpOauthMime>()) };
        // SAFETY: not NULL, valid for reads (contract).
        let m = unsafe { &*msg };
        // SAFETY: the message's pointers are valid for their lengths (contract).
        try_status!(unsafe { check(m) });
        // SAFETY: valid for `MFP_OAUTH_MIME_RANDOM_LEN` octets (contract).
        let r = try_status!(unsafe { bytes(random, mime::RANDOM_LEN) });
        let mut rand = [0u8; mime::RANDOM_LEN];
        rand.copy_from_slice(r);
        let date = (date_unix != 0).then_some(date_unix);
        let composer = match Composer::new(CMessage { msg }, date, &rand) {
            Ok(c) => c,
            Err(e) => return MfpOauthStatus::of(e),
        };
        let size = composer.size();
        // SAFETY: `mime` is valid for writes (contract); the closure writes
        // the whole value.
        let status = unsafe { handle::create(mime, |place| place.write(composer)) };
        if status != MfpOauthStatus::Ok {
            return status;
        }
        // SAFETY: not NULL, valid for one write (contract).
        unsafe { put(out_size, size) }
    })
}

/// Writes the exact size of the message `mime` composes to `*out_size`
/// (what `mfp_oauth_mime_begin` gave).
///
/// Statuses: `NULL_PARAMETER`; `WRONG_STATE` when `mime` holds no composer.
///
/// Pointers: `mime` valid for reads of `mfp_oauth_mime`; `out_size` valid
/// for one write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mime_size(
    mime: *const MfpOauthMime,
    out_size: *mut u64,
) -> MfpOauthStatus {
    let work = |c: &Composer<CMessage>| {
        // SAFETY: not NULL, valid for one write (contract).
        unsafe { put(out_size, c.size()) }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_ref(mime, out_size, work) }
}

/// Produces the next octets of the message into `out` (`out_len` octets,
/// any size from 1), or says which file's octets are needed, or that the
/// message is complete; the result is in `*out_result`:
///
///   WROTE       send out[0 .. written - 1], then call again;
///   NEED_INPUT  read at most `max` octets of attachment `part` and pass
///               them to mfp_oauth_mime_handle_input (0 octets at the end
///               of that file), then call again;
///   DONE        all size octets were produced: finish the body.
///
/// Statuses: `NULL_PARAMETER`; `WRONG_STATE` when `mime` holds no
/// composer; `INVALID_ARGUMENT` after a file turned out shorter or longer
/// than announced (the composer has failed: abandon the message, never
/// finish its body: close the connection, so that the server drops the
/// partial message).
///
/// Stack: a few hundred octets.
///
/// Pointers: `mime` valid for reads and writes of `mfp_oauth_mime`, and the
/// message given to `mfp_oauth_mime_begin` still valid and unchanged; `out`
/// valid for `out_len` octets of writes; `out_result` valid for one write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mime_poll_output(
    mime: *mut MfpOauthMime,
    out: *mut u8,
    out_len: usize,
    out_result: *mut MfpOauthMimeOutput,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe {
        call::with_mut(mime, out_result, |c| {
            poll_output(c, out, out_len, out_result)
        })
    }
}

/// `mfp_oauth_mime_poll_output` on the live composer.
///
/// # Safety
/// As for `mfp_oauth_mime_poll_output`, `out_result` not NULL.
unsafe fn poll_output(
    c: &mut Composer<CMessage>,
    out: *mut u8,
    out_len: usize,
    out_result: *mut MfpOauthMimeOutput,
) -> MfpOauthStatus {
    // SAFETY: valid for `out_len` octets of writes (contract).
    let out = try_status!(unsafe { bytes_mut(out, out_len) });
    if out.is_empty() {
        return MfpOauthStatus::BufferTooSmall;
    }
    let none = MfpOauthMimeOutput {
        kind: MfpOauthMimeOutputKind::Done,
        written: 0,
        part: 0,
        max: 0,
    };
    let result = match c.poll_output(out) {
        Ok(Output::Wrote(n)) => MfpOauthMimeOutput {
            kind: MfpOauthMimeOutputKind::Wrote,
            written: n,
            ..none
        },
        Ok(Output::NeedInput { part, max }) => MfpOauthMimeOutput {
            kind: MfpOauthMimeOutputKind::NeedInput,
            part,
            max,
            ..none
        },
        Ok(Output::Done) => none,
        Err(e) => return MfpOauthStatus::of(e),
    };
    // SAFETY: not NULL, valid for one write (contract).
    unsafe { put(out_result, result) }
}

/// Passes `input_len` octets of the file `NEED_INPUT` asked for (its next
/// octets, in order); `*out_consumed` of them were taken (all when
/// `input_len` is at most the `max` given): pass the rest again after
/// polling. Pass `input_len` 0 (`input` may be NULL) at the end of the file.
///
/// Statuses: `NULL_PARAMETER`; `WRONG_STATE` when no file is being read
/// (the composer goes on) or `mime` holds no composer; `INVALID_ARGUMENT`
/// when the file ended before its announced length or has octets past it
/// (the composer has failed: abandon the message).
///
/// Pointers: as for `mfp_oauth_mime_poll_output`; `input` NULL or valid for
/// `input_len` octets of reads; `out_consumed` valid for one write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mime_handle_input(
    mime: *mut MfpOauthMime,
    input: *const u8,
    input_len: usize,
    out_consumed: *mut usize,
) -> MfpOauthStatus {
    let work = |c: &mut Composer<CMessage>| {
        let input: &[u8] = if input_len == 0 {
            &[]
        } else {
            // SAFETY: valid for `input_len` octets (contract).
            try_status!(unsafe { bytes(input, input_len) })
        };
        match c.handle_input(input) {
            // SAFETY: not NULL, valid for one write (contract).
            Ok(n) => unsafe { put(out_consumed, n) },
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: the caller's contract.
    unsafe { call::with_mut(mime, out_consumed, work) }
}

/// Marks `mime` unused (it holds nothing to release). Destroying storage
/// that holds no composer is a no-op returning OK.
///
/// Pointers: `mime` NULL or valid for reads and writes of `mfp_oauth_mime`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mime_destroy(mime: *mut MfpOauthMime) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    call::call((), || unsafe { handle::destroy(mime) })
}
