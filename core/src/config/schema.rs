//! Every setting declared once (issue 15 item 4, R-CFG): [`Settings`], its
//! default, its in-place reset and default test, and [`SCHEMA`], the table
//! the other places derive from: the CLI's `config set` / `config show`
//! keys, the C struct `mfp_oauth_settings` (generated from this table by
//! the C binding's `generated` test), and the image's tagged record of
//! settings (format 5). A new setting of a plain kind (on/off, a number, a
//! choice, a text, an address) is one entry here.
//!
//! Settings made of several parts (the custom endpoints, the SMTP server,
//! the send-as list, the proxy) are [`Kind::Composite`]: each place that
//! reads or writes them does so by hand, as they have their own shapes
//! (a host and a port, a list edited by `+a`/`-a`, a sealed password).

use heapless::{String, Vec};

use super::{
    AdminSignIn, ClientSecret, CustomProvider, ProviderKind, Proxy, SenderMode, SmtpServer,
    TlsVersion, Transport, WebDavHttpVersion, DEFAULT_REFRESH_MARGIN_S, DEFAULT_TENANT,
    MAX_REFRESH_MARGIN_S, MIN_REFRESH_MARGIN_S,
};
use crate::address::Address;
use crate::limits::{
    MAX_CLIENT_ID_LEN, MAX_SEND_AS, MAX_TENANT_LEN, MAX_THUMBPRINT_TEXT_LEN, MAX_URL_LEN,
};
use crate::provider::MicrosoftCloud;

/// What a setting holds, for the places that read and write settings
/// without knowing each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// On or off.
    Bool,
    /// A whole number; the configuration rules check the range
    /// ([`super::Settings::validate`]).
    Number {
        /// The least valid value.
        min: u32,
        /// The most valid value.
        max: u32,
    },
    /// One of a closed list ([`Choice`]).
    Choice(&'static Choices),
    /// A text of at most `cap` octets.
    Text {
        /// Capacity in octets.
        cap: usize,
    },
    /// An e-mail address, or none.
    Address,
    /// Several parts, read and written by hand in each place.
    Composite,
}

/// How a setting is kept in the image (R-NV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nv {
    /// In the fixed records of image formats 1 to 4 (written by hand in
    /// `image/records.rs`; never reordered).
    Fixed,
    /// In format 5's tagged record under this tag (never reused): the
    /// image code reads and writes it from this table.
    Tag(u8),
}

/// The values of a [`Kind::Choice`] setting's type.
#[derive(Debug, PartialEq, Eq)]
pub struct Choices {
    /// The type's name in the C API (`TlsVersion`: the enum
    /// `mfp_oauth_tls_version`); empty on a bare-metal target.
    pub c_enum: &'static str,
    /// What the type is, for the C header; empty on a bare-metal target.
    pub doc: &'static str,
    /// Every value, in the order of their codes.
    pub names: &'static [ChoiceName],
}

/// One value of a [`Kind::Choice`] setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChoiceName {
    /// Its number (the C enum's value, the image's octet).
    pub code: u8,
    /// The CLI's word (`config set`, `config show`).
    pub word: &'static str,
    /// The C enum constant's suffix (`MFP_OAUTH_<ENUM>_<SUFFIX>`); empty on
    /// a bare-metal target.
    pub c_name: &'static str,
    /// What it means, for the C header; empty on a bare-metal target.
    pub doc: &'static str,
}

/// A setting as the table describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The field of [`super::Settings`] and of the C struct.
    pub field: &'static str,
    /// The CLI's key (`config set KEY VALUE`).
    pub key: &'static str,
    /// What it is (English; the first line is the summary).
    pub doc: &'static str,
    /// What it holds.
    pub kind: Kind,
    /// Where the image keeps it.
    pub nv: Nv,
}

