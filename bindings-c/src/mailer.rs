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

use core::ffi::c_char;

use mfp_oauth_core::config::Violations;
use mfp_oauth_core::diag::Id;
use mfp_oauth_core::function::Function;
use mfp_oauth_core::mailer::{AuthMethod, Job, Mailer, MailerError, Plan, Step};
use mfp_oauth_core::oauth::{Event as OAuthEvent, FlowKind};
use mfp_oauth_core::policy::User;
use mfp_oauth_core::smtp::Security;
use mfp_oauth_core::token::nv::{self, DeviceKey, LoadReport, NvCursor, Seal, SlotId, SlotState};
use mfp_oauth_core::token::{StoreEvent, TokenGrant, TokenOwner, TokenStatus, UserId, WallTime};
use mfp_oauth_core::{Address, Instant};

use crate::buf::{bytes, put, text};
use crate::handle::{self, opaque, zeroable};
use crate::settings::{self, opt_text, MfpOauthSettings};
use crate::smtp::{self as csmtp, MfpOauthSmtpEvent, MfpOauthStr};
use crate::token_client::{self, MfpOauthTokenClient};
use crate::{MfpOauthStatus, MFP_OAUTH_ADDRESS_BUF_LEN, MFP_OAUTH_HOST_BUF_LEN};
use crate::{MFP_OAUTH_REPLY_TEXT_BUF_LEN, MFP_OAUTH_USER_ID_BUF_LEN};

/// The mailer and where its next image goes.
pub(crate) struct MailerObj {
    mailer: Mailer,
    cursor: NvCursor,
}

/// 64-bit words of `mfp_oauth_mailer` storage: 56,832 octets, alignment 8
/// (the token store with 8 user slots is 33 KB, the SMTP session 12 KB).
pub const MFP_OAUTH_MAILER_WORDS: usize = 7104;

/// Octets of one NV slot (and of the buffer `mfp_oauth_mailer_save` needs).
pub const MFP_OAUTH_NV_IMAGE_MAX_LEN: usize = 25355;
const _: () = assert!(MFP_OAUTH_NV_IMAGE_MAX_LEN == nv::IMAGE_MAX_LEN);

/// Octets of a device key (`mfp_oauth_mailer_save` / `_load`).
pub const MFP_OAUTH_DEVICE_KEY_LEN: usize = 32;
/// Octets of fresh randomness for each sealed image.
pub const MFP_OAUTH_SEAL_RANDOM_LEN: usize = 7;
const _: () = assert!(MFP_OAUTH_SEAL_RANDOM_LEN == nv::RANDOM_LEN);

/// Storage for the mailer (`mfp_oauth_mailer`), allocated by the caller,
/// usually static. It holds the settings, the refresh tokens and the cached
/// access tokens, and the running SMTP session; destroy wipes them.
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
    0x6d66_706f_6d61_696c
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

/// # Safety
/// `mailer` NULL or valid storage.
unsafe fn live<'a>(mailer: *mut MfpOauthMailer) -> Result<&'a mut MailerObj, MfpOauthStatus> {
    // SAFETY: forwarded contract.
    unsafe { handle::get(mailer) }
}

/// # Safety
/// `mailer` NULL or valid storage, not written during the call.
unsafe fn live_ref<'a>(mailer: *const MfpOauthMailer) -> Result<&'a MailerObj, MfpOauthStatus> {
    // SAFETY: forwarded contract.
    unsafe { handle::get_ref(mailer) }
}

/// Creates a mailer in `mailer` with `settings` (validated: a broken rule
/// is reported as its diagnostic, e.g. `MFP_OAUTH_STATUS_VLAN_ON_NETWORK2`)
/// and an empty token store: the first start, or after
/// `mfp_oauth_mailer_load` reported `NV_EMPTY` (and only then: see the
/// power-on sequence at `mfp_oauth_mailer_load`). Storage that holds a live
/// mailer is refused with `MFP_OAUTH_STATUS_WRONG_STATE` and left as it
/// is: destroy it first (zeroed or destroyed storage is not live). Not
/// thread-safe or ISR-safe, like every `mfp_oauth_mailer_*` call: one task
/// drives the mailer.
///
/// # Safety
/// `mailer` NULL or valid for reads and writes of `mfp_oauth_mailer`;
/// `settings` NULL or valid with its strings valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_create(
    mailer: *mut MfpOauthMailer,
    settings: *const MfpOauthSettings,
) -> MfpOauthStatus {
    if mailer.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: not NULL, valid for reads (contract).
    if unsafe { handle::is_live(mailer) } {
        return MfpOauthStatus::WrongState;
    }
    if settings.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: not NULL and valid (contract).
    let c = unsafe { &*settings };
    // Built in place (R-MEM): the storage is zeroed, then the mailer is
    // reset and its settings written straight from `c`; nothing the size
    // of the mailer or of its settings passes through the stack.
    let init = |obj: &mut MailerObj| {
        obj.cursor = NvCursor::new();
        let filled = obj.mailer.reset_with(|s| {
            // SAFETY: the strings of `c` are valid (contract).
            unsafe { settings::fill(c, s, None) }.map_err(Refused)
        });
        match filled {
            Ok(()) => MfpOauthStatus::Ok,
            Err(Refused(status)) => status,
        }
    };
    // SAFETY: valid for writes (contract) and holding no live mailer
    // (checked above).
    unsafe { handle::create_zeroed(mailer, init) }
}

/// Whether `s` is an address. Not inlined: the parsed address (256 octets)
/// lives on this short frame only, not on the caller's (R-MEM).
#[inline(never)]
fn check_address(s: &str) -> Result<(), MfpOauthStatus> {
    Address::parse(s)
        .map(drop)
        .map_err(|_| MfpOauthStatus::InvalidAddress)
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
/// a power cycle, R-TOK-1). `key` is the 32-octet device key if the images
/// are sealed, else NULL. An erased slot may be passed as `NULL, 0`, as a
/// zero length, or as its octets (all 0xFF): each reads as empty.
/// `NV_EMPTY` when both slots are empty (the first start),
/// `NV_CORRUPT` / `NV_NEWER_FORMAT` / `NV_SEAL_OPEN_FAILED` otherwise; on
/// error nothing is created. Storage that holds a live mailer is refused
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
/// `mailer` NULL or valid for reads and writes; `slot_a`/`slot_b` NULL or
/// valid for their lengths; `key` NULL or valid for 32 bytes; `out_report`
/// NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_load(
    mailer: *mut MfpOauthMailer,
    slot_a: *const u8,
    slot_a_len: usize,
    slot_b: *const u8,
    slot_b_len: usize,
    key: *const u8,
    out_report: *mut MfpOauthNvReport,
) -> MfpOauthStatus {
    if mailer.is_null() || out_report.is_null() {
        return MfpOauthStatus::NullParameter;
    }
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
    let mut r = None;
    // Built in place (R-MEM): the storage is zeroed, then the image is
    // decoded straight into the mailer's settings and token store; no
    // access token survives the power cycle (R-TOK-1).
    let init = |obj: &mut MailerObj| match obj.mailer.load_into(a, b, key.as_ref()) {
        Ok(report) => {
            obj.cursor = report.cursor;
            r = Some(report);
            MfpOauthStatus::Ok
        }
        Err(e) => MfpOauthStatus::of(e),
    };
    // SAFETY: valid for writes (contract) and holding no live mailer
    // (checked above).
    let status = unsafe { handle::create_zeroed(mailer, init) };
    match r {
        Some(report) if status == MfpOauthStatus::Ok => {
            // SAFETY: not NULL and valid (contract).
            unsafe { put(out_report, report_c(&report)) }
        }
        _ => status,
    }
}

