//! A scan job's e-mail as a [`Read`]er: the core's composer
//! ([`mfp_oauth_core::mime`], R-MIME) fed from files or memory. Nothing
//! holds the whole message: the composer asks for each attachment's octets
//! when it reaches them, and they are read from the file one small buffer
//! at a time ([`INPUT_BUF_LEN`] octets, on the stack) whatever its size.
//!
//! The size is exact before the first octet ([`MimeStream::len`], from the
//! files' lengths), so `MAIL FROM … SIZE=` announces the octets that follow
//! and a server's size limit refuses the job before the body. The format
//! (canonical: CRLF, every part base64, no line starting with a dot) is the
//! core's; the firmware's C API produces the same octets.

use mfp_oauth_core::mime::{self as core_mime, Composer, Output};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use core_mime::{base64_lines_len, INPUT_BUF_LEN};

/// Where an attachment's octets come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file, opened when its part is reached (one file open at a time).
    File(PathBuf),
    /// Octets in memory (the demo's simulated scans, notifications).
    Memory(Arc<[u8]>),
}

/// One attached file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name shown to the recipient.
    pub name: String,
    /// MIME type, from the file name's extension.
    pub content_type: &'static str,
    /// The octets.
    pub source: Source,
    /// How many octets the source holds; the stream fails if the file
    /// turns out shorter or longer when it is read.
    pub len: u64,
}

/// The MIME type a scanner's output file has, by extension (case-insensitive);
/// `application/octet-stream` when unknown (the core's table).
#[must_use]
pub fn content_type_for(path: &Path) -> &'static str {
    path.file_name()
        .and_then(|n| n.to_str())
        .map_or("application/octet-stream", core_mime::content_type_for)
}

impl Attachment {
    /// A file to attach: its name, type and length (the file is read only
    /// while the message is sent).
    pub fn from_file(path: &Path) -> io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scan".to_owned());
        Ok(Attachment {
            name,
            content_type: content_type_for(path),
            source: Source::File(path.to_owned()),
            len: meta.len(),
        })
    }

    /// Octets held in memory.
    #[must_use]
    pub fn from_bytes(name: &str, content_type: &'static str, data: Vec<u8>) -> Self {
        Attachment {
            name: name.to_owned(),
            content_type,
            len: data.len() as u64,
            source: Source::Memory(data.into()),
        }
    }
}

/// What the message says.
#[derive(Debug, Clone)]
pub struct Composition<'a> {
    /// From address.
    pub from: &'a str,
    /// To addresses.
    pub to: &'a [String],
    /// Subject line (any Unicode; encoded as needed).
    pub subject: &'a str,
    /// Text part (any Unicode; line ends become CRLF).
    pub text: &'a str,
    /// Files.
    pub attachments: &'a [Attachment],
    /// Unique part of the Message-ID (the domain is the sender's); also
    /// seeds the boundary.
    pub message_id_local: &'a str,
    /// The `Date` header field's time (shown in UTC).
    pub date: SystemTime,
}

/// The composition, owned: the composer reads it on every call.
#[derive(Debug, Clone)]
struct Owned {
    from: String,
    to: Vec<String>,
    subject: String,
    text: String,
    names: Vec<(String, &'static str, u64)>,
    id: String,
}

impl core_mime::Message for Owned {
    fn from(&self) -> &str {
        &self.from
    }
    fn to(&self, i: usize) -> Option<&str> {
        self.to.get(i).map(String::as_str)
    }
    fn subject(&self) -> &str {
        &self.subject
    }
    fn text(&self) -> Option<&str> {
        Some(&self.text)
    }
    fn attachment(&self, i: usize) -> Option<core_mime::Attachment<'_>> {
        self.names
            .get(i)
            .map(|(name, content_type, len)| core_mime::Attachment {
                name,
                content_type,
                len: *len,
            })
    }
    fn message_id_local(&self) -> &str {
        &self.id
    }
}

/// The message as a [`Read`]er of its octets, produced on demand.
pub struct MimeStream {
    /// The composer, or why the composition was refused.
    composer: Result<Composer<Owned>, core_mime::Error>,
    sources: Vec<Source>,
    /// The attachment being read, and its reader.
    reading: Option<(usize, Box<dyn Read + Send>)>,
    /// What the composer was built with, to build it again.
    secs: u64,
    random: [u8; core_mime::RANDOM_LEN],
}

impl std::fmt::Debug for MimeStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MimeStream")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl MimeStream {
    /// Octets the stream produces in all (exact, known before the first).
    #[must_use]
    pub fn len(&self) -> u64 {
        self.composer.as_ref().map_or(0, Composer::size)
    }

    /// Whether the message is empty (never: there is always a header).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Start again from the message's first octet: the same octets follow
    /// (the composer is built again with the same date and random octets;
    /// the files are read again). A mail API request asked again after its
    /// body went out needs it (R-XPORT).
    pub fn restart(&mut self) -> io::Result<()> {
        let owned = self
            .composer
            .as_ref()
            .map_err(|e| io_error(*e))?
            .message()
            .clone();
        self.composer = Composer::new(owned, Some(self.secs), &self.random);
        self.reading = None;
        Ok(())
    }
}