/// A setting's value, borrowed, for the places that handle settings by
/// [`Kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// [`Kind::Bool`].
    Bool(bool),
    /// [`Kind::Number`].
    Number(u32),
    /// [`Kind::Choice`]: the [`ChoiceName::code`].
    Choice(u8),
    /// [`Kind::Text`], and [`Kind::Address`] when written (empty: none).
    Text(&'a str),
    /// [`Kind::Address`] when read.
    Address(Option<&'a Address>),
    /// [`Kind::Composite`]: not readable this way.
    Composite,
}

/// Why [`super::Settings::set_value`] refused a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SetError {
    /// No setting has this field name.
    Unknown,
    /// The value is of another kind than the setting.
    WrongKind,
    /// A number too large for the setting's type, or a choice code that
    /// names none of its values.
    OutOfRange,
    /// A text longer than the setting holds.
    TooLong,
    /// Not an e-mail address.
    InvalidAddress,
    /// A [`Kind::Composite`] setting is not set this way.
    Composite,
}

/// A setting's type, read and written as a [`Value`].
pub trait SettingType {
    /// The value held.
    fn value(&self) -> Value<'_>;
    /// Writes `v` in place (nothing changes on an error).
    ///
    /// # Errors
    /// [`SetError`] when `v` does not fit.
    fn set(&mut self, v: Value<'_>) -> Result<(), SetError>;
}

impl SettingType for bool {
    fn value(&self) -> Value<'_> {
        Value::Bool(*self)
    }
    fn set(&mut self, v: Value<'_>) -> Result<(), SetError> {
        match v {
            Value::Bool(b) => {
                *self = b;
                Ok(())
            }
            _ => Err(SetError::WrongKind),
        }
    }
}

impl SettingType for u16 {
    fn value(&self) -> Value<'_> {
        Value::Number(u32::from(*self))
    }
    fn set(&mut self, v: Value<'_>) -> Result<(), SetError> {
        match v {
            Value::Number(n) => {
                *self = u16::try_from(n).map_err(|_| SetError::OutOfRange)?;
                Ok(())
            }
            _ => Err(SetError::WrongKind),
        }
    }
}

impl<const N: usize> SettingType for String<N> {
    fn value(&self) -> Value<'_> {
        Value::Text(self.as_str())
    }
    fn set(&mut self, v: Value<'_>) -> Result<(), SetError> {
        match v {
            Value::Text(t) if t.len() <= N => {
                self.clear();
                self.push_str(t).map_err(|_| SetError::TooLong)
            }
            Value::Text(_) => Err(SetError::TooLong),
            _ => Err(SetError::WrongKind),
        }
    }
}

impl SettingType for Option<Address> {
    fn value(&self) -> Value<'_> {
        Value::Address(self.as_ref())
    }
    fn set(&mut self, v: Value<'_>) -> Result<(), SetError> {
        match v {
            Value::Text("") | Value::Address(None) => {
                *self = None;
                Ok(())
            }
            // Written in place, not made on this frame and moved (R-MEM:
            // a kilobyte of temporaries under the C API's create).
            Value::Text(t) => Address::set_in(self, t).map_err(|_| SetError::InvalidAddress),
            Value::Address(Some(a)) => {
                Address::set_in(self, a.as_str()).map_err(|_| SetError::InvalidAddress)
            }
            _ => Err(SetError::WrongKind),
        }
    }
}

/// A closed list of values, kept as a number.
pub trait Choice: Copy + Sized + 'static {
    /// Every value with its words.
    const CHOICES: Choices;
    /// The value of code `code`.
    fn from_code(code: u8) -> Option<Self>;
    /// Its code.
    fn code(self) -> u8;
}

macro_rules! choices {
    ($ty:ty, $c_enum:literal, $tdoc:literal { $( $variant:path = $code:literal, $word:literal, $c:literal, $doc:literal; )* }) => {
        impl Choice for $ty {
            // The C names and documentation are for the host's header
            // generator: a board's flash keeps neither (R-MEM).
            const CHOICES: Choices = Choices {
                c_enum: if cfg!(target_os = "none") { "" } else { $c_enum },
                doc: if cfg!(target_os = "none") { "" } else { $tdoc },
                names: &[ $( ChoiceName {
                    code: $code,
                    word: $word,
                    c_name: if cfg!(target_os = "none") { "" } else { $c },
                    doc: if cfg!(target_os = "none") { "" } else { $doc },
                }, )* ],
            };
            fn from_code(code: u8) -> Option<Self> {
                match code {
                    $( $code => Some($variant), )*
                    _ => None,
                }
            }
            fn code(self) -> u8 {
                match self {
                    $( $variant => $code, )*
                    #[allow(unreachable_patterns)]
                    _ => 0,
                }
            }
        }

        impl SettingType for $ty {
            fn value(&self) -> Value<'_> {
                Value::Choice(self.code())
            }
            fn set(&mut self, v: Value<'_>) -> Result<(), SetError> {
                match v {
                    Value::Choice(c) => {
                        *self = <$ty>::from_code(c).ok_or(SetError::OutOfRange)?;
                        Ok(())
                    }
                    _ => Err(SetError::WrongKind),
                }
            }
        }
    };
}