/// Writes the persistence image (settings and refresh tokens, never access
/// tokens) into `out` (`MFP_OAUTH_NV_IMAGE_MAX_LEN` octets always suffice)
/// and says which slot to write it to and its sequence number. Write
/// `out[..*out_len]` to that slot, then call
/// `mfp_oauth_mailer_image_written`; until then the next save targets the
/// same slot, so the last good image is never overwritten. With `key` (32
/// octets) the refresh tokens are sealed, and `random` (7 fresh octets from
/// an RNG) is required. On error `out` is wiped.
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
    if out_written.is_null() || out_slot.is_null() || out_sequence.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: valid for `out_len` bytes of writes (contract).
    let out = try_status!(unsafe { crate::buf::bytes_mut(out, out_len) });
    // SAFETY: NULL or 32 bytes (contract).
    let key = try_status!(unsafe { device_key(key) });
    let seal = match &key {
        None => None,
        Some(k) => {
            // SAFETY: valid for 7 bytes (contract).
            let r = try_status!(unsafe { bytes(random, MFP_OAUTH_SEAL_RANDOM_LEN) });
            let Ok(random) = <[u8; MFP_OAUTH_SEAL_RANDOM_LEN]>::try_from(r) else {
                return MfpOauthStatus::InvalidArgument;
            };
            Some(Seal { key: k, random })
        }
    };
    // SAFETY: the caller's contract for `mailer`.
    let m = try_status!(unsafe { live(mailer) });
    let (slot, seq) = m.cursor.next();
    match nv::save(m.mailer.settings(), m.mailer.store(), seq, seal, out) {
        Ok(n) => {
            // SAFETY: the outputs are not NULL and valid (contract).
            unsafe {
                out_written.write(n);
                out_slot.write(slot_c(slot));
                out_sequence.write(seq);
            }
            MfpOauthStatus::Ok
        }
        Err(nv::NvError::BufferTooSmall) => {
            // SAFETY: not NULL and valid (contract).
            unsafe { out_written.write(nv::IMAGE_MAX_LEN) };
            MfpOauthStatus::BufferTooSmall
        }
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// The image from `mfp_oauth_mailer_save` (`slot`, `sequence`) is now in
/// flash and verified: the next image goes to the other slot.
///
/// # Safety
/// As for `mfp_oauth_mailer_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_image_written(
    mailer: *mut MfpOauthMailer,
    slot: u32,
    sequence: u32,
) -> MfpOauthStatus {
    let slot = match slot {
        0 => SlotId::A,
        1 => SlotId::B,
        _ => return MfpOauthStatus::InvalidArgument,
    };
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    m.cursor.written(slot, sequence);
    MfpOauthStatus::Ok
}

/// Wipes every token and the settings, and every byte of the storage.
/// Destroying storage that holds no mailer does nothing.
///
/// # Safety
/// `mailer` NULL or valid for reads and writes of `mfp_oauth_mailer`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_destroy(mailer: *mut MfpOauthMailer) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe { handle::destroy(mailer) }
}

/// The administrator changed the settings: validated (the first broken rule
/// is the status, and nothing changes) and applied; tokens of a changed
/// provider or account are dropped. Any change brings a `PERSIST` step
/// (the settings live in the image), with `erase_other_slot` when a secret
/// left (an orphaned token, or the proxy password changed or removed).
/// The result of `mfp_oauth_mailer_get_settings` with one field changed
/// changes only that field: its "Send As" list is the one in force, and
/// its `proxy_password_keep` keeps the proxy password (see
/// `mfp_oauth_settings`).
///
/// # Safety
/// `mailer` as for `_destroy`; `settings` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_apply_settings(
    mailer: *mut MfpOauthMailer,
    settings: *const MfpOauthSettings,
) -> MfpOauthStatus {
    if settings.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // Read whole before anything changes, through a shared borrow of the
    // mailer: its strings may point into the settings in force (a
    // `get_settings` result), which a `&mut` borrow would invalidate.
    // SAFETY: the caller's contract.
    let current = try_status!(unsafe { live_ref(mailer) });
    // SAFETY: not NULL and valid (contract).
    let s =
        try_status!(unsafe { settings::from_c_over(&*settings, Some(current.mailer.settings())) });
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    match m.mailer.apply_settings(s) {
        Ok(_) => MfpOauthStatus::Ok,
        Err(v) => v
            .first()
            .map_or(MfpOauthStatus::InvalidArgument, MfpOauthStatus::of),
    }
}

/// A job (`mfp_oauth_job`). Strings are `mfp_oauth_str`; `{NULL, 0}` means
/// not given.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthJob {
    /// An `mfp_oauth_function` (1 = Scan to E-mail ... 12).
    pub function: u32,
    /// The logged-in user's login name; empty: the public user.
    pub user_id: MfpOauthStr,
    /// The logged-in user's registered address, if any.
    pub user_address: MfpOauthStr,
    /// The From address entered or set by the application; empty: the
    /// mode's default.
    pub from: MfpOauthStr,
    /// Recipients (1 to 16).
    pub to: *const MfpOauthStr,
    /// Entries at `to`.
    pub to_count: usize,
    /// The message's size in octets, 0 if unknown.
    pub size: u64,
}

/// The function sending a job (`mfp_oauth_function`), R-FN.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthFunction {
    /// Scan to E-mail (user function).
    ScanToEmail = 1,
    /// Scan to Me.
    ScanToMe = 2,
    /// Scan to URL.
    ScanToUrl = 3,
    /// Internet Fax transmission.
    InternetFax = 4,
    /// E-mail from a User Box.
    EmailFromUserBox = 5,
    /// E-mail from an OpenAPI/IWS application.
    EmailFromOpenApi = 6,
    /// E-mail notification (administrator function).
    EmailNotification = 7,
    /// Total counter notification.
    TotalCounterNotification = 8,
    /// Forward transmission.
    ForwardTransmission = 9,
    /// TSI routing.
    TsiRouting = 10,
    /// Status notification.
    StatusNotification = 11,
    /// Transmission result report.
    TransmissionResultReport = 12,
}

fn function_of(n: u32) -> Option<Function> {
    Function::ALL.iter().copied().find(|f| *f as u32 == n)
}

