//! The mailer (`mfp_oauth_mailer`): the facade the firmware drives for each
//! job — settings, sender policy, token store, refresh, SMTP session — and
//! the persistence image (R-POL, R-TOK, R-NV).
//!
//! For each job `mfp_oauth_mailer_submit` returns a plan, the one thing the
//! firmware must do next; each report (`_auth_succeeded`, `_connected`, ...)
//! returns the next plan. During `SESSION` the firmware pumps the SMTP
//! session with `mfp_oauth_mailer_smtp_*` and drains
//! `mfp_oauth_mailer_poll_event` (SMTP events, plan changes, and store
//! events that say when to write the image to flash).
//!
//! This file: the storage and the mailer's life (create, load, destroy).
//! The others, one purpose each: `image_save.rs` (the image for flash,
//! whole or in pieces), `settings.rs` (apply and read back the settings), `plan.rs` (jobs and their plans), `auth.rs` (the
//! token flows a plan asks for), `steps.rs` (the steps to drain),
//! `session.rs` (the SMTP session's pump), `tokens.rs` (the token store as
//! the panel shows it).

use core::ffi::c_char;

use mfp_oauth_core::config::Violations;
use mfp_oauth_core::diag::Id;
use mfp_oauth_core::image::{self, DeviceKey, LoadReport, NvCursor, SlotId, SlotState};
use mfp_oauth_core::token::WallTime;

use crate::buf::{bytes, put};
use crate::call;
use crate::handle::{self, opaque, zeroable};
use crate::settings::{self as csettings, MfpOauthSettings};
use crate::{MfpOauthStatus, MFP_OAUTH_ADDRESS_BUF_LEN, MFP_OAUTH_HOST_BUF_LEN};
use crate::{MFP_OAUTH_REPLY_TEXT_BUF_LEN, MFP_OAUTH_USER_ID_BUF_LEN};

mod auth;
mod handed;
mod image_save;
mod plan;
mod session;
mod settings;
mod shared_session;
mod steps;
mod tokens;
mod users;

pub use auth::*;
pub use handed::*;
use image_save::PieceSave;
pub use image_save::*;
pub use plan::*;
pub use session::*;
pub use settings::*;
pub use steps::*;
pub use tokens::*;
pub use users::{MfpOauthUserSlot, MFP_OAUTH_MAX_USER_SLOTS, MFP_OAUTH_USER_SLOT_WORDS};

/// The core's mailer with its user slots in the storage the firmware
/// lends (`mfp_oauth_user_slot`), and one place for its SMTP or API
/// session (`shared_session.rs`).
pub(crate) type LentMailer =
    mfp_oauth_core::mailer::Mailer<users::LentSlots, shared_session::SharedSession>;

/// The mailer and where its next image goes. New settings are staged in
/// the caller's `mfp_oauth_settings_draft`, not here (R-MEM).
pub(crate) struct MailerObj {
    mailer: LentMailer,
    cursor: NvCursor,
    /// The image being written in pieces (`mfp_oauth_mailer_save_begin`),
    /// with its slot and sequence number.
    piece_save: Option<PieceSave>,
}

impl Drop for MailerObj {
    /// The users' slots are the firmware's storage, not the mailer's: the
    /// store lets go of them (their secrets zeroized) and every octet is
    /// wiped before the mailer's own storage is (`_destroy`, or a create
    /// or load that failed).
    fn drop(&mut self) {
        users::wipe(self.mailer.set_user_slots(None));
    }
}

