//! The job's message as [`crate::Board::run`] reads it: a [`JobBody`].
//!
//! A mail API can need the message more than once in one job (R-XPORT):
//! a request refused after its body went out (a `429` once the whole body
//! is in, a token that expired meanwhile) is asked again with the whole
//! body, and a resumable upload cut by a lost connection goes on over a
//! new one, the core dropping what the server already holds. Each time
//! the session says `ReadyForBody` again and the driver reads the message
//! from its first octet: [`JobBody::restart`]. An SMTP job reads it once.

use embedded_io_async::{ErrorType, Read, Seek, SeekFrom};

/// A message [`crate::Board::run`] can read again from its first octet.
#[allow(async_fn_in_trait)] // Board executors are single-threaded.
pub trait JobBody: Read {
    /// Back to the first octet: the next read gives the same message
    /// again, octet for octet.
    ///
    /// # Errors
    /// The message cannot be read again (a file that cannot seek): the
    /// retry then fails (E102) and nothing is sent twice.
    async fn restart(&mut self) -> Result<(), Self::Error>;
}

impl<T: JobBody + ?Sized> JobBody for &mut T {
    async fn restart(&mut self) -> Result<(), Self::Error> {
        (**self).restart().await
    }
}

/// Octets in memory (a RAM buffer, or memory-mapped flash): a whole
/// message for [`crate::Board::run`], or a file for
/// [`crate::ComposedBody`]. Reads from its position, seeks anywhere in it.
#[derive(Debug, Clone, Copy)]
pub struct Octets<'a> {
    all: &'a [u8],
    at: usize,
}

impl<'a> Octets<'a> {
    /// `all`, read from its first octet.
    #[must_use]
    pub const fn new(all: &'a [u8]) -> Self {
        Octets { all, at: 0 }
    }

    /// Octets read so far (the position).
    #[must_use]
    pub const fn position(&self) -> usize {
        self.at
    }
}

impl ErrorType for Octets<'_> {
    type Error = core::convert::Infallible;
}

impl Read for Octets<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let rest = self.all.get(self.at..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        if let (Some(d), Some(s)) = (buf.get_mut(..n), rest.get(..n)) {
            d.copy_from_slice(s);
        }
        self.at = self.at.saturating_add(n);
        Ok(n)
    }
}

impl Seek for Octets<'_> {
    /// A position past the end reads nothing; one before the start is
    /// the start.
    async fn seek(&mut self, pos: SeekFrom) -> Result<u64, Self::Error> {
        let len = self.all.len() as u64;
        let at = match pos {
            SeekFrom::Start(n) => n,
            SeekFrom::End(d) => len.saturating_add_signed(d),
            SeekFrom::Current(d) => (self.at as u64).saturating_add_signed(d),
        };
        self.at = usize::try_from(at.min(len)).unwrap_or(self.all.len());
        Ok(self.at as u64)
    }
}

impl JobBody for Octets<'_> {
    async fn restart(&mut self) -> Result<(), Self::Error> {
        self.at = 0;
        Ok(())
    }
}
