//! The printer as the host runs it: the core's [`Mailer`] (settings, token
//! store, jobs) with its persistence image kept in two slot files, the
//! sign-in flows, the refresh grant and the job runner. Everything here is
//! glue: the protocol and policy decisions are the core's; this module
//! moves bytes (drivers), time (the clock) and files (the slots).

pub mod job;
pub mod signin;

use crate::clock::Clock;
use crate::net::{NetOptions, Proxy};
use crate::store::DiskStore;
use crate::tls::TlsSettings;
use mfp_oauth_core::config::Settings;
use mfp_oauth_core::diag::{Diagnostic, Id};
use mfp_oauth_core::image::{self, DeviceKey, NvCursor, NvError, Seal, SlotId};
use mfp_oauth_core::mailer::Mailer;
use mfp_oauth_core::provider::{AppRegistration, Provider};
use mfp_oauth_core::token::{StoreEvent, TokenStore, WallTime};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files of one printer's state in its store directory.
pub const SLOT_A: &str = "slot-a.bin";
/// The second slot (R-NV: A/B, so a cut during a write loses nothing).
pub const SLOT_B: &str = "slot-b.bin";
/// The device key that seals the refresh tokens in the image. On a
/// workstation it sits beside the image (mode 0600): it protects an image
/// copied on its own, as a printer's key in its secure element does.
pub const DEVICE_KEY: &str = "device.key";
/// The private key an app-only sign-in signs its assertions with (R-APP:
/// a certificate's key or a service account's), PEM, mode 0600: on a
/// workstation the stand-in for a printer's secure element. The core never
/// sees it, only the octets to sign and the signature.
pub const APP_KEY: &str = "app-key.pem";

/// Why the host could not do what was asked.
#[derive(Debug)]
pub enum AppError {
    /// A file of the store could not be read or written.
    Io(PathBuf, std::io::Error),
    /// The persistence image was refused.
    Image(NvError),
    /// A failure with its diagnostic.
    Diag(Id),
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            AppError::Image(e) => write!(f, "token store image: {e}"),
            AppError::Diag(id) => write!(f, "E{} {}", id.number(), id.name()),
        }
    }
}

impl std::error::Error for AppError {}

impl Diagnostic for AppError {
    fn diag(&self) -> Id {
        match self {
            // A local file, never the network (issue 17).
            AppError::Io(..) => Id::StorageFault,
            AppError::Image(e) => e.diag(),
            AppError::Diag(id) => *id,
        }
    }
}

/// Settings could not be applied.
#[derive(Debug)]
pub enum ApplyError {
    /// Rules of R-RULE are violated (each with its diagnostic).
    Rules(mfp_oauth_core::config::Violations),
    /// The image could not be written.
    Store(AppError),
}

/// The printer: settings, tokens and how to reach the servers.
pub struct Device {
    /// The core's facade: settings, token store, the job in progress.
    pub mailer: Mailer,
    dir: PathBuf,
    cursor: NvCursor,
    key: DeviceKey,
    /// Monotonic time for the core.
    pub clock: Arc<dyn Clock>,
    /// TLS trust for the SMTP server and the token endpoint.
    pub tls: TlsSettings,
    /// Socket timeouts (the proxy comes from the settings).
    pub net: NetOptions,
    /// The name the printer gives in EHLO.
    pub ehlo: String,
    /// Images written since start (for the demo's checks and `-v`).
    pub images_written: u32,
    /// The notices of this power-on, for the caller to show once: E511
    /// when the newest image was damaged and the previous one was loaded
    /// (its state has already been written again over the damaged slot).
    pub power_on_notices: Vec<StoreEvent>,
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

pub(crate) fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // Without a working system RNG nothing secure can be done; the zeros
    // then only weaken the seal nonce's extra randomness (the sequence
    // number keeps nonces unique).
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    b
}

/// The wall clock for refresh-token age warnings.
#[must_use]
pub fn wall_now() -> Option<WallTime> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| WallTime(d.as_secs()))
}

fn slot_store(dir: &Path, slot: SlotId) -> DiskStore {
    DiskStore::at(dir.join(match slot {
        SlotId::A => SLOT_A,
        SlotId::B => SLOT_B,
    }))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AppError + '_ {
    move |e| AppError::Io(path.to_path_buf(), e)
}