/// 64-bit words of `mfp_oauth_mailer` storage on a 64-bit target: 25,280
/// octets, alignment 8 (the token store without its users' slots, which
/// the firmware lends apart, `mfp_oauth_user_slot`, is 12 KB with its two
/// cached access tokens packed in 6 KiB; the settings in force 4.4 KB,
/// new ones being checked in the caller's `mfp_oauth_settings_draft`; one
/// place of 6.5 KB for the job's session: the SMTP session, with the job's envelope,
/// its recipients packed, and no copy of the token, or the mail API
/// session, with the upload-session place: its 2 KB upload URL, which is
/// also a Gmail upload's session URI, and the large attachments' layout).
#[cfg(target_pointer_width = "64")]
pub const MFP_OAUTH_MAILER_WORDS: usize = 3160;
/// 64-bit words of `mfp_oauth_mailer` storage on a 32-bit target (a
/// Cortex-M): 24,784 octets, alignment 8 (as above, with 4-octet lengths
/// and pointers).
#[cfg(not(target_pointer_width = "64"))]
pub const MFP_OAUTH_MAILER_WORDS: usize = 3098;

/// Octets of one NV slot (and of the buffer `mfp_oauth_mailer_save` needs).
pub const MFP_OAUTH_NV_IMAGE_MAX_LEN: usize = 26238;
const _: () = assert!(MFP_OAUTH_NV_IMAGE_MAX_LEN == image::IMAGE_MAX_LEN);

/// Octets of a device key (`mfp_oauth_mailer_save` / `_load`).
pub const MFP_OAUTH_DEVICE_KEY_LEN: usize = 32;
/// Octets of fresh randomness for each sealed image.
pub const MFP_OAUTH_SEAL_RANDOM_LEN: usize = 7;
const _: () = assert!(MFP_OAUTH_SEAL_RANDOM_LEN == image::RANDOM_LEN);

/// Storage for the mailer (`mfp_oauth_mailer`), allocated by the caller,
/// usually static. It holds the settings, the administrator's refresh
/// token (the users' are in the `mfp_oauth_user_slot`s lent with it), the
/// cached access tokens, and the running SMTP session; destroy wipes them.
#[repr(C)]
pub struct MfpOauthMailer {
    _opaque: [u64; MFP_OAUTH_MAILER_WORDS],
}

impl core::fmt::Debug for MfpOauthMailer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MfpOauthMailer").finish_non_exhaustive()
    }
}

opaque!(
    MfpOauthMailer,
    MFP_OAUTH_MAILER_WORDS,
    MailerObj,
    0x6d66_706f_6d61_696c,
    tight
);
zeroable!(MailerObj);

fn wall(wall_s: u64) -> Option<WallTime> {
    (wall_s != 0).then_some(WallTime(wall_s))
}

fn diag_of(diag: u32) -> Result<Id, MfpOauthStatus> {
    u16::try_from(diag)
        .ok()
        .and_then(Id::from_number)
        .ok_or(MfpOauthStatus::InvalidArgument)
}

/// Copies `s` into a fixed NUL-terminated C field (cut to fit).
fn copy_str<const N: usize>(dst: &mut [c_char; N], s: &str) {
    for (d, b) in dst.iter_mut().zip(s.bytes().take(N.saturating_sub(1))) {
        *d = b as c_char;
    }
}