fn io_error(e: core_mime::Error) -> io::Error {
    let kind = match e {
        core_mime::Error::FileShorter { .. } => io::ErrorKind::UnexpectedEof,
        core_mime::Error::FileLonger { .. } => io::ErrorKind::InvalidData,
        _ => io::ErrorKind::InvalidInput,
    };
    let text = match e {
        core_mime::Error::FileShorter { .. } => {
            "an attached file got shorter while it was sent".to_owned()
        }
        core_mime::Error::FileLonger { .. } => "an attached file grew while it was sent".to_owned(),
        e => e.to_string(),
    };
    io::Error::new(kind, text)
}

impl Read for MimeStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let composer = self.composer.as_mut().map_err(|e| io_error(*e))?;
        loop {
            let (part, max) = match composer.poll_output(buf).map_err(io_error)? {
                Output::Wrote(n) => return Ok(n),
                Output::Done => return Ok(0),
                Output::NeedInput { part, max } => (part, max),
            };
            if !self.reading.as_ref().is_some_and(|(p, _)| *p == part) {
                let reader: Box<dyn Read + Send> = match self.sources.get(part) {
                    Some(Source::File(p)) => Box::new(std::fs::File::open(p)?),
                    Some(Source::Memory(m)) => Box::new(io::Cursor::new(Arc::clone(m))),
                    None => Box::new(io::empty()),
                };
                self.reading = Some((part, reader));
            }
            let mut chunk = [0u8; INPUT_BUF_LEN];
            let want = max.min(chunk.len());
            let n = match self.reading.as_mut() {
                Some((_, r)) => loop {
                    match r.read(&mut chunk[..want]) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                },
                None => 0,
            };
            if n == 0 {
                self.reading = None;
            }
            composer.handle_input(&chunk[..n]).map_err(io_error)?;
        }
    }
}

/// The message as a stream; its length is exact before the first octet.
/// Fails (`InvalidInput`) when the core refuses the composition: an
/// address that is not plain, more than 16 To addresses or 32 files, a
/// subject above 998 octets, a file name above 255.
pub fn try_stream(c: &Composition<'_>) -> io::Result<MimeStream> {
    let s = stream(c);
    match &s.composer {
        Ok(_) => Ok(s),
        Err(e) => Err(io_error(*e)),
    }
}

/// The message as a stream, even when the core refuses the composition:
/// then its length is 0 and its first read fails ([`try_stream`] tells
/// before).
pub fn stream(c: &Composition<'_>) -> MimeStream {
    use sha2::Digest as _;
    let secs = c.date.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // The boundary only has to be new (it cannot occur in base64 content):
    // derived from the Message-ID's unique part and the time.
    let mut h = sha2::Sha256::new();
    h.update(c.message_id_local.as_bytes());
    h.update(secs.to_be_bytes());
    let mut random = [0u8; core_mime::RANDOM_LEN];
    random.copy_from_slice(&h.finalize()[..core_mime::RANDOM_LEN]);
    let owned = Owned {
        from: c.from.to_owned(),
        to: c.to.to_vec(),
        subject: c.subject.to_owned(),
        text: c.text.to_owned(),
        names: c
            .attachments
            .iter()
            .map(|a| (a.name.clone(), a.content_type, a.len))
            .collect(),
        id: c.message_id_local.to_owned(),
    };
    MimeStream {
        composer: Composer::new(owned, Some(secs), &random),
        sources: c.attachments.iter().map(|a| a.source.clone()).collect(),
        reading: None,
        secs,
        random,
    }
}

