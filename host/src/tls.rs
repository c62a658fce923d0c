//! TLS client settings for the drivers (R-HOST): rustls with the `ring`
//! provider, certificate verification always on.
//!
//! Trust anchors: the Mozilla root set compiled in through `webpki-roots`,
//! plus any CA certificates from PEM files the user names (`--ca-file`).
//! `webpki-roots` rather than the system store because the result is the same
//! on every workstation (a support engineer reproducing a printer's failure
//! gets the printer's trust decision, not the laptop's), it needs no CA bundle
//! on a fresh machine or in a container, and printers themselves ship a fixed
//! root list. Private CAs (a corporate TLS-inspecting proxy, the demo's
//! simulator) are added explicitly, never by disabling verification.

use mfp_oauth_core::config::TlsVersion;
use mfp_oauth_core::diag::{Diagnostic, Id};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// ALPN protocol id sent to token endpoints (PROVIDERS.md §7).
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The lowest and highest TLS versions the client may negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersions {
    /// TLS 1.2 and TLS 1.3 (the default; rustls implements nothing older).
    Tls12AndTls13,
    /// TLS 1.2 only.
    Tls12Only,
    /// TLS 1.3 only.
    Tls13Only,
}

impl TlsVersions {
    /// The versions rustls speaks within the settings' range `min..=max`
    /// (R-CFG, R-RULE-2). rustls implements TLS 1.2 and TLS 1.3 only: a
    /// range that admits neither is refused ([`TlsSetupError::NoVersion`],
    /// E214), never widened; TLS 1.0 and 1.1 in a range are simply not
    /// offered.
    pub fn within(min: TlsVersion, max: TlsVersion) -> Result<Self, TlsSetupError> {
        let admits = |v: TlsVersion| min <= v && v <= max;
        match (admits(TlsVersion::Tls12), admits(TlsVersion::Tls13)) {
            (true, true) => Ok(TlsVersions::Tls12AndTls13),
            (true, false) => Ok(TlsVersions::Tls12Only),
            (false, true) => Ok(TlsVersions::Tls13Only),
            (false, false) => Err(TlsSetupError::NoVersion { min, max }),
        }
    }
}

/// Where the client's trust comes from and what it offers.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// Trust the compiled-in Mozilla roots.
    pub webpki_roots: bool,
    /// Extra trust anchors (DER), for example read by [`load_ca_file`].
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// ALPN protocols to offer, in preference order (empty: no ALPN).
    pub alpn: Vec<Vec<u8>>,
    /// Protocol versions allowed.
    pub versions: TlsVersions,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            webpki_roots: true,
            extra_roots: Vec::new(),
            alpn: Vec::new(),
            versions: TlsVersions::Tls12AndTls13,
        }
    }
}

/// Why TLS settings could not be built.
#[derive(Debug)]
pub enum TlsSetupError {
    /// The CA file could not be read or holds no certificate.
    CaFile(String),
    /// rustls refused the configuration.
    Rustls(rustls::Error),
    /// The settings' TLS range admits neither TLS 1.2 nor TLS 1.3.
    NoVersion {
        /// The minimum set.
        min: TlsVersion,
        /// The maximum set.
        max: TlsVersion,
    },
}

impl Diagnostic for TlsSetupError {
    fn diag(&self) -> Id {
        match self {
            TlsSetupError::CaFile(_) => Id::IoError,
            TlsSetupError::Rustls(_) => Id::TlsHandshakeFailed,
            TlsSetupError::NoVersion { .. } => Id::TlsVersionsUnsupported,
        }
    }
}

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsSetupError::CaFile(why) => write!(f, "CA file: {why}"),
            TlsSetupError::Rustls(e) => write!(f, "TLS configuration: {e}"),
            TlsSetupError::NoVersion { min, max } => write!(
                f,
                "the TLS range {min:?} to {max:?} admits neither TLS 1.2 nor TLS 1.3, the only versions supported"
            ),
        }
    }
}

impl std::error::Error for TlsSetupError {}

/// Read every certificate of a PEM file (a CA bundle or a single CA).
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| TlsSetupError::CaFile(format!("{}: {e}", path.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsSetupError::CaFile(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(TlsSetupError::CaFile(format!(
            "{}: no CERTIFICATE block",
            path.display()
        )));
    }
    Ok(certs)
}

impl TlsSettings {
    /// Settings for a token endpoint: the given trust plus ALPN `http/1.1`.
    #[must_use]
    pub fn for_https(mut self) -> Self {
        self.alpn = vec![ALPN_HTTP11.to_vec()];
        self
    }

    /// The same trust, offering only the versions of the settings' TLS
    /// range `min..=max` ([`TlsVersions::within`]).
    pub fn with_range(mut self, min: TlsVersion, max: TlsVersion) -> Result<Self, TlsSetupError> {
        self.versions = TlsVersions::within(min, max)?;
        Ok(self)
    }

    /// Build the rustls client configuration (ring provider).
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsSetupError> {
        let mut roots = RootCertStore::empty();
        if self.webpki_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for cert in &self.extra_roots {
            roots.add(cert.clone()).map_err(TlsSetupError::Rustls)?;
        }
        let versions: &[&rustls::SupportedProtocolVersion] = match self.versions {
            TlsVersions::Tls12AndTls13 => &[&rustls::version::TLS13, &rustls::version::TLS12],
            TlsVersions::Tls12Only => &[&rustls::version::TLS12],
            TlsVersions::Tls13Only => &[&rustls::version::TLS13],
        };
        let mut config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_protocol_versions(versions)
                .map_err(TlsSetupError::Rustls)?
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.alpn_protocols.clone_from(&self.alpn);
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_an_error() {
        let dir = std::env::temp_dir().join(format!("mfp-tls-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        assert!(matches!(load_ca_file(&path), Err(TlsSetupError::CaFile(_))));
        assert!(matches!(
            load_ca_file(&dir.join("missing.pem")),
            Err(TlsSetupError::CaFile(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_settings_range_picks_the_versions_and_never_widens() {
        use TlsVersion::{Tls10, Tls11, Tls12, Tls13};
        let cases = [
            (Tls12, Tls13, Some(TlsVersions::Tls12AndTls13)),
            (Tls10, Tls13, Some(TlsVersions::Tls12AndTls13)),
            (Tls12, Tls12, Some(TlsVersions::Tls12Only)),
            (Tls11, Tls12, Some(TlsVersions::Tls12Only)),
            (Tls13, Tls13, Some(TlsVersions::Tls13Only)),
            (Tls10, Tls11, None),
            (Tls10, Tls10, None),
            (Tls13, Tls12, None),
        ];
        for (min, max, want) in cases {
            let got = TlsVersions::within(min, max);
            assert_eq!(got.as_ref().ok(), want.as_ref(), "{min:?}..{max:?}");
            if let Err(e) = got {
                assert_eq!(e.diag(), Id::TlsVersionsUnsupported);
                assert!(TlsSettings::default().with_range(min, max).is_err());
            }
        }
    }

    #[test]
    fn https_settings_offer_http11_alpn() {
        let config = TlsSettings::default().for_https().client_config().unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}