/// Creates a mailer in `mailer` with `settings` (validated: a broken rule
/// is reported as its diagnostic, e.g. `MFP_OAUTH_STATUS_VLAN_ON_NETWORK2`)
/// and an empty token store whose users' tokens go into the `user_count`
/// slots at `users` (one per user kept signed in at once, at most
/// `MFP_OAUTH_MAX_USER_SLOTS`; `NULL, 0` for none: then only the
/// administrator's and the public user's tokens are kept, and a user's
/// sign-in is `MFP_OAUTH_STATUS_TOKEN_STORE_FULL`): the first start, or after
/// `mfp_oauth_mailer_load` reported `NV_EMPTY` (and only then: see the
/// power-on sequence at `mfp_oauth_mailer_load`). Storage that holds a live
/// mailer is refused with `MFP_OAUTH_STATUS_WRONG_STATE` and left as it
/// is: destroy it first (zeroed or destroyed storage is not live). Not
/// thread-safe or ISR-safe, like every `mfp_oauth_mailer_*` call: one task
/// drives the mailer.
///
/// # Safety
/// `mailer` NULL or valid for reads and writes of `mfp_oauth_mailer`;
/// `users` NULL or valid for reads and writes of `user_count` slots, not
/// used by anything else until `mfp_oauth_mailer_destroy`; `settings` NULL
/// or valid with its strings valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_create(
    mailer: *mut MfpOauthMailer,
    users: *mut MfpOauthUserSlot,
    user_count: usize,
    settings: *const MfpOauthSettings,
) -> MfpOauthStatus {
    call::call(mailer, || {
        // SAFETY: not NULL, valid for reads (contract).
        if unsafe { handle::is_live(mailer) } {
            return MfpOauthStatus::WrongState;
        }
        if settings.is_null() {
            return MfpOauthStatus::NullParameter;
        }
        // SAFETY: not NULL and valid (contract).
        let c = unsafe { &*settings };
        // SAFETY: NULL or valid for `user_count` slots, ours until destroy
        // (contract).
        let lent = try_status!(unsafe { users::lend(users, user_count) });
        // Built in place (R-MEM): the storage is zeroed, then the mailer is
        // reset and its settings written straight from `c`; nothing the size
        // of the mailer or of its settings passes through the stack.
        let init = |obj: &mut MailerObj| {
            obj.cursor = NvCursor::new();
            obj.piece_save = None;
            // The zeroed storage kept no slot: `None` comes back.
            let _none = obj.mailer.set_user_slots(lent);
            let filled = obj.mailer.reset_with(|s| {
                // SAFETY: the strings of `c` are valid (contract).
                unsafe { csettings::fill(c, s, None) }.map_err(Refused)
            });
            match filled {
                Ok(()) => MfpOauthStatus::Ok,
                Err(Refused(status)) => status,
            }
        };
        // SAFETY: valid for writes (contract) and holding no live mailer
        // (checked above).
        unsafe { handle::create_zeroed(mailer, init) }
    })
}

/// Why settings were refused: a conversion error or the first rule broken.
struct Refused(MfpOauthStatus);

impl From<Violations> for Refused {
    fn from(v: Violations) -> Self {
        Refused(
            v.first()
                .map_or(MfpOauthStatus::InvalidArgument, MfpOauthStatus::of),
        )
    }
}

/// Which NV slot (`mfp_oauth_nv_slot`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthNvSlot {
    /// Slot A.
    A = 0,
    /// Slot B.
    B = 1,
}

/// What a slot holds (`mfp_oauth_nv_slot_state`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthNvSlotState {
    /// Erased.
    Empty = 0,
    /// Damaged (a power cut during its write; nothing was lost).
    Corrupt = 1,
    /// A good image.
    Valid = 2,
}

/// The outcome of `mfp_oauth_mailer_load` (`mfp_oauth_nv_report`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfpOauthNvReport {
    /// The slot loaded.
    pub slot: MfpOauthNvSlot,
    /// Its sequence number.
    pub sequence: u32,
    /// What the other slot holds.
    pub other: MfpOauthNvSlotState,
}

fn slot_c(s: SlotId) -> MfpOauthNvSlot {
    match s {
        SlotId::A => MfpOauthNvSlot::A,
        SlotId::B => MfpOauthNvSlot::B,
    }
}

fn report_c(report: &LoadReport) -> MfpOauthNvReport {
    MfpOauthNvReport {
        slot: slot_c(report.slot),
        sequence: report.sequence,
        other: match report.other {
            SlotState::Empty => MfpOauthNvSlotState::Empty,
            SlotState::Corrupt => MfpOauthNvSlotState::Corrupt,
            _ => MfpOauthNvSlotState::Valid,
        },
    }
}

/// # Safety
/// `key` NULL or valid for 32 bytes.
unsafe fn device_key(key: *const u8) -> Result<Option<DeviceKey>, MfpOauthStatus> {
    if key.is_null() {
        return Ok(None);
    }
    // SAFETY: valid for 32 bytes (contract).
    let k = unsafe { bytes(key, MFP_OAUTH_DEVICE_KEY_LEN) }?;
    let k: &[u8; 32] = k.try_into().map_err(|_| MfpOauthStatus::InvalidArgument)?;
    Ok(Some(DeviceKey::new(k)))
}

