//! Diagnostics: the English and French text, remedy and name of every
//! diagnostic id, for the printer's panel and logs (R-DIAG).
//!
//! A failing [`MfpOauthStatus`] is itself a diagnostic number, so
//! `mfp_oauth_diag_message(status, ...)` explains any failed call.

use core::ffi::c_char;

use mfp_oauth_core::diag::{Actor, Id, Lang};

mod packed;

use packed::{Kind, Packed};

use crate::buf::{put, put_c_string, put_c_string_with};
use crate::call;
use crate::MfpOauthStatus;

/// Language of the message catalogue (`mfp_oauth_lang`). Functions take it as
/// a `uint32_t`; any other value is `MFP_OAUTH_STATUS_INVALID_ARGUMENT`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthLang {
    /// English.
    En = 0,
    /// French (the printer manual's language).
    Fr = 1,
}

impl MfpOauthLang {
    fn from_c(lang: u32) -> Option<Lang> {
        match lang {
            0 => Some(Lang::En),
            1 => Some(Lang::Fr),
            _ => None,
        }
    }
}

/// Who has to act on a diagnostic (`mfp_oauth_actor`), from its hundreds.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfpOauthActor {
    /// 1xx: the firmware integrating the library (a call made wrongly).
    Firmware = 1,
    /// 2xx: the printer's administrator (settings).
    Administrator = 2,
    /// 3xx: the mail server or the mailbox's account settings.
    MailServer = 3,
    /// 4xx: the OAuth provider, the app registration or the user's consent.
    Provider = 4,
    /// 5xx: the token store or the persisted image.
    Storage = 5,
    /// 6xx: the network path (DNS, TCP, TLS, proxy).
    Network = 6,
    /// 7xx: the mail API (Microsoft Graph, the Gmail API) or the mailbox's
    /// API permissions.
    MailApi = 7,
}

impl From<Actor> for MfpOauthActor {
    fn from(a: Actor) -> Self {
        match a {
            Actor::Firmware => Self::Firmware,
            Actor::Administrator => Self::Administrator,
            Actor::MailServer => Self::MailServer,
            Actor::Provider => Self::Provider,
            Actor::Storage => Self::Storage,
            Actor::Network => Self::Network,
            Actor::MailApi => Self::MailApi,
        }
    }
}

fn id_of(diag_id: u32) -> Option<Id> {
    Id::from_number(u16::try_from(diag_id).ok()?)
}