/// Erase the printer state in `dir`: both slots and the device key (the
/// recovery path when the image cannot be loaded; issue 17). Works on a
/// damaged store: nothing is read. Returns the files removed. A directory
/// in the place of a file is removed only when empty.
pub fn erase(dir: &Path) -> Result<Vec<PathBuf>, AppError> {
    let mut removed = Vec::new();
    for name in [SLOT_A, SLOT_B, DEVICE_KEY, APP_KEY] {
        let path = dir.join(name);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let gone = if meta.is_dir() {
            std::fs::remove_dir(&path)
        } else {
            DiskStore::at(&path).remove()
        };
        gone.map_err(io(&path))?;
        removed.push(path);
    }
    Ok(removed)
}

impl Device {
    /// The signer of app-only assertions, from the key `login --app-only`
    /// or `--service-account` installed; `None` without one.
    ///
    /// # Errors
    /// A key file that cannot be read or is not an RSA key, with its
    /// diagnostic ([`Id::SigningFailed`]).
    pub fn app_signer(&self) -> Result<Option<crate::signer::RsaSigner>, AppError> {
        let path = self.dir.join(APP_KEY);
        if !path.exists() {
            return Ok(None);
        }
        crate::signer::RsaSigner::from_file(&path)
            .map(Some)
            .map_err(|_| AppError::Diag(Id::SigningFailed))
    }

    /// Keeps `pem`, an RSA private key, as the app-only signing key
    /// ([`APP_KEY`], mode 0600), after checking that it signs.
    ///
    /// # Errors
    /// Not an RSA private key ([`Id::SigningFailed`]), or the file could not
    /// be written.
    pub fn install_app_key(&self, pem: &str) -> Result<(), AppError> {
        crate::signer::RsaSigner::from_pem(pem).map_err(|_| AppError::Diag(Id::SigningFailed))?;
        let path = self.dir.join(APP_KEY);
        DiskStore::at(&path).save(pem.as_bytes()).map_err(io(&path))
    }

    /// Open the printer state in `dir` (created on first save); a blank
    /// store gives the manual's default settings and no token. Access
    /// tokens never survive this (R-TOK-1): opening is a power-on.
    pub fn open(dir: &Path, clock: Arc<dyn Clock>, tls: TlsSettings) -> Result<Self, AppError> {
        let key_store = DiskStore::at(dir.join(DEVICE_KEY));
        let key_bytes: [u8; 32] = match key_store.load().map_err(io(key_store.path()))? {
            Some(k) => k
                .as_slice()
                .try_into()
                .map_err(|_| AppError::Image(NvError::SealOpenFailed))?,
            None => {
                let k = random::<32>();
                key_store.save(&k).map_err(io(key_store.path()))?;
                k
            }
        };
        let key = DeviceKey::new(&key_bytes);
        let a = slot_store(dir, SlotId::A);
        let b = slot_store(dir, SlotId::B);
        let bytes_a = a.load().map_err(io(a.path()))?.unwrap_or_default();
        let bytes_b = b.load().map_err(io(b.path()))?.unwrap_or_default();
        let mut settings = Settings::default();
        let mut store = TokenStore::new();
        let (cursor, restored) =
            match image::load(&bytes_a, &bytes_b, Some(&key), &mut settings, &mut store) {
                Ok(report) => (report.cursor, report.previous_restored),
                Err(NvError::Empty) => (NvCursor::new(), false),
                Err(e) => return Err(AppError::Image(e)),
            };
        let mut device = Device {
            mailer: Mailer::new(settings, store),
            dir: dir.to_path_buf(),
            cursor,
            key,
            clock,
            tls,
            net: NetOptions::default(),
            ehlo: "mfp-oauth-host".to_owned(),
            images_written: 0,
            power_on_notices: Vec::new(),
        };
        if restored {
            // The core's notice, and the restored state written over the
            // damaged slot (R-NV). If that write fails, the notice stays and
            // the image is written at the next change.
            device.power_on_notices = device
                .drain_store()
                .unwrap_or_else(|_| vec![StoreEvent::PreviousImageRestored]);
        }
        Ok(device)
    }