/// An NV slot's octets; `NULL, 0` is an erased slot (empty).
///
/// # Safety
/// `ptr` NULL or valid for `len` bytes of reads.
unsafe fn slot_bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], MfpOauthStatus> {
    if ptr.is_null() && len == 0 {
        return Ok(&[]);
    }
    // SAFETY: forwarded contract.
    unsafe { bytes(ptr, len) }
}

/// Power-on: creates the mailer in `mailer` from the newest good image of
/// the two NV slots (settings and refresh tokens; no access token survives
/// a power cycle, R-TOK-1), the users' tokens in the `user_count` slots at
/// `users` (as for `mfp_oauth_mailer_create`). `key` is the 32-octet
/// device key if the images are sealed, else NULL. An erased slot may be
/// passed as `NULL, 0`, as a zero length, or as its octets (all 0xFF): each
/// reads as empty.
/// `NV_EMPTY` when both slots are empty (the first start),
/// `NV_CORRUPT` / `NV_NEWER_FORMAT` / `NV_SEAL_OPEN_FAILED` otherwise, and
/// `NV_TOO_MANY_USERS` when the newest image holds more users than slots
/// were lent (the older image is not loaded in its place); on error
/// nothing is created. Storage that holds a live mailer is refused
/// with `MFP_OAUTH_STATUS_WRONG_STATE` and left as it is (destroy it first).
///
/// The safe power-on sequence:
///
/// 1. `mfp_oauth_mailer_load` with both slots as read from flash.
/// 2. `MFP_OAUTH_STATUS_OK`: running (read `out_report`).
/// 3. `MFP_OAUTH_STATUS_NV_EMPTY`, and only that status: a first start;
///    `mfp_oauth_mailer_create` with the factory settings.
/// 4. Any other status: do NOT create a fresh mailer and save its image.
///    The next save erases the other slot, and the refresh token goes with
///    it (the administrator would have to sign in again). Log the status,
///    show it (`mfp_oauth_diag_message`), keep both slots untouched, and
///    retry after a fix (the right device key, a firmware that reads this
///    image format), or let the administrator choose a factory reset
///    (destroy, create, save). `NV_CORRUPT` with no good image in either
///    slot can also follow a power cut during the very first write: the
///    same rule holds, the administrator decides.
///
/// # Safety
/// `mailer` NULL or valid for reads and writes; `users` as for
/// `mfp_oauth_mailer_create`; `slot_a`/`slot_b` NULL or valid for their
/// lengths; `key` NULL or valid for 32 bytes; `out_report` NULL or valid
/// for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_load(
    mailer: *mut MfpOauthMailer,
    users: *mut MfpOauthUserSlot,
    user_count: usize,
    slot_a: *const u8,
    slot_a_len: usize,
    slot_b: *const u8,
    slot_b_len: usize,
    key: *const u8,
    out_report: *mut MfpOauthNvReport,
) -> MfpOauthStatus {
    call::call((mailer, out_report), || {
        // SAFETY: not NULL, valid for reads (contract).
        if unsafe { handle::is_live(mailer) } {
            return MfpOauthStatus::WrongState;
        }
        // SAFETY: valid for their lengths (contract).
        let a = try_status!(unsafe { slot_bytes(slot_a, slot_a_len) });
        // SAFETY: as above.
        let b = try_status!(unsafe { slot_bytes(slot_b, slot_b_len) });
        // SAFETY: NULL or 32 bytes (contract).
        let key = try_status!(unsafe { device_key(key) });
        // SAFETY: NULL or valid for `user_count` slots, ours until destroy
        // (contract).
        let lent = try_status!(unsafe { users::lend(users, user_count) });
        // SAFETY: the caller's contract for `mailer` and `out_report`,
        // checked not NULL; no live mailer (checked above).
        unsafe {
            power_on(mailer, out_report, lent, |m| {
                m.load_into(a, b, key.as_ref())
            })
        }
    })
}

