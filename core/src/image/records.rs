//! The image's records: the settings and each token slot's metadata as
//! postcard encodes them (format versions 1 to 5; never reorder fields),
//! and their conversion from and back into [`Settings`] and the store's
//! slots. No secret is in a record: the secrets follow in the vault.

use heapless::{String, Vec};
use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::{NvError, STATUS_VERIFIED};
use crate::address::Address;
use crate::config::{
    Nv, ProviderKind, Proxy, SenderMode, Settings, SmtpServer, TlsVersion, Value,
    WebDavHttpVersion, SCHEMA,
};
use crate::limits::MAX_SEND_AS;
#[cfg(test)]
use crate::limits::MAX_USER_TOKENS;
use crate::provider::MicrosoftCloud;
use crate::secret::SecretBuf;
use crate::smtp::Security;
use crate::token::{Slot, TokenStatus, TokenStore, UserSlots, WallTime};

#[derive(Serialize, Deserialize)]
pub(super) struct NvSettings<'a> {
    pub(super) admin_address: Option<&'a str>,
    pub(super) oauth_enabled: bool,
    pub(super) provider: u8,
    pub(super) tenant: &'a str,
    pub(super) client_id: &'a str,
    pub(super) custom: [&'a str; 4],
    pub(super) google_app_testing: bool,
    pub(super) smtp: Option<(&'a str, u16, u8)>,
    pub(super) sender_mode: u8,
    pub(super) bulk_address: Option<&'a str>,
    #[serde(borrow)]
    pub(super) send_as: Vec<&'a str, MAX_SEND_AS>,
    /// Host, port, user, password length (the password is in the vault).
    pub(super) proxy: Option<(&'a str, u16, &'a str, u16)>,
    pub(super) tls_min: u8,
    pub(super) tls_max: u8,
    pub(super) webdav_http: u8,
    vlan_on_network2: bool,
    pub(super) auto_delete_user_tokens: bool,
    pub(super) microsoft_cloud: u8,
}

#[derive(Serialize, Deserialize)]
pub(super) struct NvSlot<'a> {
    pub(super) account: Option<&'a str>,
    /// [`TokenStatus`], with [`STATUS_VERIFIED`] from format 2.
    pub(super) status: u8,
    pub(super) acquired_at: Option<u64>,
    pub(super) last_used: Option<u64>,
    pub(super) secret_len: u16,
}

#[derive(Serialize, Deserialize)]
pub(super) struct NvUser<'a> {
    pub(super) id: &'a str,
    #[serde(borrow)]
    pub(super) slot: NvSlot<'a>,
}

/// The settings that came after format 2, in a record of their own so that
/// a format-2 image (which has none) still reads (format version 3).
#[derive(Serialize, Deserialize)]
pub(super) struct NvSettings3 {
    pub(super) refresh_margin_s: u16,
}

/// When each slot's refresh token dies by the provider's word (wall-clock
/// seconds; `refresh_token_expires_in`, R-TOK health), the administrator's
/// first, then each user's in the order of the users' records: a record of
/// its own after the users so that a format-3 image (which has none) still
/// reads (format version 4). Written and read an entry at a time (the
/// loader holds no list); the gathered shape is the tests'.
#[cfg(test)]
pub(super) type NvExpiries = Vec<Option<u64>, { MAX_USER_TOKENS + 1 }>;

/// A setting's value in format 5's tagged record.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NvValue<'a> {
    Bool(bool),
    Number(u32),
    Choice(u8),
    Text(&'a str),
}

/// Format 5's record of the settings the schema gives a tag
/// ([`Nv::Tag`]): (tag, value) pairs, so that a new setting needs no new
/// record and an image from before it loads with its default. A tag this
/// build does not know is skipped.
#[cfg(test)]
pub(super) type NvTagged<'a> = Vec<(u8, NvValue<'a>), { crate::config::schema::tagged_count() }>;

/// The metadata record's shape, gathered (what [`MetaRecord`] writes; the
/// loader reads it in its parts).
#[cfg(test)]
#[derive(Serialize, Deserialize)]
pub(super) struct NvMeta<'a> {
    #[serde(borrow)]
    pub(super) settings: NvSettings<'a>,
    #[serde(borrow)]
    pub(super) tagged: NvTagged<'a>,
    /// Format 6: the length of the client secret in the vault (0: none).
    pub(super) client_secret_len: u16,
    #[serde(borrow)]
    pub(super) admin: NvSlot<'a>,
    #[serde(borrow)]
    pub(super) users: Vec<NvUser<'a>, MAX_USER_TOKENS>,
    pub(super) expiries: NvExpiries,
}

const fn security_code(s: Security) -> u8 {
    match s {
        Security::StartTls => 0,
        Security::ImplicitTls => 1,
    }
}