    /// The store directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Write a new image into the next slot; with `erase_other`, then erase
    /// the other slot (a deleted or replaced refresh token must not stay
    /// on disk).
    pub fn persist(&mut self, erase_other: bool) -> Result<(), AppError> {
        let (slot, seq) = self.cursor.next();
        let mut buf = vec![0u8; image::IMAGE_MAX_LEN];
        let seal = Seal {
            key: &self.key,
            random: random(),
        };
        let len = image::save(
            self.mailer.settings(),
            self.mailer.store(),
            seq,
            Some(seal),
            &mut buf,
        )
        .map_err(AppError::Image)?;
        let target = slot_store(&self.dir, slot);
        let written = target.save(buf.get(..len).unwrap_or_default());
        zeroize::Zeroize::zeroize(&mut buf);
        written.map_err(io(target.path()))?;
        self.cursor.written(slot, seq);
        self.images_written = self.images_written.saturating_add(1);
        if erase_other {
            let other = slot_store(&self.dir, slot.other());
            other.remove().map_err(io(other.path()))?;
        }
        Ok(())
    }

    /// Act on the token store's events: write the image when asked and
    /// return the notices (R-TOK-4 warnings) for the caller to show.
    pub fn drain_store(&mut self) -> Result<Vec<StoreEvent>, AppError> {
        let mut notices = Vec::new();
        while let Some(e) = self.mailer.poll_store_event() {
            match e {
                StoreEvent::Persist { erase_other_slot } => self.persist(erase_other_slot)?,
                other => notices.push(other),
            }
        }
        Ok(notices)
    }

    /// Store the tokens of a sign-in and persist them: the
    /// administrator's **Acquire** (for the administrator address, through
    /// `Mailer::acquire_admin`), or `user`'s sign-in as `account`.
    pub fn acquire(
        &mut self,
        user: Option<(&mfp_oauth_core::token::UserId, &mfp_oauth_core::Address)>,
        signed_in: &signin::SignedIn,
    ) -> Result<(), AppError> {
        let now = self.clock.now();
        match user {
            None => self
                .mailer
                .acquire_admin(now, wall_now(), signed_in.client())
                .map_err(|e| AppError::Diag(e.diag()))?,
            // A token for another account than `account` is refused
            // (R-ACCT, E436).
            Some((id, account)) => self
                .mailer
                .store_user_sign_in(now, wall_now(), id, account, signed_in.client())
                .map_err(|e| AppError::Diag(e.diag()))?,
        }
        self.drain_store().map(|_| ())
    }

    /// Replace the settings (refused whole with the violated rules) and
    /// persist them with whatever tokens the change invalidated removed.
    /// `Ok(true)`: OAuth was just turned on (R-RULE-6).
    pub fn apply_settings(&mut self, new: Settings) -> Result<bool, ApplyError> {
        let applied = self.mailer.apply_settings(new).map_err(ApplyError::Rules)?;
        // Any change asks for a new image (the settings live in it), with
        // the other slot erased when a secret left; an unchanged set writes
        // nothing.
        self.drain_store().map_err(ApplyError::Store)?;
        Ok(applied.go_to_oauth_screen)
    }

    /// The TLS client settings for the servers (the SMTP server and the
    /// token endpoint): the trust of [`Device::tls`] offering only the
    /// versions of the settings' TLS range (R-CFG, R-RULE-2); a range
    /// without TLS 1.2 or 1.3 is refused (E214), never widened.
    pub fn server_tls(&self) -> Result<TlsSettings, crate::tls::TlsSetupError> {
        let s = self.mailer.settings();
        self.tls.clone().with_range(s.tls_min, s.tls_max)
    }

    /// The token traffic's network options: the settings' proxy, if any.
    #[must_use]
    pub fn token_net(&self) -> NetOptions {
        let proxy = self.mailer.settings().proxy.as_ref().map(|p| Proxy {
            host: p.host.to_string(),
            port: p.port,
            user: (!p.user.is_empty()).then(|| p.user.to_string()),
            // Valid UTF-8 is copied once, straight into the zeroizing String
            // (from_utf8_lossy borrows); a lossy copy is built in place too.
            password: zeroize::Zeroizing::new(
                String::from_utf8_lossy(p.password.expose()).into_owned(),
            ),
        });
        NetOptions {
            proxy,
            ..self.net.clone()
        }
    }

    /// The OAuth provider profile and app registration from the settings
    /// (the core builds both; the host tool has no built-in registration,
    /// so a client id must be configured).
    pub fn provider(&self) -> Result<(Provider, AppRegistration), Id> {
        let s = self.mailer.settings();
        let provider = s.provider_profile().map_err(|e| e.diag())?;
        if s.client_id.is_empty() {
            return Err(Id::ProviderProfileIncomplete);
        }
        let app = s
            .app_registration(&AppRegistration::public(&s.client_id).map_err(|e| e.diag())?)
            .map_err(|e| e.diag())?;
        Ok((provider, app))
    }
}