/// Builds the mailer in `mailer` in place from an image (R-MEM): the
/// storage is zeroed, then `load` decodes the image straight into the
/// mailer's settings and token store; no access token survives the power
/// cycle (R-TOK-1). The report goes to `out_report`.
///
/// # Safety
/// `mailer` valid for writes and holding no live mailer; `out_report`
/// valid for a write.
unsafe fn power_on(
    mailer: *mut MfpOauthMailer,
    out_report: *mut MfpOauthNvReport,
    lent: users::LentSlots,
    load: impl FnOnce(&mut LentMailer) -> Result<LoadReport, image::NvError>,
) -> MfpOauthStatus {
    let mut r = None;
    let init = |obj: &mut MailerObj| {
        // The zeroed storage kept no slot: `None` comes back.
        let _none = obj.mailer.set_user_slots(lent);
        match load(&mut obj.mailer) {
            Ok(report) => {
                obj.cursor = report.cursor;
                r = Some(report);
                MfpOauthStatus::Ok
            }
            Err(e) => MfpOauthStatus::of(e),
        }
    };
    // SAFETY: valid for writes, no live mailer (contract).
    let status = unsafe { handle::create_zeroed(mailer, init) };
    match r {
        Some(report) if status == MfpOauthStatus::Ok => {
            // SAFETY: not NULL and valid (contract).
            unsafe { put(out_report, report_c(&report)) }
        }
        _ => status,
    }
}

/// Reads the NV slots for `mfp_oauth_mailer_load_from`
/// (`mfp_oauth_slot_reader`): the firmware's flash driver, for slots that
/// are not memory-mapped.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthSlotReader {
    /// Reads `len` octets of slot `slot` (0 = A, 1 = B) from `offset` into
    /// `out`; returns 0 on success, anything else for a read fault (the
    /// load then fails with `MFP_OAUTH_STATUS_STORAGE_FAULT`). Called only
    /// within the slot's length, with `len` at most the scratch's length,
    /// a refresh token's or 64.
    pub read: Option<
        unsafe extern "C" fn(
            ctx: *mut core::ffi::c_void,
            slot: u32,
            offset: usize,
            out: *mut u8,
            len: usize,
        ) -> i32,
    >,
    /// Passed to `read` as it is.
    pub ctx: *mut core::ffi::c_void,
    /// Octets of slot A that may be read (its size in flash; 0 for none).
    pub slot_a_len: usize,
    /// Octets of slot B that may be read.
    pub slot_b_len: usize,
}

/// The firmware's reader as the core reads slots.
struct CReader<'r> {
    reader: &'r MfpOauthSlotReader,
}

impl image::SlotReader for CReader<'_> {
    fn slot_len(&self, slot: SlotId) -> usize {
        match slot {
            SlotId::A => self.reader.slot_a_len,
            SlotId::B => self.reader.slot_b_len,
        }
    }

    fn read(
        &mut self,
        slot: SlotId,
        offset: usize,
        out: &mut [u8],
    ) -> Result<(), image::ReadFault> {
        let read = self.reader.read.ok_or(image::ReadFault)?;
        let slot = match slot {
            SlotId::A => 0,
            SlotId::B => 1,
        };
        // SAFETY: `read` is the firmware's function, valid to call with its
        // `ctx` (contract of `mfp_oauth_mailer_load_from`); `out` is valid
        // for `out.len()` bytes of writes, and it writes no more.
        let rc = unsafe { read(self.reader.ctx, slot, offset, out.as_mut_ptr(), out.len()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(image::ReadFault)
        }
    }
}

/// Octets of the scratch buffer that always suffices for
/// `mfp_oauth_mailer_load_from`: an image's records (settings and each
/// token's metadata, no secret) with every user slot in use and every
/// setting at its longest. A typical image's take a few hundred octets.
pub const MFP_OAUTH_NV_RECORDS_MAX_LEN: usize = 7346;
const _: () = assert!(MFP_OAUTH_NV_RECORDS_MAX_LEN == image::RECORDS_MAX_LEN);