choices!(ProviderKind, "Provider", "The OAuth provider." {
    ProviderKind::Microsoft = 0, "microsoft", "MICROSOFT", "Microsoft 365 / Exchange Online (the default).";
    ProviderKind::Google = 1, "google", "GOOGLE", "Google Workspace / Gmail.";
    ProviderKind::Custom = 2, "custom", "CUSTOM", "Any other standards-compliant provider, with the `custom_*` endpoints.";
});

choices!(MicrosoftCloud, "MicrosoftCloud", "The Microsoft cloud." {
    MicrosoftCloud::Global = 0, "global", "GLOBAL", "Worldwide (the default).";
    MicrosoftCloud::UsGovGccHigh = 1, "us-gov-gcc-high", "US_GOV_GCC_HIGH", "US Government GCC High.";
    MicrosoftCloud::UsGovDod = 2, "us-gov-dod", "US_GOV_DOD", "US Government DoD.";
    MicrosoftCloud::China = 3, "china", "CHINA", "China, operated by 21Vianet.";
});

choices!(SenderMode, "SenderMode", "Sender address change." {
    SenderMode::LoginUserAddress = 0, "login-user", "LOGIN_USER_ADDRESS", "The logged-in user's address; the user's token.";
    SenderMode::AllowUserChanges = 1, "allow-changes", "ALLOW_USER_CHANGES", "The address the user enters; the user's token for that address.";
    SenderMode::AdminFixedAddress = 2, "admin-fixed", "ADMIN_FIXED_ADDRESS", "The administrator's address and token (the shipping default).";
    SenderMode::BulkSetting = 3, "bulk", "BULK_SETTING", "The bulk-setting address (= the administrator's); the administrator's token.";
});

choices!(TlsVersion, "TlsVersion", "An SSL/TLS version." {
    TlsVersion::Tls10 = 0, "1.0", "TLS10", "TLS 1.0.";
    TlsVersion::Tls11 = 1, "1.1", "TLS11", "TLS 1.1.";
    TlsVersion::Tls12 = 2, "1.2", "TLS12", "TLS 1.2.";
    TlsVersion::Tls13 = 3, "1.3", "TLS13", "TLS 1.3.";
});

choices!(WebDavHttpVersion, "WebdavHttp", "The WebDAV client's HTTP version." {
    WebDavHttpVersion::Http11 = 0, "1.1", "HTTP11", "HTTP/1.1 only (the device default).";
    WebDavHttpVersion::Http2Http11 = 1, "2", "HTTP2_HTTP11", "\"HTTP/2,HTTP/1.1\" (Google needs it, R-RULE-3).";
});

choices!(Transport, "Transport", "How a job's message reaches the provider." {
    Transport::Smtp = 0, "smtp", "SMTP", "SMTP submission with XOAUTH2 / OAUTHBEARER (the default).";
    Transport::Graph = 1, "graph", "GRAPH", "Microsoft Graph sendMail over HTTPS (permission Mail.Send); no SMTP AUTH needed.";
    Transport::GmailApi = 2, "gmail-api", "GMAIL_API", "The Gmail API's messages.send upload over HTTPS (scope gmail.send; browser sign-in or service account).";
});

choices!(AdminSignIn, "AdminSignIn", "How the administrator's token is obtained." {
    AdminSignIn::Delegated = 0, "delegated", "DELEGATED", "A person signs in as the administrator's mailbox (device code or browser); the refresh token is kept (the default).";
    AdminSignIn::AppCertificate = 1, "app-certificate", "APP_CERTIFICATE", "Microsoft app-only: client credentials with a certificate assertion the firmware signs; no refresh token.";
    AdminSignIn::ServiceAccount = 2, "service-account", "SERVICE_ACCOUNT", "Google Workspace service account (JWT bearer grant for the administrator's mailbox), signed by the firmware.";
    AdminSignIn::AppSecret = 3, "app-secret", "APP_SECRET", "App-only with the app registration's client secret (sealed in the image); a certificate is the better choice where the provider takes one.";
});