/// What the firmware must do next (`mfp_oauth_plan_kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthPlanKind {
    /// No job.
    Idle = 0,
    /// Show the OAuth screen: `user_id` (empty: the public user) signs in
    /// as `account` with `method`; then `_auth_succeeded` / `_auth_failed`.
    NeedUserAuth = 1,
    /// The administrator must Acquire the token for `account` beforehand;
    /// `_auth_succeeded` / `_auth_failed`.
    NeedAdminAuth = 2,
    /// Run a refresh grant: `mfp_oauth_mailer_start_refresh` with a token
    /// client, then drain `mfp_oauth_mailer_poll_token_event` (or the
    /// client's own events and `_exchange_succeeded` / `_exchange_failed`:
    /// see `mfp_oauth_mailer_poll_token_event` for the rule).
    TokenExchange = 3,
    /// Connect to `host`:`port` (TLS first for implicit TLS), then
    /// `_connected` / `_connect_failed`.
    Connect = 4,
    /// The SMTP session runs: pump `mfp_oauth_mailer_smtp_*`, drain
    /// `mfp_oauth_mailer_poll_event`, until a PLAN_CHANGED step. The SMTP
    /// events MESSAGE_SENT, MESSAGE_FAILED and AUTH_REJECTED do not end
    /// this plan: the result is known (the panel may show it), and the
    /// mailer has queued QUIT. Keep pumping: send the QUIT
    /// (`mfp_oauth_mailer_smtp_poll_transmit`), feed the server's reply or
    /// its close, until the plan turns DONE or FAILED.
    Session = 5,
    /// Sent (`reply_code`, `accepted`, `refused`). The session is over: its
    /// QUIT went out and was answered (or the server closed, or did not
    /// answer in time). Nothing is left to send (the
    /// `mfp_oauth_mailer_smtp_*` calls now return `WRONG_STATE`): close the
    /// connection.
    Done = 6,
    /// The job failed (`diag`). As after DONE, nothing is left to send:
    /// close the connection if one is open.
    Failed = 7,
    /// A plan newer than this header.
    Other = 8,
}

/// How the person signs in (`mfp_oauth_auth_method`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthAuthMethod {
    /// Device code: show the code and URL (`_token_client_start_device`).
    DeviceCode = 0,
    /// Browser with PKCE (`_token_client_start_auth_code`).
    BrowserPkce = 1,
}

/// The plan (`mfp_oauth_plan`); fields that do not apply are zero or empty.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthPlan {
    /// What to do.
    pub kind: MfpOauthPlanKind,
    /// FAILED: the diagnostic (also a status).
    pub diag: u32,
    /// NEED_*_AUTH: how to sign in.
    pub method: MfpOauthAuthMethod,
    /// NEED_USER_AUTH: the user's login name (empty: public user), NUL-terminated.
    pub user_id: [c_char; MFP_OAUTH_USER_ID_BUF_LEN],
    /// NEED_*_AUTH: the account to sign in as, NUL-terminated.
    pub account: [c_char; MFP_OAUTH_ADDRESS_BUF_LEN],
    /// CONNECT: the SMTP server, NUL-terminated.
    pub host: [c_char; MFP_OAUTH_HOST_BUF_LEN],
    /// CONNECT: its port.
    pub port: u16,
    /// CONNECT: an `mfp_oauth_smtp_security`.
    pub security: u32,
    /// DONE: the server's reply code.
    pub reply_code: u32,
    /// DONE: recipients accepted.
    pub accepted: usize,
    /// DONE: recipients refused.
    pub refused: usize,
    /// While a job runs (every plan from the submit's first one up to
    /// SESSION): the From address the sender policy chose, NUL-terminated.
    /// The server gets it in MAIL FROM; write the same address in the
    /// message's From header. Empty in IDLE, DONE and FAILED.
    pub from: [c_char; MFP_OAUTH_ADDRESS_BUF_LEN],
}

fn copy_str<const N: usize>(dst: &mut [c_char; N], s: &str) {
    for (d, b) in dst.iter_mut().zip(s.bytes().take(N.saturating_sub(1))) {
        *d = b as c_char;
    }
}

/// Fills `c`, all zero bytes (every text empty, every number 0), with `p`
/// and the running job's From address `from`.
fn plan_c(c: &mut MfpOauthPlan, p: &Plan, from: Option<&Address>) {
    c.kind = MfpOauthPlanKind::Other;
    if let Some(f) = from {
        copy_str(&mut c.from, f.as_str());
    }
    let method = |m: &AuthMethod| match m {
        AuthMethod::DeviceCode => MfpOauthAuthMethod::DeviceCode,
        AuthMethod::BrowserPkce => MfpOauthAuthMethod::BrowserPkce,
    };
    match p {
        Plan::Idle => c.kind = MfpOauthPlanKind::Idle,
        Plan::NeedUserAuth {
            user,
            account,
            method: m,
        } => {
            c.kind = MfpOauthPlanKind::NeedUserAuth;
            c.method = method(m);
            copy_str(&mut c.account, account.as_str());
            if let Some(u) = user {
                copy_str(&mut c.user_id, u);
            }
        }
        Plan::NeedAdminAuth { account, method: m } => {
            c.kind = MfpOauthPlanKind::NeedAdminAuth;
            c.method = method(m);
            copy_str(&mut c.account, account.as_str());
        }
        Plan::TokenExchange { .. } => c.kind = MfpOauthPlanKind::TokenExchange,
        Plan::Connect {
            host,
            port,
            security,
        } => {
            c.kind = MfpOauthPlanKind::Connect;
            copy_str(&mut c.host, host);
            c.port = *port;
            c.security = match security {
                Security::StartTls => 0,
                Security::ImplicitTls => 1,
            };
        }
        Plan::Session => c.kind = MfpOauthPlanKind::Session,
        Plan::Done {
            reply,
            accepted,
            refused,
        } => {
            c.kind = MfpOauthPlanKind::Done;
            c.reply_code = u32::from(reply.code);
            c.accepted = *accepted;
            c.refused = *refused;
        }
        Plan::Failed { diag } => {
            c.kind = MfpOauthPlanKind::Failed;
            c.diag = u32::from(diag.number());
        }
        _ => {}
    }
}

/// Writes `plan`, with the running job's From address `from`, to
/// `out_plan` and returns OK. The plan is filled where the caller keeps
/// it (R-MEM): none (1 KB) is built on the stack and copied.
///
/// # Safety
/// `out_plan` not NULL and valid for a write.
unsafe fn plan_out(
    plan: &Plan,
    from: Option<&Address>,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    // SAFETY: valid for a write (contract); all-zero bytes are a valid
    // plan (IDLE, every text empty), so the reference is to a valid value.
    let c = unsafe {
        out_plan.write_bytes(0, 1);
        &mut *out_plan
    };
    plan_c(c, plan, from);
    MfpOauthStatus::Ok
}

