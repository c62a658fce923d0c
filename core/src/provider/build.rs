//! How a provider profile is built, once, for two destinations: the
//! [`Provider`] itself, and a [`ProfileCheck`] that only learns whether the
//! profile can be built and whether it has a device endpoint.
//!
//! The mailer asks that question each time the settings change (the sign-in
//! method and the rules follow from it). Building the whole profile for it
//! put 1.3 KB on the frame of `mfp_oauth_mailer_load` and
//! `_apply_settings`; the check writes every endpoint in turn into the room
//! of one (R-MEM). Both destinations go through the same steps below, so
//! they cannot disagree on what is valid.

use heapless::String;

use super::{
    CustomEndpoints, Endpoint, EndpointOverrides, MicrosoftCloud, ProfileError, Provider,
    ProviderKind, Tenant, GMAIL_SEND_SCOPE,
};
use crate::limits::{MAX_ENDPOINT_PATH_LEN, MAX_SCOPE_LEN};

/// One of a profile's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Authorize,
    Token,
    Device,
}

/// Where a profile's parts are written. The steps take it as `dyn`: one
/// copy of them in the firmware for both destinations (0.6 KB of flash
/// less than a copy each).
pub(crate) trait ProfileSink {
    fn set_kind(&mut self, kind: ProviderKind);
    fn kind(&self) -> ProviderKind;
    /// `role`'s endpoint, made present, to be written in place.
    fn endpoint(&mut self, role: Role) -> &mut Endpoint;
    /// The profile has no `role` endpoint.
    fn drop_endpoint(&mut self, role: Role);
    /// `scope`, already checked ([`checked_scope`]).
    fn put_scope(&mut self, scope: &str);
    fn set_graph(&mut self, graph: bool);
}

/// `scope` if a profile may request it: not blank, no control character,
/// at most [`MAX_SCOPE_LEN`] octets.
pub(crate) fn checked_scope(scope: &str) -> Result<&str, ProfileError> {
    if scope.trim().is_empty()
        || scope.bytes().any(|c| c.is_ascii_control())
        || scope.len() > MAX_SCOPE_LEN
    {
        return Err(ProfileError::InvalidScope);
    }
    Ok(scope)
}

fn scope(s: &mut dyn ProfileSink, scope: &str) -> Result<(), ProfileError> {
    s.put_scope(checked_scope(scope)?);
    Ok(())
}

/// A Microsoft endpoint written into `e`.
fn ms_endpoint(e: &mut Endpoint, host: &str, tenant: &str, leaf: &str) -> Result<(), ProfileError> {
    let mut path: String<MAX_ENDPOINT_PATH_LEN> = String::new();
    for part in ["/", tenant, "/oauth2/v2.0/", leaf] {
        path.push_str(part)
            .map_err(|_| ProfileError::InvalidTenant)?;
    }
    e.set(host, 443, &path, true)
}

/// See [`Provider::set_microsoft`].
pub(crate) fn microsoft(
    s: &mut dyn ProfileSink,
    cloud: MicrosoftCloud,
    tenant: Tenant<'_>,
) -> Result<(), ProfileError> {
    let t = tenant.segment()?;
    let host = cloud.login_host();
    s.set_kind(ProviderKind::Microsoft(cloud));
    ms_endpoint(s.endpoint(Role::Authorize), host, t, "authorize")?;
    ms_endpoint(s.endpoint(Role::Token), host, t, "token")?;
    ms_endpoint(s.endpoint(Role::Device), host, t, "devicecode")?;
    scope(s, cloud.smtp_scope())?;
    s.set_graph(false);
    Ok(())
}

/// See [`Provider::use_graph`].
pub(crate) fn graph(s: &mut dyn ProfileSink) -> Result<(), ProfileError> {
    let ProviderKind::Microsoft(cloud) = s.kind() else {
        return Err(ProfileError::InvalidScope);
    };
    scope(s, cloud.graph_scope())?;
    s.set_graph(true);
    Ok(())
}

/// See [`Provider::use_gmail_api`].
pub(crate) fn gmail_api(s: &mut dyn ProfileSink) -> Result<(), ProfileError> {
    if s.kind() != ProviderKind::Google {
        return Err(ProfileError::InvalidScope);
    }
    scope(s, GMAIL_SEND_SCOPE)
}