/// `mfp_oauth_mailer_load` for slots that are not memory-mapped: the slots
/// are read a piece at a time through `reader` (no buffer the size of a
/// slot, `MFP_OAUTH_NV_IMAGE_MAX_LEN`), checked 64 octets at a time; the
/// image's records (no secret) are read into `scratch`, and each refresh
/// token straight into its place in the mailer. `scratch` may be any
/// buffer free at power-on, such as the `mfp_oauth_token_client` storage
/// before its client is created;
/// `MFP_OAUTH_NV_RECORDS_MAX_LEN` octets always suffice, and a shorter one
/// too small for the newest image gives `MFP_OAUTH_STATUS_BUFFER_TOO_SMALL`
/// (the older image is then not loaded instead). A read fault gives
/// `MFP_OAUTH_STATUS_STORAGE_FAULT`. Otherwise as `mfp_oauth_mailer_load`,
/// and the same power-on sequence applies: only `NV_EMPTY` is a first
/// start.
///
/// # Safety
/// `mailer` NULL or valid for reads and writes; `users` as for
/// `mfp_oauth_mailer_create`; `reader` NULL or valid, its `read` callable
/// with its `ctx` and writing at most `len` octets to `out`; `scratch` NULL
/// or valid for `scratch_len` bytes of writes; `key` NULL or valid for 32
/// bytes; `out_report` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_load_from(
    mailer: *mut MfpOauthMailer,
    users: *mut MfpOauthUserSlot,
    user_count: usize,
    reader: *const MfpOauthSlotReader,
    scratch: *mut u8,
    scratch_len: usize,
    key: *const u8,
    out_report: *mut MfpOauthNvReport,
) -> MfpOauthStatus {
    call::call((mailer, reader, out_report), || {
        // SAFETY: not NULL, valid for reads (contract).
        if unsafe { handle::is_live(mailer) } {
            return MfpOauthStatus::WrongState;
        }
        // SAFETY: not NULL and valid (contract).
        let reader = unsafe { &*reader };
        if reader.read.is_none() {
            return MfpOauthStatus::NullParameter;
        }
        // SAFETY: valid for `scratch_len` bytes of writes (contract).
        let scratch = try_status!(unsafe { crate::buf::bytes_mut(scratch, scratch_len) });
        // SAFETY: NULL or 32 bytes (contract).
        let key = try_status!(unsafe { device_key(key) });
        // SAFETY: NULL or valid for `user_count` slots, ours until destroy
        // (contract).
        let lent = try_status!(unsafe { users::lend(users, user_count) });
        let mut source = CReader { reader };
        let load = |m: &mut LentMailer| m.load_from(&mut source, scratch, key.as_ref());
        // SAFETY: the caller's contract for `mailer` and `out_report`,
        // checked not NULL; no live mailer (checked above).
        unsafe { power_on(mailer, out_report, lent, load) }
    })
}

/// Wipes every token and the settings, and every byte of the storage.
/// Destroying storage that holds no mailer does nothing.
///
/// # Safety
/// `mailer` NULL or valid for reads and writes of `mfp_oauth_mailer`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_destroy(mailer: *mut MfpOauthMailer) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    call::call((), || unsafe { handle::destroy(mailer) })
}

const _: () =
    assert!(MFP_OAUTH_REPLY_TEXT_BUF_LEN == mfp_oauth_core::limits::MAX_REPLY_TEXT_LEN + 1);
const _: () = assert!(MFP_OAUTH_USER_ID_BUF_LEN == mfp_oauth_core::limits::MAX_USER_ID_LEN + 1);
const _: () = assert!(MFP_OAUTH_ADDRESS_BUF_LEN == mfp_oauth_core::limits::MAX_ADDRESS_LEN + 1);
const _: () = assert!(MFP_OAUTH_HOST_BUF_LEN == mfp_oauth_core::limits::MAX_DOMAIN_LEN + 1);