/// Submits a job: the sender policy decides the From address and whose
/// token signs (R-POL), nothing is sent before it accepted them. Writes
/// the first plan. `WRONG_STATE` while another job runs; a refused job is a
/// FAILED plan (the call itself succeeds).
///
/// # Safety
/// `mailer` as for `_destroy`; `job` NULL or valid, its strings and `to`
/// valid for their lengths; `out_plan` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_submit(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    job: *const MfpOauthJob,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    if job.is_null() || out_plan.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: not NULL, valid (contract).
    let j = unsafe { &*job };
    let Some(function) = function_of(j.function) else {
        return MfpOauthStatus::InvalidArgument;
    };
    // SAFETY: valid for its length (contract).
    let user_id = try_status!(unsafe { opt_text(&j.user_id) });
    // SAFETY: as above.
    let user_addr = try_status!(unsafe { opt_text(&j.user_address) });
    // SAFETY: as above.
    let from = try_status!(unsafe { opt_text(&j.from) });
    let parse = |s: &str| Address::parse(s).map_err(|_| MfpOauthStatus::InvalidAddress);
    let user_addr = if user_addr.is_empty() {
        None
    } else {
        Some(try_status!(parse(user_addr)))
    };
    let from = if from.is_empty() {
        None
    } else {
        Some(try_status!(parse(from)))
    };
    if j.to.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    if j.to_count == 0 {
        return MfpOauthStatus::InvalidArgument;
    }
    if j.to_count > mfp_oauth_core::limits::MAX_RECIPIENTS {
        return MfpOauthStatus::CapacityExceeded;
    }
    // SAFETY: `to` is valid for `to_count` entries (contract).
    let list = unsafe { core::slice::from_raw_parts(j.to, j.to_count) };
    // The recipients go to the mailer as text, each checked here one at a
    // time and parsed straight into the job's envelope: no list of
    // addresses (4 KB) on the stack (R-MEM).
    let mut to = [""; mfp_oauth_core::limits::MAX_RECIPIENTS];
    for (slot, r) in to.iter_mut().zip(list) {
        // SAFETY: each entry valid for its length (contract).
        let t = try_status!(unsafe { text(r.ptr, r.len) });
        try_status!(check_address(t));
        *slot = t;
    }
    let to = to.get(..list.len()).unwrap_or(&[]);
    let user = (!user_id.is_empty()).then_some(User {
        id: user_id,
        address: user_addr.as_ref(),
    });
    let job = Job {
        function,
        user,
        from: from.as_ref(),
        to: &[],
        size: (j.size != 0).then_some(j.size),
    };
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    match m.mailer.submit_text(Instant::from_millis(now_ms), &job, to) {
        // SAFETY: not NULL and valid (contract).
        Ok(plan) => unsafe { plan_out(&plan, m.mailer.job_from(), out_plan) },
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// Writes the current plan.
///
/// # Safety
/// `mailer` as for `_destroy` (only read); `out_plan` NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_get_plan(
    mailer: *const MfpOauthMailer,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    if out_plan.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live_ref(mailer) });
    // SAFETY: not NULL and valid (contract).
    unsafe { plan_out(m.mailer.plan(), m.mailer.job_from(), out_plan) }
}

/// Sets the running job's message size in octets, after
/// `mfp_oauth_mailer_submit` and before the SMTP session starts (plans up to
/// CONNECT). For a message composed after the submit: its From: header is
/// the plan's `from`, the address the sender policy chose, so compose it
/// (`mfp_oauth_mime_begin`) once the first plan is known, then give the
/// composer's size here. The session announces it with `SIZE=` and refuses
/// a message over the server's limit before MAIL. `WRONG_STATE` when no job
/// runs or its session has started.
///
/// # Safety
/// `mailer` as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_set_message_size(
    mailer: *mut MfpOauthMailer,
    size: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    match m.mailer.set_message_size(size) {
        Ok(()) => MfpOauthStatus::Ok,
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// The tokens of the token client's finished exchange.
fn grant_of(c: &token_client::TokenClient) -> Result<TokenGrant<'_>, MfpOauthStatus> {
    let t = c.tokens().ok_or(MfpOauthStatus::WrongState)?;
    if t.access_token.is_empty() {
        return Err(MfpOauthStatus::WrongState);
    }
    Ok(TokenGrant::from_response(t))
}