fn len16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

pub(super) fn nv_slot(slot: &Slot) -> NvSlot<'_> {
    NvSlot {
        account: slot.account.as_ref().map(Address::as_str),
        status: slot.status as u8 | if slot.verified { STATUS_VERIFIED } else { 0 },
        acquired_at: slot.acquired_at.map(|w| w.0),
        last_used: slot.last_used.map(|w| w.0),
        secret_len: len16(slot.refresh.len()),
    }
}

pub(super) fn nv_settings(s: &Settings) -> NvSettings<'_> {
    NvSettings {
        admin_address: s.admin_address.as_ref().map(Address::as_str),
        oauth_enabled: s.oauth_enabled,
        provider: s.provider as u8,
        tenant: &s.tenant,
        client_id: &s.client_id,
        custom: [
            &s.custom.token_url,
            &s.custom.device_url,
            &s.custom.authorize_url,
            &s.custom.scope,
        ],
        google_app_testing: s.google_app_testing,
        smtp: s
            .smtp
            .as_ref()
            .map(|m| (m.host.as_str(), m.port, security_code(m.security))),
        sender_mode: s.sender_mode as u8,
        bulk_address: s.bulk_address.as_ref().map(Address::as_str),
        send_as: s.send_as.iter().map(Address::as_str).collect(),
        proxy: s.proxy.as_ref().map(|p| {
            (
                p.host.as_str(),
                p.port,
                p.user.as_str(),
                len16(p.password.len()),
            )
        }),
        tls_min: s.tls_min as u8,
        tls_max: s.tls_max as u8,
        webdav_http: s.webdav_http as u8,
        vlan_on_network2: s.vlan_on_network2,
        auto_delete_user_tokens: s.auto_delete_user_tokens,
        microsoft_cloud: match s.microsoft_cloud {
            MicrosoftCloud::Global => 0,
            MicrosoftCloud::UsGovGccHigh => 1,
            MicrosoftCloud::UsGovDod => 2,
            MicrosoftCloud::China => 3,
        },
    }
}

/// Restores `slot` from its record; `expiry` is its entry of the
/// format-4 `NvExpiries` (`None` before format 4). Not inlined: the
/// account it parses stays off the frame that opens the vault (R-MEM).
#[inline(never)]
pub(super) fn restore(
    slot: &mut Slot,
    nv: &NvSlot<'_>,
    expiry: Option<u64>,
    version: u16,
) -> Result<(), NvError> {
    let account = nv.account.map(parse_address).transpose()?;
    let verified = nv.status & STATUS_VERIFIED != 0;
    // Format 1 had no such mark: an image claiming it is damaged.
    if verified && version < 2 {
        return Err(NvError::Corrupt);
    }
    let status = TokenStatus::from_u8(nv.status & !STATUS_VERIFIED).ok_or(NvError::Corrupt)?;
    slot.restore(
        account,
        verified,
        status,
        nv.acquired_at.map(WallTime),
        nv.last_used.map(WallTime),
        expiry.map(WallTime),
    );
    Ok(())
}

fn parse_address(s: &str) -> Result<Address, NvError> {
    Address::parse(s).map_err(|_| NvError::Corrupt)
}

/// `s` written into `place` (R-MEM: no string temporary).
fn set_string<const N: usize>(place: &mut String<N>, s: &str) -> Result<(), NvError> {
    place.clear();
    place.push_str(s).map_err(|_| NvError::Corrupt)
}

/// The (tag, value) pairs of format 5's tagged record for `s`, in the
/// schema's order.
fn tagged_values(s: &Settings) -> impl Iterator<Item = (u8, NvValue<'_>)> {
    SCHEMA.iter().enumerate().filter_map(|(index, setting)| {
        let Nv::Tag(tag) = setting.nv else {
            return None;
        };
        // A setting at its default is left out (its tag's absence means
        // the default): an image does not change when a setting is added.
        if s.field_is_default_at(index) {
            return None;
        }
        let value = match s.value_at(index)? {
            Value::Bool(b) => NvValue::Bool(b),
            Value::Number(n) => NvValue::Number(n),
            Value::Choice(c) => NvValue::Choice(c),
            Value::Text(t) => NvValue::Text(t),
            Value::Address(a) => NvValue::Text(a.map_or("", Address::as_str)),
            // A composite setting has no tag (schema test).
            Value::Composite => return None,
        };
        Some((tag, value))
    })
}

/// Format 5's tagged record of `s`, gathered (the writer streams it
/// instead, [`MetaRecord`]; kept to check that both agree).
#[cfg(test)]
pub(super) fn nv_tagged(s: &Settings) -> NvTagged<'_> {
    // As many entries as tagged settings: no push can fail.
    tagged_values(s).collect()
}

