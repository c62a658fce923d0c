//! The job's message from the core's composer (R-MIME): the body
//! [`crate::Board::run`] reads, composed while it is sent.
//!
//! A board firmware gives the message's fields (a [`Message`], for example
//! [`mfp_oauth_core::mime::Parts`]) and one reader per attached file (the
//! scan in flash or on a card); [`ComposedBody`] is an
//! [`embedded_io_async::Read`] that pulls the composer's octets into the
//! driver's buffer and feeds each file's octets to the composer when it
//! asks for them, through that same buffer: no copy of the message and no
//! buffer of its own. [`ComposedBody::size`] is the message's exact size
//! before the first octet, for the job's `size` (`SIZE=` and `BDAT`).
//!
//! A file that turns out shorter or longer than its announced length fails
//! the read ([`ComposeError::Message`]); the driver then drops the
//! connection, so no partial message is ever reported sent.

use embedded_io_async::{ErrorKind, ErrorType, Read, Seek, SeekFrom};
use mfp_oauth_core::mime::{self, Composer, Message, Output, RANDOM_LEN};

use crate::body::JobBody;

/// Why the composed body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ComposeError {
    /// The composer refused the message or a file's length was wrong.
    Message(mime::Error),
    /// Reading attachment `part` failed.
    File {
        /// Attachment index.
        part: usize,
    },
    /// The composer asked for attachment `part`, which has no reader.
    NoReader {
        /// Attachment index.
        part: usize,
    },
}

impl core::fmt::Display for ComposeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ComposeError::Message(e) => write!(f, "message: {e}"),
            ComposeError::File { part } => write!(f, "reading attachment {part} failed"),
            ComposeError::NoReader { part } => write!(f, "no reader for attachment {part}"),
        }
    }
}

impl core::error::Error for ComposeError {}

impl embedded_io_async::Error for ComposeError {
    fn kind(&self) -> ErrorKind {
        match self {
            ComposeError::Message(_) | ComposeError::NoReader { .. } => ErrorKind::InvalidData,
            ComposeError::File { .. } => ErrorKind::Other,
        }
    }
}

impl From<mime::Error> for ComposeError {
    fn from(e: mime::Error) -> Self {
        ComposeError::Message(e)
    }
}

/// The message composed as it is read: the body of a job.
#[derive(Debug)]
pub struct ComposedBody<'f, M: Message, F> {
    composer: Composer<M>,
    files: &'f mut [F],
}

impl<'f, M: Message, F: Read> ComposedBody<'f, M, F> {
    /// Composes `msg` (`date`: seconds since the Unix epoch, when the board
    /// has a wall clock; `random`: fresh octets from its RNG, for the
    /// boundary and the Message-ID) with `files[i]` the reader of
    /// attachment `i`.
    ///
    /// # Errors
    /// The composer's refusal of the message (an address, a name, a count
    /// over its capacities).
    pub fn new(
        msg: M,
        date: Option<u64>,
        random: &[u8; RANDOM_LEN],
        files: &'f mut [F],
    ) -> Result<Self, ComposeError> {
        Ok(ComposedBody {
            composer: Composer::new(msg, date, random)?,
            files,
        })
    }

    /// The message's exact size in octets.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.composer.size()
    }

    /// Octets of the message read so far.
    #[must_use]
    pub fn produced(&self) -> u64 {
        self.composer.produced()
    }
}

impl<M: Message, F: Read> ErrorType for ComposedBody<'_, M, F> {
    type Error = ComposeError;
}

impl<M: Message, F: Read> Read for ComposedBody<'_, M, F> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.composer.poll_output(buf)? {
                Output::Wrote(n) => return Ok(n),
                Output::Done => return Ok(0),
                Output::NeedInput { part, max } => {
                    let file = self
                        .files
                        .get_mut(part)
                        .ok_or(ComposeError::NoReader { part })?;
                    // The file's octets pass through the caller's buffer:
                    // the composer copies what it takes before the next
                    // poll writes there.
                    let room = max.min(buf.len());
                    let into = buf.get_mut(..room).unwrap_or_default();
                    let n = file
                        .read(into)
                        .await
                        .map_err(|_| ComposeError::File { part })?;
                    let mut pushed = into.get(..n).unwrap_or_default();
                    if pushed.is_empty() {
                        // The end of the file: shorter than announced is
                        // the composer's error.
                        self.composer.handle_input(&[])?;
                        continue;
                    }
                    while !pushed.is_empty() {
                        let taken = self.composer.handle_input(pushed)?;
                        pushed = pushed.get(taken..).unwrap_or_default();
                        if taken == 0 {
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// Read again from the first octet (a mail API's retry, a resumed upload):
/// the composer starts over with the same boundary, date and Message-ID,
/// and each file's reader goes back to its start, so the message is the
/// same octet for octet. Needs readers that seek (a file in flash or on a
/// card; [`crate::Octets`] for one in memory).
impl<M: Message, F: Read + Seek> JobBody for ComposedBody<'_, M, F> {
    async fn restart(&mut self) -> Result<(), Self::Error> {
        self.composer.restart();
        for (part, file) in self.files.iter_mut().enumerate() {
            file.seek(SeekFrom::Start(0))
                .await
                .map_err(|_| ComposeError::File { part })?;
        }
        Ok(())
    }
}