/// Hands the grant of the finished `token_client` to `report` (a sign-in or
/// a refresh) and writes the plan that follows.
///
/// # Safety
/// `mailer` and `token_client` valid storage; `out_plan` NULL or valid.
unsafe fn report_grant(
    mailer: *mut MfpOauthMailer,
    token_client: *mut MfpOauthTokenClient,
    out_plan: *mut MfpOauthPlan,
    report: impl FnOnce(&mut Mailer, TokenGrant<'_>) -> Result<Plan, MailerError>,
) -> MfpOauthStatus {
    if out_plan.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract.
    let tc = try_status!(unsafe { token_client::live(token_client) });
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    let grant = try_status!(grant_of(tc));
    let reported = report(&mut m.mailer, grant);
    // This end is reported: `mfp_oauth_mailer_poll_token_event` will not
    // report it again.
    let _ = tc.take_outcome();
    match reported {
        // SAFETY: not NULL and valid (contract).
        Ok(plan) => unsafe { plan_out(&plan, m.mailer.job_from(), out_plan) },
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// Reports an interactive sign-in that ended with the `ACCESS_TOKEN`
/// event of `token_client` (NEED_*_AUTH plans): the mailer stores the
/// tokens (they never pass through the caller) and writes the next plan.
/// When the provider named another account than the plan's (the
/// `id_token`, R-ACCT), the plan is FAILED with `ACCOUNT_MISMATCH` and
/// nothing is stored.
/// `wall_s` is the wall-clock time in seconds since 1970 if known, else 0
/// (it dates the refresh token for expiry warnings).
///
/// # Safety
/// `mailer` and `token_client` valid storage as for their `_destroy`;
/// `out_plan` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_auth_succeeded(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    wall_s: u64,
    token_client: *mut MfpOauthTokenClient,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    let learned = {
        // SAFETY: the caller's contract.
        let tc = try_status!(unsafe { token_client::live(token_client) });
        tc.tokens().and_then(|t| t.account.address().cloned())
    };
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        report_grant(mailer, token_client, out_plan, |m, grant| {
            m.auth_succeeded_as(
                Instant::from_millis(now_ms),
                wall(wall_s),
                grant,
                learned.as_ref(),
            )
        })
    }
}

/// The administrator's **Acquire** in Configuration OAuth (no job): after
/// the `ACCESS_TOKEN` event of `token_client`, the tokens are stored for the
/// administrator's address; the status reads Acquired, the Information
/// screen's notice clears, and a PERSIST step follows.
/// `ADMIN_ADDRESS_MISSING` without an administrator address;
/// `ACCOUNT_MISMATCH` (nothing stored) when the provider named another
/// account than that address (R-ACCT; `mfp_oauth_mailer_admin_token` shows
/// the account and whether it was named).
///
/// # Safety
/// `mailer` and `token_client` valid storage as for their `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_acquire_admin(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    wall_s: u64,
    token_client: *mut MfpOauthTokenClient,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    let tc = try_status!(unsafe { token_client::live(token_client) });
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    let acquired = m
        .mailer
        .acquire_admin(Instant::from_millis(now_ms), wall(wall_s), tc);
    // This end is reported (see `report_grant`).
    let _ = tc.take_outcome();
    match acquired {
        Ok(()) => MfpOauthStatus::Ok,
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// During a sign-in (NEED_*_AUTH) or a refresh (TOKEN_EXCHANGE): takes the
/// next event of `token_client` (written to `*out_event`, `kind` NONE if
/// none) and lets the mailer act on it: the flow's end (ACCESS_TOKEN,
/// REAUTH_REQUIRED, FAILED) stores the tokens or fails the step and sets
/// `*out_plan_changed`; read the plan with `mfp_oauth_mailer_get_plan`. The
/// other events are for the panel (show the code on USER_CODE).
///
/// A job's token flow ends in one of two ways; use one per flow:
///
/// 1. The mailer's way: drain only this function. It reports the flow's
///    end to the mailer itself: do not call `_auth_succeeded`,
///    `_exchange_succeeded`, `_auth_failed` or `_exchange_failed` for it.
/// 2. The client's way: drain `mfp_oauth_token_client_poll_event` and
///    report the end: ACCESS_TOKEN with `_auth_succeeded` (sign-in) or
///    `_exchange_succeeded` (refresh), REAUTH_REQUIRED or FAILED with
///    `_auth_failed` or `_exchange_failed`. The administrator's Acquire,
///    outside any job, always goes this way, ending with
///    `mfp_oauth_mailer_acquire_admin`.
///
/// Mixing them does no harm. When `mfp_oauth_token_client_poll_event`
/// took the end of the flow the plan waits for (a refresh in
/// TOKEN_EXCHANGE, a sign-in in NEED_*_AUTH), this function still reports
/// it, once: it writes that terminal event and acts on it, so a firmware
/// draining both never waits forever. An end already reported is not
/// reported again: a second report (`_exchange_succeeded` after this
/// function acted on ACCESS_TOKEN, for example) returns `WRONG_STATE` and
/// changes nothing. Start the flow (`mfp_oauth_mailer_start_refresh`,
/// `mfp_oauth_token_client_start_device`, ...) before draining it.
///
/// # Safety
/// `mailer` and `token_client` valid storage as for their `_destroy`;
/// `out_event` and `out_plan_changed` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_poll_token_event(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    wall_s: u64,
    token_client: *mut MfpOauthTokenClient,
    out_event: *mut token_client::MfpOauthTokenEvent,
    out_plan_changed: *mut bool,
) -> MfpOauthStatus {
    if out_event.is_null() || out_plan_changed.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract.
    let tc = try_status!(unsafe { token_client::live(token_client) });
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    let now = Instant::from_millis(now_ms);
    let event = match tc.poll_event() {
        Some(e) => Some(e),
        // `mfp_oauth_token_client_poll_event` took the flow's end (the two
        // ways mixed): still report it, once, if the plan waits for it.
        None => tc
            .take_outcome()
            .filter(|(flow, _)| waits_for(m.mailer.plan(), *flow))
            .map(|(_, e)| e),
    };
    let (ev, changed) = match event {
        None => (token_client::event_c(None), false),
        Some(e) => {
            let c = token_client::event_c(Some(e));
            let handled = m.mailer.handle_oauth_event(now, wall(wall_s), tc, e);
            if matches!(
                e,
                OAuthEvent::AccessToken { .. }
                    | OAuthEvent::ReauthRequired(_)
                    | OAuthEvent::Failed(_)
            ) {
                // Reported now: never again through the outcome.
                let _ = tc.take_outcome();
            }
            match handled {
                Ok(next) => (c, next.is_some()),
                Err(err) => return MfpOauthStatus::of(err),
            }
        }
    };
    // SAFETY: both outputs are not NULL and valid (contract).
    unsafe {
        out_event.write(ev);
        out_plan_changed.write(changed);
    }
    MfpOauthStatus::Ok
}

/// Whether `plan` waits for the end of a token flow of kind `flow`.
fn waits_for(plan: &Plan, flow: FlowKind) -> bool {
    match plan {
        Plan::TokenExchange { .. } => flow == FlowKind::Refresh,
        Plan::NeedUserAuth { .. } | Plan::NeedAdminAuth { .. } => flow != FlowKind::Refresh,
        _ => false,
    }
}

/// The sign-in failed or was cancelled (`diag`: why): the job fails.
///
/// # Safety
/// `mailer` as for `_destroy`; `out_plan` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_auth_failed(
    mailer: *mut MfpOauthMailer,
    diag: u32,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    if out_plan.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    let diag = try_status!(diag_of(diag));
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    match m.mailer.auth_failed(diag) {
        // SAFETY: not NULL and valid (contract).
        Ok(plan) => unsafe { plan_out(&plan, m.mailer.job_from(), out_plan) },
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// TOKEN_EXCHANGE: starts the refresh grant on `token_client` with the
/// stored refresh token (it never passes through the caller).
///
/// # Safety
/// `mailer` and `token_client` valid storage as for their `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_start_refresh(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    token_client: *mut MfpOauthTokenClient,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    let tc = try_status!(unsafe { token_client::live(token_client) });
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    match m.mailer.start_exchange(Instant::from_millis(now_ms), tc) {
        Ok(()) => MfpOauthStatus::Ok,
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// The refresh grant ended with `ACCESS_TOKEN` on `token_client`: the new
/// tokens (and a rotated refresh token) are stored; writes the next plan.
///
/// # Safety
/// As for `mfp_oauth_mailer_auth_succeeded`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_exchange_succeeded(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    wall_s: u64,
    token_client: *mut MfpOauthTokenClient,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        report_grant(mailer, token_client, out_plan, |m, grant| {
            m.exchange_succeeded(Instant::from_millis(now_ms), wall(wall_s), grant)
        })
    }
}

/// The refresh grant ended without tokens: pass on how the token client's
/// flow ended, `reauth_required` when its last event was REAUTH_REQUIRED
/// (else FAILED, or a flow that could not start) and `diag` that event's
/// diagnostic. The core decides what it means: a dead grant (plain
/// `invalid_grant`, expired, revoked) erases the refresh token and asks for
/// a new sign-in (R-TOK-4); a refusal an administrator fixes at the
/// provider (consent missing 402, Conditional Access 405, …) keeps the
/// token and fails the job with that diagnostic; anything else keeps the
/// token and fails the job with `diag`. Writes the next plan.
/// (`mfp_oauth_mailer_poll_token_event` does the same from the event.)
///
/// # Safety
/// `mailer` as for `_destroy`; `out_plan` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_exchange_failed(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    reauth_required: bool,
    diag: u32,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    if out_plan.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    let diag = try_status!(diag_of(diag));
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    match m
        .mailer
        .exchange_failed(Instant::from_millis(now_ms), reauth_required, diag)
    {
        // SAFETY: not NULL and valid (contract).
        Ok(plan) => unsafe { plan_out(&plan, m.mailer.job_from(), out_plan) },
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// CONNECT: the connection is open (with TLS for implicit TLS); the SMTP
/// session starts, greeting with `ehlo_domain`. Writes the next plan.
///
/// # Safety
/// `mailer` as for `_destroy`; `ehlo_domain` NULL or valid for its length;
/// `out_plan` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_connected(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    ehlo_domain: *const c_char,
    ehlo_domain_len: usize,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    if out_plan.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: valid for its length (contract).
    let ehlo = try_status!(unsafe { text(ehlo_domain, ehlo_domain_len) });
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    match m.mailer.connected(Instant::from_millis(now_ms), ehlo) {
        // SAFETY: not NULL and valid (contract).
        Ok(plan) => unsafe { plan_out(&plan, m.mailer.job_from(), out_plan) },
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// CONNECT failed (`diag`: a 6xx network diagnostic): the job fails.
///
/// # Safety
/// `mailer` as for `_destroy`; `out_plan` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_connect_failed(
    mailer: *mut MfpOauthMailer,
    diag: u32,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    if out_plan.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    let diag = try_status!(diag_of(diag));
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    match m.mailer.connect_failed(diag) {
        // SAFETY: not NULL and valid (contract).
        Ok(plan) => unsafe { plan_out(&plan, m.mailer.job_from(), out_plan) },
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// Cancels the job (the user pressed Stop): the session quits, the job
/// fails with `diag`. Writes the plan.
///
/// # Safety
/// `mailer` as for `_destroy`; `out_plan` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_cancel(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    diag: u32,
    out_plan: *mut MfpOauthPlan,
) -> MfpOauthStatus {
    if out_plan.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    let diag = try_status!(diag_of(diag));
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    let plan = m.mailer.cancel(Instant::from_millis(now_ms), diag);
    // SAFETY: not NULL and valid (contract).
    unsafe { plan_out(&plan, m.mailer.job_from(), out_plan) }
}

/// What a mailer step is (`mfp_oauth_step_kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthStepKind {
    /// Nothing pending.
    None = 0,
    /// An SMTP event (`smtp`): act on UPGRADE_TLS and READY_FOR_BODY; the
    /// others are progress to show or log.
    Smtp = 1,
    /// The plan changed: read it with `mfp_oauth_mailer_get_plan`.
    PlanChanged = 2,
    /// Write a new image (`mfp_oauth_mailer_save`); if `erase_other_slot`,
    /// erase the other slot once it is written (no old refresh token stays
    /// in flash).
    Persist = 3,
    /// R-TOK-4: show the warning on the Information screen: the
    /// administrator's authentication was cancelled (`diag`).
    AdminReauthNeeded = 4,
    /// User `user_id`'s token was rejected; they sign in at the next send.
    UserReauthNeeded = 5,
    /// A refresh token expires in `days_left` days (`user_id` empty: the
    /// administrator's).
    RefreshTokenExpiring = 6,
    /// A step newer than this header.
    Other = 7,
    /// At power-on the newest image was damaged and the previous one was
    /// loaded (`diag` NV_PREVIOUS_RESTORED): show the notice; the last change
    /// saved before the power-on may be lost. A PERSIST step follows (the
    /// new image goes over the damaged slot).
    PreviousImageRestored = 8,
}

/// One step (`mfp_oauth_step`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthStep {
    /// What it is.
    pub kind: MfpOauthStepKind,
    /// SMTP: the event.
    pub smtp: MfpOauthSmtpEvent,
    /// PERSIST: erase the other slot after writing.
    pub erase_other_slot: bool,
    /// The diagnostic to show, 0 if none.
    pub diag: u32,
    /// USER_REAUTH_NEEDED, REFRESH_TOKEN_EXPIRING: the user, NUL-terminated.
    pub user_id: [c_char; MFP_OAUTH_USER_ID_BUF_LEN],
    /// REFRESH_TOKEN_EXPIRING: whole days left.
    pub days_left: u32,
}

/// Writes the next step (`kind` NONE when none). Drain after every input.
///
/// # Safety
/// `mailer` as for `_destroy`; `out_step` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_poll_event(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    out_step: *mut MfpOauthStep,
) -> MfpOauthStatus {
    use MfpOauthStepKind as K;
    if out_step.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    let mut s = MfpOauthStep {
        kind: K::None,
        smtp: MfpOauthSmtpEvent::from_none(),
        erase_other_slot: false,
        diag: 0,
        user_id: [0; MFP_OAUTH_USER_ID_BUF_LEN],
        days_left: 0,
    };
    match m.mailer.poll_event(Instant::from_millis(now_ms)) {
        None => {}
        Some(Step::Smtp(e)) => {
            s.kind = K::Smtp;
            s.smtp = e.into();
        }
        Some(Step::PlanChanged) => s.kind = K::PlanChanged,
        Some(Step::Store(e)) => {
            s.diag = e.diag().map_or(0, |d| u32::from(d.number()));
            match e {
                StoreEvent::Persist { erase_other_slot } => {
                    s.kind = K::Persist;
                    s.erase_other_slot = erase_other_slot;
                }
                StoreEvent::AdminReauthNeeded => s.kind = K::AdminReauthNeeded,
                StoreEvent::UserReauthNeeded(id) => {
                    s.kind = K::UserReauthNeeded;
                    copy_str(&mut s.user_id, &id);
                }
                StoreEvent::PreviousImageRestored => s.kind = K::PreviousImageRestored,
                StoreEvent::RefreshTokenExpiring { owner, days_left } => {
                    s.kind = K::RefreshTokenExpiring;
                    s.days_left = u32::from(days_left);
                    if let TokenOwner::User(id) = owner {
                        copy_str(&mut s.user_id, &id);
                    }
                }
                _ => s.kind = K::Other,
            }
        }
        Some(_) => s.kind = K::Other,
    }
    // SAFETY: not NULL and valid (contract).
    unsafe { put(out_step, s) }
}