/// Composite settings are not read or written as a [`Value`].
macro_rules! composite {
    ($($ty:ty),*) => {$(
        impl SettingType for $ty {
            fn value(&self) -> Value<'_> {
                Value::Composite
            }
            fn set(&mut self, _: Value<'_>) -> Result<(), SetError> {
                Err(SetError::Composite)
            }
        }
    )*};
}

composite!(
    ClientSecret,
    CustomProvider,
    Option<SmtpServer>,
    Vec<Address, MAX_SEND_AS>,
    Option<Proxy>
);

/// The default tenant as a setting's text.
fn default_tenant() -> String<MAX_TENANT_LEN> {
    let mut t = String::new();
    // The literal is shorter than MAX_TENANT_LEN.
    let _ = t.push_str(DEFAULT_TENANT);
    t
}

/// `*place = make()`, with the new value built on this function's own
/// frame: a settings-wide reset does not stack one temporary per setting
/// (a kilobyte for the custom endpoints) on its caller's (R-MEM).
#[inline(never)]
fn set_default<T>(place: &mut T, make: impl FnOnce() -> T) {
    *place = make();
}

/// `*value == make()`, the default built on this function's own frame
/// (R-MEM, as [`set_default`]).
#[inline(never)]
fn holds_default<T: PartialEq>(value: &T, make: impl FnOnce() -> T) -> bool {
    *value == make()
}

/// Declares [`super::Settings`] and [`SCHEMA`] from one list.
macro_rules! settings {
    ($(
        $(#[doc = $doc:literal])+
        $field:ident: $ty:ty = $default:expr;
        key $key:literal, kind $kind:expr, nv $nv:expr;
    )*) => {
        /// The printer's OAuth-related settings (R-CFG), declared with
        /// their CLI keys, kinds and image places in `config/schema.rs`.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Settings {
            $( $(#[doc = $doc])+ pub $field: $ty, )*
        }

        impl Default for Settings {
            fn default() -> Self {
                Settings { $( $field: $default, )* }
            }
        }

        /// Every setting, in the order the CLI shows them.
        pub const SCHEMA: &[Setting] = &[
            $( Setting {
                field: stringify!($field),
                key: $key,
                // For the host's generators and tools: a board's flash
                // keeps no documentation (R-MEM).
                doc: if cfg!(target_os = "none") { "" } else { concat!($($doc, "\n"),+) },
                kind: $kind,
                nv: $nv,
            }, )*
        ];

        impl Settings {
            /// Back to [`Settings::default`] in place, one field at a time:
            /// nothing the size of the settings (about 4 KB) is built on
            /// the stack (R-MEM). The proxy password is wiped first.
            pub fn reset(&mut self) {
                if let Some(p) = self.proxy.as_mut() {
                    p.password.clear();
                }
                $( set_default(&mut self.$field, || $default); )*
            }

            /// Whether these are the defaults (`== Settings::default()`
            /// without building one on the stack).
            #[must_use]
            pub fn is_default(&self) -> bool {
                $( holds_default(&self.$field, || $default) )&&*
            }

            /// Whether the setting whose field is `field` holds its
            /// default (`false` for no such setting).
            #[must_use]
            pub fn field_is_default(&self, field: &str) -> bool {
                field_index(field).is_some_and(|i| self.field_is_default_at(i))
            }

            /// [`Settings::field_is_default`] for the setting at `index` in
            /// [`SCHEMA`]. The `*_at` calls select the field by its number,
            /// not by comparing its name with each of the others: that is
            /// what the image and the C settings use (R-MEM: 2.9 KB less
            /// flash on the Cortex-M4F at opt-level s).
            #[must_use]
            pub fn field_is_default_at(&self, index: usize) -> bool {
                match index {
                    $( ix::$field => holds_default(&self.$field, || $default), )*
                    _ => false,
                }
            }

            /// The setting whose field is `field` back to its default, in
            /// place; `false` for no such setting.
            pub fn reset_field(&mut self, field: &str) -> bool {
                field_index(field).is_some_and(|i| self.reset_field_at(i))
            }

            /// [`Settings::reset_field`] for the setting at `index` in
            /// [`SCHEMA`].
            pub fn reset_field_at(&mut self, index: usize) -> bool {
                match index {
                    $( ix::$field => {
                        set_default(&mut self.$field, || $default);
                        true
                    } )*
                    _ => false,
                }
            }

            /// The value of the setting whose field is `field`
            /// ([`Value::Composite`] for a composite one), `None` for no
            /// such setting.
            #[must_use]
            pub fn value(&self, field: &str) -> Option<Value<'_>> {
                self.value_at(field_index(field)?)
            }

            /// [`Settings::value`] for the setting at `index` in [`SCHEMA`].
            #[must_use]
            pub fn value_at(&self, index: usize) -> Option<Value<'_>> {
                match index {
                    $( ix::$field => Some(SettingType::value(&self.$field)), )*
                    _ => None,
                }
            }

            /// Writes `v` into the setting whose field is `field`, in place;
            /// nothing changes on an error. The configuration rules are
            /// not checked here ([`Settings::validate`]).
            ///
            /// # Errors
            /// [`SetError`] when there is no such setting or `v` does not
            /// fit it.
            pub fn set_value(&mut self, field: &str, v: Value<'_>) -> Result<(), SetError> {
                self.set_value_at(field_index(field).ok_or(SetError::Unknown)?, v)
            }

            /// [`Settings::set_value`] for the setting at `index` in
            /// [`SCHEMA`].
            ///
            /// # Errors
            /// As [`Settings::set_value`].
            pub fn set_value_at(&mut self, index: usize, v: Value<'_>) -> Result<(), SetError> {
                match index {
                    $( ix::$field => SettingType::set(&mut self.$field, v), )*
                    _ => Err(SetError::Unknown),
                }
            }
        }

        /// The settings' fields in [`SCHEMA`]'s order: their numbers.
        #[allow(non_camel_case_types)]
        enum Field {
            $( $field, )*
        }

        /// Each field's index in [`SCHEMA`], as a constant to match on.
        #[allow(non_upper_case_globals)]
        mod ix {
            $( pub(super) const $field: usize = super::Field::$field as usize; )*
        }
    };
}