/// The texts of the statuses that are not diagnostics (0, 1 and 2), so that
/// every `mfp_oauth_status` has a message, a remedy and a name.
struct StatusText {
    name: &'static str,
    message: [&'static str; 2],
    remedy: [&'static str; 2],
}

fn status_text(number: u32) -> Option<StatusText> {
    Some(match MfpOauthStatus::from_number(number)? {
        MfpOauthStatus::Ok => StatusText {
            name: "Ok",
            message: ["Success.", "Succès."],
            remedy: ["Nothing to do.", "Rien à faire."],
        },
        MfpOauthStatus::NullParameter => StatusText {
            name: "NullParameter",
            message: [
                "A required pointer argument was NULL.",
                "Un pointeur obligatoire passé en argument était NULL.",
            ],
            remedy: [
                "Firmware defect: pass a valid pointer for every argument the function's documentation in mfp_oauth.h does not allow to be NULL.",
                "Défaut du micrologiciel : passer un pointeur valide pour chaque argument que la documentation de la fonction dans mfp_oauth.h ne permet pas de laisser à NULL.",
            ],
        },
        MfpOauthStatus::Unlisted => StatusText {
            name: "Unlisted",
            message: [
                "A failure whose diagnostic this build's status list lacks.",
                "Un échec dont le diagnostic manque dans la liste des statuts de cette version.",
            ],
            remedy: [
                "Library build defect: regenerate the status list and the header (MFP_OAUTH_BLESS=1 cargo test -p mfp-oauth-c --test generated) and rebuild.",
                "Défaut de construction de la bibliothèque : régénérer la liste des statuts et l'en-tête (MFP_OAUTH_BLESS=1 cargo test -p mfp-oauth-c --test generated) puis reconstruire.",
            ],
        },
        _ => return None,
    })
}

/// A text for the caller's buffer: a status's own, as it is, or a
/// diagnostic's, packed ([`packed`]).
#[derive(Clone, Copy)]
enum Text {
    Plain(&'static str),
    Packed(Packed),
}

/// The text `pick` chooses for a diagnostic, or `status` chooses for one of
/// the statuses 0, 1 and 2.
fn text_of(
    diag_id: u32,
    lang: Lang,
    pick: fn(Id, Lang) -> Option<Text>,
    status: fn(&StatusText, Lang) -> &'static str,
) -> Option<Text> {
    match id_of(diag_id) {
        Some(id) => pick(id, lang),
        None => status_text(diag_id).map(|t| Text::Plain(status(&t, lang))),
    }
}

fn by_lang(texts: &[&'static str; 2], lang: Lang) -> &'static str {
    let [en, fr] = *texts;
    match lang {
        Lang::Fr => fr,
        _ => en,
    }
}

/// Copies the text `pick` (a diagnostic's) or `status` (a status's that is
/// no diagnostic) chooses for (`diag_id`, `lang`) into the buffer, as
/// [`put_c_string`] does: a packed text is expanded straight into it.
///
/// # Safety
/// As for [`put_c_string`].
unsafe fn put_text(
    diag_id: u32,
    lang: u32,
    pick: fn(Id, Lang) -> Option<Text>,
    status: fn(&StatusText, Lang) -> &'static str,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> MfpOauthStatus {
    call::call((buf, out_len), || {
        let Some(text) = MfpOauthLang::from_c(lang).and_then(|l| text_of(diag_id, l, pick, status))
        else {
            return MfpOauthStatus::InvalidArgument;
        };
        match text {
            // SAFETY: forwarded caller contract (buffer valid for `buf_len`
            // bytes, `out_len` valid for a write).
            Text::Plain(text) => unsafe { put_c_string(text, buf, buf_len, out_len) },
            // SAFETY: as above.
            Text::Packed(text) => unsafe {
                put_c_string_with(text.len(), |out| text.write(out), buf, buf_len, out_len)
            },
        }
    })
}

/// Writes what went wrong for diagnostic `diag_id` (a diagnostic number such
/// as 305, or any `mfp_oauth_status`: 0, `NULL_PARAMETER` (1) and
/// `UNLISTED` (2) have texts too), in language `lang` (`mfp_oauth_lang`),
/// as a NUL-terminated UTF-8 string into `buf`.
///
/// On success `*out_len` is the text's length without the NUL. If `buf_len`
/// is too small, returns `MFP_OAUTH_STATUS_BUFFER_TOO_SMALL`, writes nothing
/// to `buf` and sets `*out_len` to the `buf_len` needed (256 always suffices
/// for the catalogue's texts). An unknown `diag_id` or `lang` is
/// `MFP_OAUTH_STATUS_INVALID_ARGUMENT`; a NULL `buf` or `out_len` is
/// `MFP_OAUTH_STATUS_NULL_PARAMETER`.
///
/// The library keeps no pointer to `buf`. Reentrant (no shared state).
///
/// # Safety
/// `buf` must be NULL or valid for `buf_len` bytes of writes, `out_len` NULL
/// or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_diag_message(
    diag_id: u32,
    lang: u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        put_text(
            diag_id,
            lang,
            |id, l| Packed::of(id, Kind::Message, l).map(Text::Packed),
            |t, l| by_lang(&t.message, l),
            buf,
            buf_len,
            out_len,
        )
    }
}

/// Writes what to do about diagnostic `diag_id`, in language `lang`; same
/// contract as [`mfp_oauth_diag_message`] (512 bytes always suffice).
///
/// # Safety
/// As for [`mfp_oauth_diag_message`].
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_diag_remedy(
    diag_id: u32,
    lang: u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        put_text(
            diag_id,
            lang,
            |id, l| Packed::of(id, Kind::Remedy, l).map(Text::Packed),
            |t, l| by_lang(&t.remedy, l),
            buf,
            buf_len,
            out_len,
        )
    }
}

/// Writes the code name of diagnostic `diag_id` (`"SmtpAuthDisabled"`), for
/// logs; same buffer contract as [`mfp_oauth_diag_message`] (64 bytes always
/// suffice).
///
/// # Safety
/// As for [`mfp_oauth_diag_message`].
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_diag_name(
    diag_id: u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> MfpOauthStatus {
    // SAFETY: the caller's contract, as documented above.
    unsafe {
        put_text(
            diag_id,
            0,
            |id, _| Some(Text::Plain(id.name())),
            |t, _| t.name,
            buf,
            buf_len,
            out_len,
        )
    }
}

/// Writes who has to act on diagnostic `diag_id` (an `mfp_oauth_actor`) to
/// `*out_actor`; for the statuses `NULL_PARAMETER` (1) and `UNLISTED` (2),
/// the firmware. An unknown id, and 0 (success: nobody acts), is
/// `MFP_OAUTH_STATUS_INVALID_ARGUMENT` and leaves `*out_actor` unchanged.
/// Reentrant.
///
/// # Safety
/// `out_actor` must be NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_diag_actor(
    diag_id: u32,
    out_actor: *mut MfpOauthActor,
) -> MfpOauthStatus {
    call::call(out_actor, || {
        let actor = match id_of(diag_id) {
            Some(id) => id.actor().into(),
            None if diag_id == 1 || diag_id == 2 => MfpOauthActor::Firmware,
            None => return MfpOauthStatus::InvalidArgument,
        };
        // SAFETY: the caller's contract, as documented above.
        unsafe { put(out_actor, actor) }
    })
}

/// Writes the number of diagnostics in the catalogue to `*out_count`; with
/// [`mfp_oauth_diag_id`] the firmware can list them all. Reentrant.
///
/// # Safety
/// `out_count` must be NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_diag_count(out_count: *mut usize) -> MfpOauthStatus {
    call::call(out_count, || {
        // SAFETY: the caller's contract, as documented above.
        unsafe { put(out_count, Id::ALL.len()) }
    })
}

/// Writes the number of the `index`-th diagnostic (in increasing order,
/// `index < count`) to `*out_id`; an index past the end is
/// `MFP_OAUTH_STATUS_INVALID_ARGUMENT`. Reentrant.
///
/// # Safety
/// `out_id` must be NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn mfp_oauth_diag_id(index: usize, out_id: *mut u32) -> MfpOauthStatus {
    call::call(out_id, || {
        let Some(id) = Id::ALL.get(index) else {
            return MfpOauthStatus::InvalidArgument;
        };
        // SAFETY: the caller's contract, as documented above.
        unsafe { put(out_id, u32::from(id.number())) }
    })
}