fn session(
    m: Result<&mut MailerObj, MfpOauthStatus>,
) -> Result<&mut mfp_oauth_core::smtp::Client, MfpOauthStatus> {
    m?.mailer.smtp().ok_or(MfpOauthStatus::WrongState)
}

/// `mfp_oauth_smtp_handle_input` on the mailer's session (SESSION plan;
/// `WRONG_STATE` otherwise): every octet is taken, and after the `220` to
/// STARTTLS any plaintext octet must be discarded, never fed after the
/// TLS handshake (fed, it fails the job with `PROTOCOL_VIOLATION`).
///
/// # Safety
/// As for `mfp_oauth_smtp_handle_input`, with `mailer` valid storage.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_handle_input(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    data: *const u8,
    len: usize,
    out_consumed: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe { csmtp::input(session(live(mailer)), now_ms, data, len, out_consumed) }
}

/// `mfp_oauth_smtp_handle_tls_established` on the mailer's session.
///
/// # Safety
/// `mailer` valid storage as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_handle_tls_established(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    csmtp::tls_established(session(unsafe { live(mailer) }), now_ms)
}

/// `mfp_oauth_smtp_handle_tls_failed` on the mailer's session: the TLS
/// handshake started for the `UPGRADE_TLS` event failed, for the TLS
/// stack's reason `diag` (a refused certificate: E604, E607, E608 or E609;
/// no TLS version in common: E610; or E603, E605, E606). The job fails
/// with that diagnostic, as on implicit TLS, not E325 "connection closed";
/// close the connection. Any other `diag` is
/// `MFP_OAUTH_STATUS_INVALID_ARGUMENT` and changes nothing.
///
/// # Safety
/// `mailer` valid storage as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_handle_tls_failed(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    diag: u32,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    csmtp::tls_failed(session(unsafe { live(mailer) }), now_ms, diag)
}

/// `mfp_oauth_smtp_handle_close` on the mailer's session.
///
/// # Safety
/// `mailer` valid storage as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_handle_close(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    csmtp::close(session(unsafe { live(mailer) }), now_ms)
}