/// The index in [`SCHEMA`] of the setting whose field is `field`, for the
/// `*_at` calls of [`super::Settings`]; usable in a constant, so that a
/// caller that names a field in its code looks it up when it is compiled.
#[must_use]
pub const fn field_index(field: &str) -> Option<usize> {
    let mut rest = SCHEMA;
    let mut index = 0;
    while let [setting, tail @ ..] = rest {
        if same_octets(setting.field.as_bytes(), field.as_bytes()) {
            return Some(index);
        }
        rest = tail;
        index += 1;
    }
    None
}

/// `a == b`, in a constant.
const fn same_octets(mut a: &[u8], mut b: &[u8]) -> bool {
    loop {
        match (a, b) {
            ([], []) => return true,
            ([x, after_a @ ..], [y, after_b @ ..]) if *x == *y => {
                a = after_a;
                b = after_b;
            }
            _ => return false,
        }
    }
}

settings! {
    /// [OAuth 2.0] on/off. Default: off.
    oauth_enabled: bool = false;
    key "oauth", kind Kind::Bool, nv Nv::Fixed;

    /// The administrator's e-mail address (a Microsoft or Google account).
    /// Default: none.
    admin_address: Option<Address> = None;
    key "admin-address", kind Kind::Address, nv Nv::Fixed;

    /// [Fournisseur OAuth 2.0]. Default: Microsoft.
    provider: ProviderKind = ProviderKind::Microsoft;
    key "provider", kind Kind::Choice(&ProviderKind::CHOICES), nv Nv::Fixed;

    /// The Microsoft cloud (worldwide, US Government, China). Default:
    /// worldwide.
    microsoft_cloud: MicrosoftCloud = MicrosoftCloud::Global;
    key "microsoft-cloud", kind Kind::Choice(&MicrosoftCloud::CHOICES), nv Nv::Fixed;

    /// The Microsoft tenant (`organizations`, `common`, `consumers`, a
    /// domain or a tenant id). Default: `organizations`.
    tenant: String<MAX_TENANT_LEN> = default_tenant();
    key "tenant", kind Kind::Text { cap: MAX_TENANT_LEN }, nv Nv::Fixed;

    /// The app registration's client id; empty means the vendor's built-in
    /// one (Microsoft, Google). A custom provider needs one.
    client_id: String<MAX_CLIENT_ID_LEN> = String::new();
    key "client-id", kind Kind::Text { cap: MAX_CLIENT_ID_LEN }, nv Nv::Fixed;

    /// The endpoints when [`Settings::provider`] is [`ProviderKind::Custom`]
    /// (or overrides of a preset's).
    custom: CustomProvider = CustomProvider {
        token_url: String::new(),
        device_url: String::new(),
        authorize_url: String::new(),
        scope: String::new(),
    };
    key "token-url", kind Kind::Composite, nv Nv::Fixed;

    /// The provider's SMTP server. Default: none.
    smtp: Option<SmtpServer> = None;
    key "smtp", kind Kind::Composite, nv Nv::Fixed;

    /// [Changement de l'adresse de l'expéditeur]. Default: the
    /// administrator's fixed address.
    sender_mode: SenderMode = SenderMode::AdminFixedAddress;
    key "sender-mode", kind Kind::Choice(&SenderMode::CHOICES), nv Nv::Fixed;

    /// The bulk-setting sender address. Default: none.
    bulk_address: Option<Address> = None;
    key "bulk-address", kind Kind::Address, nv Nv::Fixed;

    /// From addresses allowed although they are not the signing account
    /// (shared mailboxes, Microsoft "Send As"). Default: empty.
    send_as: Vec<Address, MAX_SEND_AS> = Vec::new();
    key "send-as", kind Kind::Composite, nv Nv::Fixed;

    /// The proxy for the token traffic. Default: none.
    proxy: Option<Proxy> = None;
    key "proxy", kind Kind::Composite, nv Nv::Fixed;

    /// The minimum SSL/TLS version. Default: TLS 1.2.
    tls_min: TlsVersion = TlsVersion::Tls12;
    key "tls-min", kind Kind::Choice(&TlsVersion::CHOICES), nv Nv::Fixed;

    /// The maximum SSL/TLS version. Default: TLS 1.3.
    tls_max: TlsVersion = TlsVersion::Tls13;
    key "tls-max", kind Kind::Choice(&TlsVersion::CHOICES), nv Nv::Fixed;

    /// The WebDAV client's HTTP version. Default: HTTP/1.1.
    webdav_http: WebDavHttpVersion = WebDavHttpVersion::Http11;
    key "webdav-http", kind Kind::Choice(&WebDavHttpVersion::CHOICES), nv Nv::Fixed;

    /// Network 2 with VLAN. Default: off.
    vlan_on_network2: bool = false;
    key "vlan", kind Kind::Bool, nv Nv::Fixed;

    /// [Suppression automatique] of user tokens at logout and system
    /// auto-reset. Default: off.
    auto_delete_user_tokens: bool = false;
    key "auto-delete", kind Kind::Bool, nv Nv::Fixed;

    /// The Google app is in "Testing" publishing status: its refresh tokens
    /// die after 7 days, and the administrator is warned ahead.
    google_app_testing: bool = false;
    key "google-app-testing", kind Kind::Bool, nv Nv::Fixed;

    /// How long before an access token expires it is renewed, in seconds
    /// (R-APP): 600 by default, from 60 to 1800. Microsoft's High Volume
    /// Email refuses a token with less than 600 s left (`501 5.5.127`). A
    /// token that lives less than twice the margin is renewed at half its
    /// life. Applies to the tokens stored after a change.
    refresh_margin_s: u16 = DEFAULT_REFRESH_MARGIN_S;
    key "refresh-margin",
    kind Kind::Number { min: MIN_REFRESH_MARGIN_S as u32, max: MAX_REFRESH_MARGIN_S as u32 },
    nv Nv::Tag(1);

    /// How the administrator's token is obtained (R-APP): delegated (a
    /// person signs in), Microsoft app-only with a certificate, or a Google
    /// service account. App-only needs a sender mode that uses the
    /// administrator's token, and sends as the administrator's address and
    /// the send-as list only. Default: delegated.
    admin_sign_in: AdminSignIn = AdminSignIn::Delegated;
    key "admin-sign-in", kind Kind::Choice(&AdminSignIn::CHOICES), nv Nv::Tag(2);

    /// The SHA-256 thumbprint of the certificate uploaded to the app
    /// registration, for Microsoft app-only: 64 hexadecimal digits (pairs
    /// may be separated by `:`) or base64. The private key stays in the
    /// firmware, which signs. Default: none.
    app_certificate_thumbprint: String<MAX_THUMBPRINT_TEXT_LEN> = String::new();
    key "certificate-thumbprint", kind Kind::Text { cap: MAX_THUMBPRINT_TEXT_LEN }, nv Nv::Tag(3);

    /// The Google service account's address (its key file's
    /// `client_email`), for a service-account sign-in. Default: none.
    service_account: Option<Address> = None;
    key "service-account", kind Kind::Address, nv Nv::Tag(4);

    /// The app registration's client secret, for app-only with a secret: a
    /// secret, sealed in the image (format 6) like the proxy password and
    /// never shown or read back. Default: none.
    app_client_secret: ClientSecret = ClientSecret::default();
    key "client-secret", kind Kind::Composite, nv Nv::Fixed;

    /// How jobs send (R-XPORT): SMTP, Microsoft Graph or the Gmail API.
    /// The API transports need no SMTP server and no SMTP AUTH; they ask
    /// the provider for the API's scope instead of the SMTP one, so the
    /// tokens held are asked for again after a change. Default: SMTP.
    transport: Transport = Transport::Smtp;
    key "transport", kind Kind::Choice(&Transport::CHOICES), nv Nv::Tag(5);

    /// The mail API's base URL, replacing the provider's (Graph:
    /// `https://graph.microsoft.com`, Gmail: `https://gmail.googleapis.com`):
    /// a gateway, a national cloud's Graph host, a test server. A custom
    /// provider with an API transport needs one. Default: none.
    api_url: String<MAX_URL_LEN> = String::new();
    key "api-url", kind Kind::Text { cap: MAX_URL_LEN }, nv Nv::Tag(6);
}