/// The whole message in memory (small messages, tests).
pub fn compose(c: &Composition<'_>) -> io::Result<Vec<u8>> {
    let mut s = try_stream(c)?;
    let mut v = Vec::with_capacity(usize::try_from(s.len()).unwrap_or(0));
    s.read_to_end(&mut v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn when() -> SystemTime {
        // 2026-11-24 10:27:52 UTC, a Tuesday.
        UNIX_EPOCH + Duration::from_secs(1_795_516_072)
    }

    fn data(n: usize) -> Vec<u8> {
        let mut x: u32 = 0x2545_F491;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    fn message(text: &str, subject: &str, atts: &[Attachment]) -> (MimeStream, Vec<u8>) {
        let to = ["a@x.test".to_owned(), "b@x.test".to_owned()];
        let c = Composition {
            from: "scanner@contoso.test",
            to: &to,
            subject,
            text,
            attachments: atts,
            message_id_local: "job-1",
            date: when(),
        };
        (stream(&c), compose(&c).unwrap())
    }

    #[test]
    fn types_by_extension() {
        assert_eq!(content_type_for(Path::new("a/SCAN.PDF")), "application/pdf");
        assert_eq!(content_type_for(Path::new("x.tiff")), "image/tiff");
        assert_eq!(
            content_type_for(Path::new("noext")),
            "application/octet-stream"
        );
    }

    #[test]
    fn announced_length_is_the_produced_length_for_any_read_size() {
        for size in [0usize, 1, 56, 57, 58, 3648, 3649, 70_000] {
            let atts = [
                Attachment::from_bytes("scan 1.pdf", "application/pdf", data(size)),
                Attachment::from_bytes("b.png", "image/png", data(size / 3)),
            ];
            for text in ["Attached: 1 page.", "Été\n", ""] {
                let (s, whole) = message(text, "Scan", &atts);
                assert_eq!(s.len(), whole.len() as u64, "size {size} text {text:?}");
                assert!(whole.starts_with(b"Date: Tue, 24 Nov 2026 10:27:52 +0000\r\n"));
                // Every read size gives the same octets.
                for step in [1usize, 7, 77, 78, 79, 4096] {
                    let (mut s, _) = message(text, "Scan", &atts);
                    let mut got = Vec::new();
                    let mut buf = vec![0u8; step];
                    loop {
                        let n = s.read(&mut buf).unwrap();
                        if n == 0 {
                            break;
                        }
                        got.extend_from_slice(&buf[..n]);
                    }
                    assert!(got == whole, "size {size} step {step}");
                }
            }
        }
    }

    #[test]
    fn lines_are_crlf_and_short() {
        let atts = [Attachment::from_bytes(
            "a.pdf",
            "application/pdf",
            data(10_000),
        )];
        let (_, m) = message("one\ntwo\rthree\r\n", &"word ".repeat(40), &atts);
        let text = String::from_utf8(m).unwrap();
        for line in text.split("\r\n") {
            assert!(line.len() <= 78, "{line:?}");
            assert!(!line.contains('\r') && !line.contains('\n'));
            assert!(!line.starts_with('.'), "{line:?}");
        }
        assert!(text.ends_with("--\r\n"));
    }

    #[test]
    fn a_file_that_changes_size_fails_the_stream() {
        let dir = std::env::temp_dir().join(format!("mfp-mime-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("scan.pdf");
        std::fs::write(&path, data(1000)).unwrap();
        let att = [Attachment::from_file(&path).unwrap()];
        assert_eq!(att[0].len, 1000);
        let c = Composition {
            from: "a@b.test",
            to: &[],
            subject: "s",
            text: "t",
            attachments: &att,
            message_id_local: "x",
            date: when(),
        };
        for (now, kind) in [
            (900, io::ErrorKind::UnexpectedEof),
            (1100, io::ErrorKind::InvalidData),
        ] {
            std::fs::write(&path, data(now)).unwrap();
            let err = stream(&c).read_to_end(&mut Vec::new()).unwrap_err();
            assert_eq!(err.kind(), kind, "file now {now} octets");
        }
        std::fs::write(&path, data(1000)).unwrap();
        let mut whole = Vec::new();
        stream(&c).read_to_end(&mut whole).unwrap();
        assert_eq!(whole.len() as u64, stream(&c).len());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_boundary_never_occurs_in_the_text() {
        let (s, m) = message("x", "s", &[]);
        let m = String::from_utf8(m).unwrap();
        let at = m.find("boundary=\"").unwrap() + 10;
        let boundary = &m[at..at + core_mime::BOUNDARY_LEN];
        assert!(boundary.starts_with("=_mfp_"));
        // A text that holds the delimiter goes as base64: the delimiter
        // occurs twice only (the text part's and the close).
        let text = format!("a line\n--{boundary}\nanother");
        let (_, m) = message(&text, "s", &[]);
        let m = String::from_utf8(m).unwrap();
        assert_eq!(m.matches(&format!("--{boundary}")).count(), 2, "{m}");
        assert!(!s.is_empty());
    }

    #[test]
    fn non_ascii_subject_and_file_name_are_encoded() {
        let atts = [Attachment::from_bytes(
            "relevé d'été n°1 — scanné au 3ᵉ étage, bureau 42, très long nom.pdf",
            "application/pdf",
            data(10),
        )];
        let (_, m) = message("x", "Numérisation « été » ✓", &atts);
        let text = String::from_utf8(m).unwrap();
        assert!(text.is_ascii());
        assert!(text.contains("Subject: =?UTF-8?B?"), "{text}");
        assert!(text.contains(" filename*0*=utf-8''relev%C3%A9"), "{text}");
        assert!(text.contains(" filename*1*="), "{text}");
    }

    #[test]
    fn a_refused_composition_fails_early_or_at_the_first_read() {
        let to: Vec<String> = (0..17).map(|i| format!("u{i}@x.test")).collect();
        let c = Composition {
            from: "a@b.test",
            to: &to,
            subject: "s",
            text: "t",
            attachments: &[],
            message_id_local: "x",
            date: when(),
        };
        assert_eq!(
            try_stream(&c).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        let mut s = stream(&c);
        assert_eq!(s.len(), 0);
        assert!(s.read(&mut [0u8; 64]).is_err());
    }
}