/// `mfp_oauth_smtp_handle_timeout` on the mailer's session.
///
/// # Safety
/// `mailer` valid storage as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_handle_timeout(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    csmtp::timeout(session(unsafe { live(mailer) }), now_ms)
}

/// `mfp_oauth_smtp_write_body` on the mailer's session.
///
/// # Safety
/// As for `mfp_oauth_smtp_write_body`, with `mailer` valid storage.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_write_body(
    mailer: *mut MfpOauthMailer,
    input: *const u8,
    input_len: usize,
    out: *mut u8,
    out_len: usize,
    out_consumed: *mut usize,
    out_written: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe {
        csmtp::body(
            session(live(mailer)),
            input,
            input_len,
            out,
            out_len,
            out_consumed,
            out_written,
        )
    }
}

/// `mfp_oauth_smtp_finish_body` on the mailer's session.
///
/// # Safety
/// `mailer` valid storage as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_finish_body(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    csmtp::finish(session(unsafe { live(mailer) }), now_ms)
}

/// `mfp_oauth_smtp_poll_transmit` on the mailer's session.
///
/// # Safety
/// As for `mfp_oauth_smtp_poll_transmit`, with `mailer` valid storage.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_poll_transmit(
    mailer: *mut MfpOauthMailer,
    now_ms: u64,
    out: *mut u8,
    out_len: usize,
    out_written: *mut usize,
    out_sensitive: *mut bool,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe {
        csmtp::transmit(
            session(live(mailer)),
            now_ms,
            out,
            out_len,
            out_written,
            out_sensitive,
        )
    }
}

/// `mfp_oauth_smtp_poll_timeout` on the mailer's session.
///
/// # Safety
/// As for `mfp_oauth_smtp_poll_timeout`, with `mailer` valid storage.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_smtp_poll_timeout(
    mailer: *mut MfpOauthMailer,
    out_deadline_ms: *mut u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    unsafe { csmtp::deadline(session(live(mailer)).map(|c| &*c), out_deadline_ms) }
}

/// A refresh-token status (`mfp_oauth_token_status`), as the panel shows it.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthTokenStatus {
    /// "Required": no refresh token.
    Required = 0,
    /// "Acquired".
    Acquired = 1,
    /// Rejected by the provider: authenticate again.
    ReauthNeeded = 2,
}

/// Writes the refresh-token status of the administrator (`user_id`
/// `{NULL, 0}`) or of user `user_id` (R-TOK-3).
///
/// # Safety
/// `mailer` as for `_destroy` (only read); `user_id` NULL or valid for its
/// length; `out_status` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_token_status(
    mailer: *const MfpOauthMailer,
    user_id: *const c_char,
    user_id_len: usize,
    out_status: *mut MfpOauthTokenStatus,
) -> MfpOauthStatus {
    if out_status.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    let id = MfpOauthStr {
        ptr: user_id,
        len: user_id_len,
    };
    // SAFETY: valid for its length (contract).
    let id = try_status!(unsafe { opt_text(&id) });
    let owner = if id.is_empty() {
        TokenOwner::Admin
    } else {
        TokenOwner::User(try_status!(
            heapless::String::try_from(id).map_err(|_| MfpOauthStatus::CapacityExceeded)
        ))
    };
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live_ref(mailer) });
    let s = match m.mailer.store().status(&owner) {
        TokenStatus::Required => MfpOauthTokenStatus::Required,
        TokenStatus::Acquired => MfpOauthTokenStatus::Acquired,
        TokenStatus::ReauthNeeded => MfpOauthTokenStatus::ReauthNeeded,
    };
    // SAFETY: not NULL and valid (contract).
    unsafe { put(out_status, s) }
}

/// Deletes user `user_id`'s tokens (the panel's Delete, R-TOK-5), or the
/// administrator's with `{NULL, 0}`; a PERSIST step follows.
/// `UNKNOWN_USER` if the user holds none.
///
/// # Safety
/// `mailer` as for `_destroy`; `user_id` NULL or valid for its length.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_delete_tokens(
    mailer: *mut MfpOauthMailer,
    user_id: *const c_char,
    user_id_len: usize,
) -> MfpOauthStatus {
    let id = MfpOauthStr {
        ptr: user_id,
        len: user_id_len,
    };
    // SAFETY: valid for its length (contract).
    let id = try_status!(unsafe { opt_text(&id) });
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    if id.is_empty() {
        m.mailer.store_mut().delete_admin();
        return MfpOauthStatus::Ok;
    }
    match m.mailer.store_mut().delete_user(id) {
        Ok(()) => MfpOauthStatus::Ok,
        Err(e) => MfpOauthStatus::of(e),
    }
}

/// User `user_id` logged out: with automatic deletion on, their tokens are
/// deleted (`*out_deleted` true, and a PERSIST step follows).
///
/// # Safety
/// `mailer` as for `_destroy`; `user_id` NULL or valid for its length;
/// `out_deleted` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_logout(
    mailer: *mut MfpOauthMailer,
    user_id: *const c_char,
    user_id_len: usize,
    out_deleted: *mut bool,
) -> MfpOauthStatus {
    if out_deleted.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: valid for its length (contract).
    let id = try_status!(unsafe { text(user_id, user_id_len) });
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    let deleted = m.mailer.logout(id);
    // SAFETY: not NULL and valid (contract).
    unsafe { put(out_deleted, deleted) }
}

/// The system auto-reset fired (`user_id`: who was logged in, `{NULL, 0}`
/// for nobody): with automatic deletion on, user tokens are deleted.
///
/// # Safety
/// As for `mfp_oauth_mailer_logout`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_auto_reset(
    mailer: *mut MfpOauthMailer,
    user_id: *const c_char,
    user_id_len: usize,
    out_deleted: *mut bool,
) -> MfpOauthStatus {
    if out_deleted.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    let id = MfpOauthStr {
        ptr: user_id,
        len: user_id_len,
    };
    // SAFETY: valid for its length (contract).
    let id = try_status!(unsafe { opt_text(&id) });
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    let current = (!id.is_empty()).then_some(id);
    let deleted = m.mailer.auto_reset(current);
    // SAFETY: not NULL and valid (contract).
    unsafe { put(out_deleted, deleted) }
}

/// Daily (or at power-on) with the wall clock `wall_s` (seconds since
/// 1970): refresh tokens near their provider's expiry raise
/// REFRESH_TOKEN_EXPIRING steps.
///
/// # Safety
/// `mailer` as for `_destroy`.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_check_expiry(
    mailer: *mut MfpOauthMailer,
    wall_s: u64,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live(mailer) });
    m.mailer.check_expiry(WallTime(wall_s));
    MfpOauthStatus::Ok
}