/// The setting whose CLI key is `key`.
#[must_use]
pub fn by_key(key: &str) -> Option<&'static Setting> {
    SCHEMA.iter().find(|s| s.key == key)
}

/// How many settings the image keeps in its tagged record ([`Nv::Tag`]).
#[must_use]
pub const fn tagged_count() -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < SCHEMA.len() {
        // `i` is below the length (the loop's condition).
        #[allow(clippy::indexing_slicing)]
        if let Nv::Tag(_) = SCHEMA[i].nv {
            n += 1;
        }
        i += 1;
    }
    n
}

/// An upper bound, in octets, of the postcard encoding of the tagged
/// record: a varint count, then per setting its tag, the value's variant
/// and the value (a text: a varint length and its octets).
#[must_use]
pub const fn tagged_len_bound() -> usize {
    let mut n = 3;
    let mut i = 0;
    while i < SCHEMA.len() {
        // `i` is below the length (the loop's condition).
        #[allow(clippy::indexing_slicing)]
        let s = &SCHEMA[i];
        if let Nv::Tag(_) = s.nv {
            n += 2 + match s.kind {
                Kind::Bool | Kind::Choice(_) => 1,
                Kind::Number { .. } => 5,
                Kind::Text { cap } => 3 + cap,
                Kind::Address => 3 + crate::limits::MAX_ADDRESS_LEN,
                Kind::Composite => 0,
            };
        }
        i += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::addr;

    #[test]
    fn keys_fields_and_tags_are_unique_and_no_composite_is_tagged() {
        for (i, a) in SCHEMA.iter().enumerate() {
            for b in &SCHEMA[i + 1..] {
                assert_ne!(a.key, b.key);
                assert_ne!(a.field, b.field);
                if let (Nv::Tag(x), Nv::Tag(y)) = (a.nv, b.nv) {
                    assert_ne!(x, y, "{} and {}", a.field, b.field);
                }
            }
            if a.kind == Kind::Composite {
                assert_eq!(a.nv, Nv::Fixed, "{}", a.field);
            }
            assert!(!a.doc.trim().is_empty(), "{}", a.field);
            assert_eq!(by_key(a.key), Some(a));
        }
        assert_eq!(
            tagged_count(),
            SCHEMA.iter().filter(|s| matches!(s.nv, Nv::Tag(_))).count()
        );
    }

    /// A value of each plain setting other than its default, of its kind.
    fn other_value(s: &Setting) -> Value<'static> {
        let default = Settings::default();
        match s.kind {
            Kind::Bool => Value::Bool(true),
            Kind::Number { min, max } => Value::Number((min + max) / 2),
            Kind::Choice(c) => c
                .names
                .iter()
                .map(|n| Value::Choice(n.code))
                .find(|v| Some(*v) != default.value(s.field))
                .unwrap(),
            Kind::Text { .. } => Value::Text("contoso.example"),
            Kind::Address => Value::Text("someone@contoso.example"),
            Kind::Composite => Value::Composite,
        }
    }

    #[test]
    fn every_plain_setting_is_read_written_and_reset_through_the_table() {
        let mut s = Settings::default();
        assert!(s.is_default());
        for setting in SCHEMA {
            let v = other_value(setting);
            if setting.kind == Kind::Composite {
                assert_eq!(s.value(setting.field), Some(Value::Composite));
                assert_eq!(s.set_value(setting.field, v), Err(SetError::Composite));
                continue;
            }
            s.set_value(setting.field, v).unwrap();
            let back = s.value(setting.field).unwrap();
            match (setting.kind, back) {
                (Kind::Address, Value::Address(Some(a))) => {
                    assert_eq!(a, &addr("someone@contoso.example"));
                }
                _ => assert_eq!(back, v, "{}", setting.field),
            }
            assert!(!s.is_default(), "{}", setting.field);
            assert!(s.reset_field(setting.field));
            assert!(s.is_default(), "{} back to its default", setting.field);
        }
        // Every plain setting changed at once, then reset whole.
        for setting in SCHEMA.iter().filter(|x| x.kind != Kind::Composite) {
            s.set_value(setting.field, other_value(setting)).unwrap();
        }
        s.reset();
        assert_eq!(s, Settings::default());
        assert_eq!(s.value("nothing"), None);
        assert_eq!(
            s.set_value("nothing", Value::Bool(true)),
            Err(SetError::Unknown)
        );
        assert!(!s.reset_field("nothing"));
    }

    #[test]
    fn a_field_is_found_by_its_index_as_by_its_name() {
        let mut changed = crate::config::tests::valid(SenderMode::AdminFixedAddress);
        changed.tls_min = TlsVersion::Tls13;
        for (index, setting) in SCHEMA.iter().enumerate() {
            assert_eq!(field_index(setting.field), Some(index), "{}", setting.field);
            assert_eq!(changed.value_at(index), changed.value(setting.field));
            assert_eq!(
                changed.field_is_default_at(index),
                changed.field_is_default(setting.field)
            );
        }
        for unknown in ["", "oauth", "oauth_enabled_", "Oauth_enabled"] {
            assert_eq!(field_index(unknown), None, "{unknown}");
        }
        let past = SCHEMA.len();
        assert_eq!(changed.value_at(past), None);
        assert!(!changed.field_is_default_at(past));
        assert!(!changed.reset_field_at(past));
        assert_eq!(
            changed.set_value_at(past, Value::Bool(true)),
            Err(SetError::Unknown)
        );
        // Resetting by index resets that field only.
        let tls_min = field_index("tls_min").unwrap();
        assert!(!changed.field_is_default_at(tls_min));
        assert!(changed.reset_field_at(tls_min));
        assert!(changed.field_is_default_at(tls_min));
        assert!(!changed.field_is_default_at(field_index("oauth_enabled").unwrap()));
    }

    #[test]
    fn values_that_do_not_fit_change_nothing() {
        let mut s = Settings::default();
        for (field, v, e) in [
            ("oauth_enabled", Value::Number(1), SetError::WrongKind),
            (
                "refresh_margin_s",
                Value::Number(70_000),
                SetError::OutOfRange,
            ),
            ("provider", Value::Choice(9), SetError::OutOfRange),
            ("tenant", Value::Text(&"x".repeat(65)), SetError::TooLong),
            (
                "admin_address",
                Value::Text("not an address"),
                SetError::InvalidAddress,
            ),
        ] {
            assert_eq!(s.set_value(field, v), Err(e), "{field}");
        }
        assert!(s.is_default());
    }
}