/// The metadata record of an image (an `NvMeta`) as postcard writes it,
/// made field by field from the settings and the store while it is
/// encoded: the users' records and the tagged settings are not gathered on
/// the stack first (R-MEM: they were 1.3 KB of the image writer's frame,
/// under `mfp_oauth_mailer_save_begin`).
pub(super) struct MetaRecord<'a, U: UserSlots> {
    pub(super) settings: &'a Settings,
    pub(super) store: &'a TokenStore<U>,
}

impl<U: UserSlots> Serialize for MetaRecord<'_, U> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The fields of `NvMeta`, in its order (postcard writes a struct
        // as its fields one after the other).
        let mut meta = s.serialize_struct("NvMeta", 6)?;
        meta.serialize_field("settings", &nv_settings(self.settings))?;
        meta.serialize_field("tagged", &TaggedRecord(self.settings))?;
        let secret_len = len16(self.settings.app_client_secret.0.len());
        meta.serialize_field("client_secret_len", &secret_len)?;
        meta.serialize_field("admin", &nv_slot(&self.store.admin))?;
        meta.serialize_field("users", &UserRecords(self.store))?;
        meta.serialize_field("expiries", &ExpiryRecord(self.store))?;
        meta.end()
    }
}

/// Format 5's tagged record (`NvTagged`) as a sequence made while it is
/// written.
struct TaggedRecord<'a>(&'a Settings);

impl Serialize for TaggedRecord<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(tagged_values(self.0).count()))?;
        for pair in tagged_values(self.0) {
            seq.serialize_element(&pair)?;
        }
        seq.end()
    }
}

/// The users' [`NvUser`] records, made one at a time.
struct UserRecords<'a, U: UserSlots>(&'a TokenStore<U>);

impl<U: UserSlots> Serialize for UserRecords<'_, U> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.user_entries().count()))?;
        for u in self.0.user_entries() {
            seq.serialize_element(&NvUser {
                id: &u.id,
                slot: nv_slot(&u.slot),
            })?;
        }
        seq.end()
    }
}

/// `NvExpiries`: the administrator's, then each user's in the order of
/// the users' records.
struct ExpiryRecord<'a, U: UserSlots>(&'a TokenStore<U>);

impl<U: UserSlots> Serialize for ExpiryRecord<'_, U> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let slots =
            || core::iter::once(&self.0.admin).chain(self.0.user_entries().map(|u| &u.slot));
        let mut seq = s.serialize_seq(Some(slots().count()))?;
        for slot in slots() {
            seq.serialize_element(&slot.refresh_expires_at.map(|w| w.0))?;
        }
        seq.end()
    }
}

/// Every tagged setting of `s` back to its default: what an image without
/// the tagged record (format 4 or older) or without a setting's tag means.
pub(super) fn reset_tagged(s: &mut Settings) {
    for (index, setting) in SCHEMA.iter().enumerate() {
        if let Nv::Tag(_) = setting.nv {
            s.reset_field_at(index);
        }
    }
}

/// Reads format 5's tagged record at the start of `bytes` into `s` (after
/// [`reset_tagged`]) and returns what follows it. Pair by pair, so that a
/// tag this build does not know is skipped whatever their number.
/// `undecodable`: the error for a record that does not decode.
pub(super) fn read_tagged<'b>(
    bytes: &'b [u8],
    s: &mut Settings,
    undecodable: NvError,
) -> Result<&'b [u8], NvError> {
    let (count, mut rest) = postcard::take_from_bytes::<usize>(bytes).map_err(|_| undecodable)?;
    for _ in 0..count {
        let ((tag, value), after) =
            postcard::take_from_bytes::<(u8, NvValue<'_>)>(rest).map_err(|_| undecodable)?;
        rest = after;
        let Some(index) = SCHEMA.iter().position(|x| x.nv == Nv::Tag(tag)) else {
            continue;
        };
        let value = match value {
            NvValue::Bool(b) => Value::Bool(b),
            NvValue::Number(n) => Value::Number(n),
            NvValue::Choice(c) => Value::Choice(c),
            NvValue::Text(t) => Value::Text(t),
        };
        s.set_value_at(index, value).map_err(|_| NvError::Corrupt)?;
    }
    Ok(rest)
}

/// Writes the format-3 record into `s`; `None` (a format-2 image) leaves
/// those settings at their defaults.
pub(super) fn settings3_into(nv: Option<&NvSettings3>, s: &mut Settings) {
    if let Some(n) = nv {
        s.refresh_margin_s = n.refresh_margin_s;
    }
}