/// See [`Provider::set_google`].
pub(crate) fn google(s: &mut dyn ProfileSink) -> Result<(), ProfileError> {
    s.set_kind(ProviderKind::Google);
    s.endpoint(Role::Authorize)
        .set("accounts.google.com", 443, "/o/oauth2/v2/auth", true)?;
    s.endpoint(Role::Token)
        .set("oauth2.googleapis.com", 443, "/token", true)?;
    // Google's device endpoint exists (/device/code) but refuses the Gmail
    // scope: keep it out so the refusal is clear and local.
    s.drop_endpoint(Role::Device);
    scope(s, "https://mail.google.com/")
}

/// See [`Provider::set_custom`].
pub(crate) fn custom(s: &mut dyn ProfileSink, e: &CustomEndpoints<'_>) -> Result<(), ProfileError> {
    s.set_kind(ProviderKind::Custom);
    for (role, url) in [
        (Role::Authorize, e.authorize_url),
        (Role::Token, Some(e.token_url)),
        (Role::Device, e.device_url),
    ] {
        match url {
            Some(u) => s.endpoint(role).set_url(u)?,
            None => s.drop_endpoint(role),
        }
    }
    scope(s, e.scope)
}

/// See [`Provider::apply_overrides`].
pub(crate) fn overrides(
    s: &mut dyn ProfileSink,
    o: &EndpointOverrides<'_>,
) -> Result<(), ProfileError> {
    for (role, url) in [
        (Role::Token, o.token_url),
        (Role::Device, o.device_url),
        (Role::Authorize, o.authorize_url),
    ] {
        if let Some(u) = url {
            s.endpoint(role).set_url(u)?;
        }
    }
    Ok(())
}

impl ProfileSink for Provider {
    fn set_kind(&mut self, kind: ProviderKind) {
        self.kind = kind;
    }

    fn kind(&self) -> ProviderKind {
        self.kind
    }

    fn endpoint(&mut self, role: Role) -> &mut Endpoint {
        match role {
            Role::Authorize => self.authorize.get_or_insert(Endpoint::blank()),
            Role::Token => &mut self.token,
            Role::Device => self.device.get_or_insert(Endpoint::blank()),
        }
    }

    fn drop_endpoint(&mut self, role: Role) {
        match role {
            Role::Authorize => self.authorize = None,
            // A profile always has a token endpoint.
            Role::Token => {}
            Role::Device => self.device = None,
        }
    }

    fn put_scope(&mut self, scope: &str) {
        self.scope.clear();
        // Checked to fit (`checked_scope`).
        let _ = self.scope.push_str(scope);
    }

    fn set_graph(&mut self, graph: bool) {
        self.graph = graph;
    }
}

/// Whether a profile can be built, learned without building it: every
/// endpoint is written into one endpoint's room and checked there.
#[derive(Debug)]
pub(crate) struct ProfileCheck {
    kind: ProviderKind,
    scratch: Endpoint,
    device: bool,
}

impl ProfileCheck {
    /// As [`Provider::blank`].
    pub(crate) const fn blank() -> Self {
        ProfileCheck {
            kind: ProviderKind::Custom,
            scratch: Endpoint::blank(),
            device: false,
        }
    }

    /// As [`Provider::supports_device_flow`] for the profile checked.
    pub(crate) fn supports_device_flow(&self) -> bool {
        self.device
    }
}

impl ProfileSink for ProfileCheck {
    fn set_kind(&mut self, kind: ProviderKind) {
        self.kind = kind;
    }

    fn kind(&self) -> ProviderKind {
        self.kind
    }

    fn endpoint(&mut self, role: Role) -> &mut Endpoint {
        if role == Role::Device {
            self.device = true;
        }
        &mut self.scratch
    }

    fn drop_endpoint(&mut self, role: Role) {
        if role == Role::Device {
            self.device = false;
        }
    }

    fn put_scope(&mut self, _scope: &str) {}

    fn set_graph(&mut self, _graph: bool) {}
}
