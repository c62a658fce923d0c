//! The token store on disk: the core's persistence image as one file.
//!
//! The bytes are opaque here: the core's `image` module makes and checks
//! them (magic, version, CRC, A/B slots, sealed refresh tokens; R-NV). This
//! module only keeps them safe on a workstation: mode 0600 from the moment the
//! file exists, and every save atomic (write a temporary file beside it,
//! fsync it, rename it over the old one, fsync the directory), so a crash or
//! power cut leaves either the old image or the new one, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// File name of the image inside the configuration directory.
pub const FILE_NAME: &str = "tokens.bin";

/// Largest image accepted when loading (a corrupt or foreign file must not
/// make the tool read gigabytes).
pub const MAX_IMAGE_LEN: u64 = 1024 * 1024;

/// The on-disk store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskStore {
    path: PathBuf,
}

/// The per-user configuration directory of the tool: the platform's (on
/// Linux `$XDG_CONFIG_HOME` or `~/.config`) plus `mfp-oauth`.
#[must_use]
pub fn config_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("mfp-oauth"))
}

impl DiskStore {
    /// A store at an explicit path (`--store`).
    #[must_use]
    pub fn at(path: impl Into<PathBuf>) -> Self {
        DiskStore { path: path.into() }
    }

    /// The default store in the configuration directory.
    pub fn default_location() -> io::Result<Self> {
        config_dir()
            .map(|d| Self::at(d.join(FILE_NAME)))
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no configuration directory"))
    }

    /// Where the image lives.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn temp_path(&self) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| FILE_NAME.into());
        name.push(format!(".tmp-{}", std::process::id()));
        self.path.with_file_name(name)
    }

    /// The saved image, or `None` when nothing was saved yet.
    pub fn load(&self) -> io::Result<Option<Vec<u8>>> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if file.metadata()?.len() > MAX_IMAGE_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is larger than {MAX_IMAGE_LEN} octets",
                    self.path.display()
                ),
            ));
        }
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut io::Read::take(file, MAX_IMAGE_LEN), &mut bytes)?;
        Ok(Some(bytes))
    }

    /// Replace the image atomically.
    pub fn save(&self, image: &[u8]) -> io::Result<()> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        create_private_dir(&dir)?;
        let tmp = self.temp_path();
        let result = (|| {
            let mut f = open_private(&tmp)?;
            f.write_all(image)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &self.path)?;
            sync_dir(&dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Remove the image (all tokens forgotten). Missing is not an error.
    pub fn remove(&self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => sync_dir(d),
            _ => Ok(()),
        }
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // create_new: a stale temporary file from a crashed run is removed first,
    // never written through (it could be a link planted by someone else).
    let _ = fs::remove_file(path);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> io::Result<File> {
    let _ = fs::remove_file(path);
    OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mfp-store-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn save_then_load_round_trips_and_replaces() {
        let d = scratch("roundtrip");
        let s = DiskStore::at(d.join("sub").join(FILE_NAME));
        assert_eq!(s.load().unwrap(), None);
        s.save(b"first image").unwrap();
        assert_eq!(s.load().unwrap().as_deref(), Some(&b"first image"[..]));
        s.save(b"second").unwrap();
        assert_eq!(s.load().unwrap().as_deref(), Some(&b"second"[..]));
        // No temporary file is left beside the image.
        let names: Vec<_> = fs::read_dir(d.join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
        s.remove().unwrap();
        assert_eq!(s.load().unwrap(), None);
        s.remove().unwrap();
        fs::remove_dir_all(&d).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn image_is_private_to_the_user() {
        use std::os::unix::fs::PermissionsExt;
        let d = scratch("mode");
        let s = DiskStore::at(d.join(FILE_NAME));
        s.save(b"x").unwrap();
        let mode = fs::metadata(s.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dmode = fs::metadata(&d).unwrap().permissions().mode();
        assert_eq!(dmode & 0o077, 0);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_stale_temporary_file_does_not_break_saving() {
        let d = scratch("stale");
        let s = DiskStore::at(d.join(FILE_NAME));
        fs::create_dir_all(&d).unwrap();
        fs::write(s.temp_path(), b"half-written garbage from a crash").unwrap();
        s.save(b"good").unwrap();
        assert_eq!(s.load().unwrap().as_deref(), Some(&b"good"[..]));
        assert!(!s.temp_path().exists());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_oversized_file_is_refused() {
        let d = scratch("big");
        fs::create_dir_all(&d).unwrap();
        let s = DiskStore::at(d.join(FILE_NAME));
        let f = File::create(s.path()).unwrap();
        f.set_len(MAX_IMAGE_LEN + 1).unwrap();
        assert_eq!(s.load().unwrap_err().kind(), io::ErrorKind::InvalidData);
        fs::remove_dir_all(&d).unwrap();
    }
}