/// Writes the image's settings into `s`, field by field (R-MEM). Not
/// inlined: its temporaries (an address, a host) then live on its own
/// frame, not beside the secret's scratch buffer.
#[inline(never)]
pub(super) fn settings_into(nv: &NvSettings<'_>, s: &mut Settings) -> Result<(), NvError> {
    let bad = NvError::Corrupt;
    s.provider = match nv.provider {
        0 => ProviderKind::Microsoft,
        1 => ProviderKind::Google,
        2 => ProviderKind::Custom,
        _ => return Err(bad),
    };
    s.sender_mode = match nv.sender_mode {
        0 => SenderMode::LoginUserAddress,
        1 => SenderMode::AllowUserChanges,
        2 => SenderMode::AdminFixedAddress,
        3 => SenderMode::BulkSetting,
        _ => return Err(bad),
    };
    let tls = |n: u8| match n {
        0 => Ok(TlsVersion::Tls10),
        1 => Ok(TlsVersion::Tls11),
        2 => Ok(TlsVersion::Tls12),
        3 => Ok(TlsVersion::Tls13),
        _ => Err(bad),
    };
    s.microsoft_cloud = match nv.microsoft_cloud {
        0 => MicrosoftCloud::Global,
        1 => MicrosoftCloud::UsGovGccHigh,
        2 => MicrosoftCloud::UsGovDod,
        3 => MicrosoftCloud::China,
        _ => return Err(bad),
    };
    s.webdav_http = match nv.webdav_http {
        0 => WebDavHttpVersion::Http11,
        1 => WebDavHttpVersion::Http2Http11,
        _ => return Err(bad),
    };
    set_smtp(&mut s.smtp, nv.smtp)?;
    set_proxy(&mut s.proxy, nv.proxy)?;
    s.send_as.clear();
    for a in &nv.send_as {
        push_address(&mut s.send_as, a)?;
    }
    let [token_url, device_url, authorize_url, scope] = nv.custom;
    set_address(&mut s.admin_address, nv.admin_address)?;
    s.oauth_enabled = nv.oauth_enabled;
    set_string(&mut s.tenant, nv.tenant)?;
    set_string(&mut s.client_id, nv.client_id)?;
    set_string(&mut s.custom.token_url, token_url)?;
    set_string(&mut s.custom.device_url, device_url)?;
    set_string(&mut s.custom.authorize_url, authorize_url)?;
    set_string(&mut s.custom.scope, scope)?;
    s.google_app_testing = nv.google_app_testing;
    set_address(&mut s.bulk_address, nv.bulk_address)?;
    s.tls_min = tls(nv.tls_min)?;
    s.tls_max = tls(nv.tls_max)?;
    s.vlan_on_network2 = nv.vlan_on_network2;
    s.auto_delete_user_tokens = nv.auto_delete_user_tokens;
    Ok(())
}

// The helpers below are not inlined: each one's temporary (an address, a
// host, a proxy) lives on its own short frame, one at a time, not all
// together on `settings_into`'s (R-MEM).

#[inline(never)]
fn set_address(place: &mut Option<Address>, s: Option<&str>) -> Result<(), NvError> {
    match s {
        Some(s) => Address::set_in(place, s).map_err(|_| NvError::Corrupt),
        None => {
            *place = None;
            Ok(())
        }
    }
}

#[inline(never)]
fn push_address<const N: usize>(list: &mut Vec<Address, N>, s: &str) -> Result<(), NvError> {
    Address::push_onto(list, s).map_err(|_| NvError::Corrupt)
}

#[inline(never)]
fn set_smtp(
    s_smtp: &mut Option<SmtpServer>,
    nv_smtp: Option<(&str, u16, u8)>,
) -> Result<(), NvError> {
    let Some((host, port, sec)) = nv_smtp else {
        *s_smtp = None;
        return Ok(());
    };
    let security = match sec {
        0 => Security::StartTls,
        1 => Security::ImplicitTls,
        _ => return Err(NvError::Corrupt),
    };
    if SmtpServer::set_in(s_smtp, host, port, security) {
        Ok(())
    } else {
        Err(NvError::Corrupt)
    }
}

#[inline(never)]
fn set_proxy(
    s_proxy: &mut Option<Proxy>,
    nv_proxy: Option<(&str, u16, &str, u16)>,
) -> Result<(), NvError> {
    if let Some(p) = s_proxy.as_mut() {
        p.password.clear();
    }
    let Some((host, port, user, _)) = nv_proxy else {
        *s_proxy = None;
        return Ok(());
    };
    // Written in place from an all-zero value (a memset), not built and
    // moved (R-MEM).
    let p = s_proxy.insert(Proxy {
        host: String::new(),
        port: 0,
        user: String::new(),
        password: SecretBuf::new(),
    });
    set_string(&mut p.host, host)?;
    p.port = port;
    set_string(&mut p.user, user)
}