/// Writes the settings in force to `*out_settings` (after
/// `mfp_oauth_mailer_load`, these are the persisted ones, for the panel),
/// the "Send As" list included. The strings point into the mailer's
/// storage: they stay valid until the next `mfp_oauth_mailer_apply_settings`
/// or `_destroy`, and must not be written through. The proxy password is
/// never read back (`{NULL, 0}`); `proxy_password_keep` is set instead, so
/// that passing the result, with any field changed, to
/// `mfp_oauth_mailer_apply_settings` keeps the password and everything else.
///
/// # Safety
/// `mailer` as for `_destroy` (only read); `out_settings` NULL or valid for
/// a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_get_settings(
    mailer: *const MfpOauthMailer,
    out_settings: *mut MfpOauthSettings,
) -> MfpOauthStatus {
    if out_settings.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live_ref(mailer) });
    let c = settings::to_c(m.mailer.settings());
    // SAFETY: not NULL and valid (contract).
    unsafe { put(out_settings, c) }
}

/// One user who holds tokens (`mfp_oauth_user_token`), for the panel's
/// token list (R-TOK-5).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfpOauthUserToken {
    /// The login name, NUL-terminated.
    pub user_id: [c_char; MFP_OAUTH_USER_ID_BUF_LEN],
    /// The account the token was acquired for, NUL-terminated (empty if none).
    pub account: [c_char; MFP_OAUTH_ADDRESS_BUF_LEN],
    /// Its status.
    pub status: MfpOauthTokenStatus,
    /// The provider named `account` as the one that signed in (its
    /// `id_token`, R-ACCT); false: the configured address was assumed
    /// (show it as unverified).
    pub account_verified: bool,
}

fn status_c(s: TokenStatus) -> MfpOauthTokenStatus {
    match s {
        TokenStatus::Required => MfpOauthTokenStatus::Required,
        TokenStatus::Acquired => MfpOauthTokenStatus::Acquired,
        TokenStatus::ReauthNeeded => MfpOauthTokenStatus::ReauthNeeded,
    }
}

/// Writes the number of users holding a token slot to `*out_count` and,
/// with `mfp_oauth_mailer_user_at`, lets the panel list them; also whether
/// the Information screen must show the administrator's re-authentication
/// notice (R-TOK-4) in `*out_admin_notice`.
///
/// # Safety
/// `mailer` as for `_destroy` (only read); the outputs NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_token_overview(
    mailer: *const MfpOauthMailer,
    out_user_count: *mut usize,
    out_admin_notice: *mut bool,
) -> MfpOauthStatus {
    if out_user_count.is_null() || out_admin_notice.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live_ref(mailer) });
    let store = m.mailer.store();
    // SAFETY: both outputs are not NULL and valid (contract).
    unsafe {
        out_user_count.write(store.users().count());
        out_admin_notice.write(store.admin_notice());
    }
    MfpOauthStatus::Ok
}

/// Writes the `index`-th user holding a token slot (`index` below the count
/// of `mfp_oauth_mailer_token_overview`); `INVALID_ARGUMENT` past the end.
///
/// # Safety
/// `mailer` as for `_destroy` (only read); `out_user` NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_user_at(
    mailer: *const MfpOauthMailer,
    index: usize,
    out_user: *mut MfpOauthUserToken,
) -> MfpOauthStatus {
    if out_user.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live_ref(mailer) });
    let store = m.mailer.store();
    let Some((id, status, account)) = store.users().nth(index) else {
        return MfpOauthStatus::InvalidArgument;
    };
    let verified = UserId::try_from(id).is_ok_and(|u| store.account_verified(&TokenOwner::User(u)));
    // SAFETY: not NULL and valid (contract).
    unsafe { put(out_user, token_entry(id, status, account, verified)) }
}

fn token_entry(
    id: &str,
    status: TokenStatus,
    account: Option<&Address>,
    verified: bool,
) -> MfpOauthUserToken {
    let mut u = MfpOauthUserToken {
        user_id: [0; MFP_OAUTH_USER_ID_BUF_LEN],
        account: [0; MFP_OAUTH_ADDRESS_BUF_LEN],
        status: status_c(status),
        account_verified: verified,
    };
    copy_str(&mut u.user_id, id);
    if let Some(a) = account {
        copy_str(&mut u.account, a.as_str());
    }
    u
}

/// Writes the administrator's token slot as a token entry (`user_id`
/// empty): the account the token was acquired for, its status, and
/// whether the provider named that account at sign-in (R-ACCT), for the
/// OAuth screen and the token overview.
///
/// # Safety
/// `mailer` as for `_destroy` (only read); `out_admin` NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_admin_token(
    mailer: *const MfpOauthMailer,
    out_admin: *mut MfpOauthUserToken,
) -> MfpOauthStatus {
    if out_admin.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live_ref(mailer) });
    let store = m.mailer.store();
    let owner = TokenOwner::Admin;
    let u = token_entry(
        "",
        store.admin_status(),
        store.account(&owner),
        store.account_verified(&owner),
    );
    // SAFETY: not NULL and valid (contract).
    unsafe { put(out_admin, u) }
}

/// Writes the SMTP server's last complete reply, for support logs: its code
/// to `*out_code` and its text (enhanced code removed, lines joined, at most
/// 256 octets, NUL-terminated: `MFP_OAUTH_REPLY_TEXT_BUF_LEN` always
/// suffices) to `buf`, with `*out_len` its length. During a session, the
/// latest reply; once the job is DONE or FAILED, the reply that decided it
/// (e.g. `535` "5.7.139 Authentication unsuccessful, ..."), not the `221`
/// to the QUIT that follows, until the next `mfp_oauth_mailer_submit`.
/// `WRONG_STATE` when this job has had no reply (it failed before the
/// connection, or the server never answered); `BUFFER_TOO_SMALL` with the
/// size needed in `*out_len` (nothing else written). Never contains what
/// the client sent.
///
/// # Safety
/// `mailer` as for `_destroy` (only read); `buf` NULL or valid for
/// `buf_len` bytes of writes; the outputs NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_mailer_last_reply(
    mailer: *const MfpOauthMailer,
    out_code: *mut u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> MfpOauthStatus {
    if out_code.is_null() || buf.is_null() || out_len.is_null() {
        return MfpOauthStatus::NullParameter;
    }
    // SAFETY: the caller's contract.
    let m = try_status!(unsafe { live_ref(mailer) });
    let Some(reply) = m.mailer.last_reply() else {
        return MfpOauthStatus::WrongState;
    };
    // SAFETY: the caller's contract for `buf` and `out_len`.
    let status = unsafe { crate::buf::put_c_string(reply.text(), buf, buf_len, out_len) };
    if status == MfpOauthStatus::Ok {
        // SAFETY: not NULL and valid for a write (contract).
        unsafe { out_code.write(u32::from(reply.code.code)) };
    }
    status
}

const _: () =
    assert!(MFP_OAUTH_REPLY_TEXT_BUF_LEN == mfp_oauth_core::limits::MAX_REPLY_TEXT_LEN + 1);
const _: () = assert!(MFP_OAUTH_USER_ID_BUF_LEN == mfp_oauth_core::limits::MAX_USER_ID_LEN + 1);
const _: () = assert!(MFP_OAUTH_ADDRESS_BUF_LEN == mfp_oauth_core::limits::MAX_ADDRESS_LEN + 1);
const _: () = assert!(MFP_OAUTH_HOST_BUF_LEN == mfp_oauth_core::limits::MAX_DOMAIN_LEN + 1);
