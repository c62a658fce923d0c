//! Bytes that must never be seen: tokens, keys, PKCE verifiers.
//!
//! [`SecretBuf`] owns its bytes inline (no heap), overwrites them with zeros
//! when cleared or dropped, and prints only its length in `Debug` and
//! `defmt` output, so a secret cannot reach a log by accident (R-LOG).

use core::fmt;
use zeroize::Zeroize;

use crate::limits::{MAX_ACCESS_TOKEN_LEN, MAX_REFRESH_TOKEN_LEN};

/// A secret of at most `N` octets, zeroized on drop and redacted in output.
pub struct SecretBuf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

/// An OAuth access token (RAM only, R-TOK-1).
pub type AccessToken = SecretBuf<MAX_ACCESS_TOKEN_LEN>;

/// An OAuth refresh token (persisted, R-TOK-2).
pub type RefreshToken = SecretBuf<MAX_REFRESH_TOKEN_LEN>;

/// The secret does not fit its fixed capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SecretTooLong {
    /// Octets offered.
    pub len: usize,
    /// Capacity of the buffer.
    pub capacity: usize,
}

impl fmt::Display for SecretTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "secret of {} octets exceeds capacity {}",
            self.len, self.capacity
        )
    }
}

impl core::error::Error for SecretTooLong {}

impl<const N: usize> SecretBuf<N> {
    /// Capacity in octets.
    pub const CAPACITY: usize = N;

    /// An empty secret.
    #[must_use]
    pub const fn new() -> Self {
        SecretBuf {
            bytes: [0; N],
            len: 0,
        }
    }

    /// A copy of `value`; the caller remains responsible for wiping its own copy.
    pub fn from_slice(value: &[u8]) -> Result<Self, SecretTooLong> {
        let mut s = Self::new();
        s.set(value)?;
        Ok(s)
    }

    /// Replace the content with `value`, wiping the old content first.
    /// On error the secret is left empty.
    pub fn set(&mut self, value: &[u8]) -> Result<(), SecretTooLong> {
        self.clear();
        let dst = self.bytes.get_mut(..value.len()).ok_or(SecretTooLong {
            len: value.len(),
            capacity: N,
        })?;
        dst.copy_from_slice(value);
        self.len = value.len();
        Ok(())
    }

    /// Replace the content with `len` octets that `fill` writes where they
    /// are kept (an image's secret read from flash, R-MEM: no copy on the
    /// stack); `too_long` if they do not fit. On error the secret is left
    /// empty, wiped.
    pub(crate) fn fill_with<E>(
        &mut self,
        len: usize,
        too_long: E,
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.clear();
        let dst = self.bytes.get_mut(..len).ok_or(too_long)?;
        // Counted as in use before `fill` runs, so that a failed fill is
        // wiped by `clear`.
        self.len = len;
        let filled = fill(dst);
        if filled.is_err() {
            self.clear();
        }
        filled
    }

    /// Append `more` to the secret (for values that arrive in pieces).
    pub fn extend(&mut self, more: &[u8]) -> Result<(), SecretTooLong> {
        let end = self.len.saturating_add(more.len());
        let dst = self.bytes.get_mut(self.len..end).ok_or(SecretTooLong {
            len: end,
            capacity: N,
        })?;
        dst.copy_from_slice(more);
        self.len = end;
        Ok(())
    }

    /// The secret's octets. Call only where they leave for the wire or for
    /// sealed storage, never to log them.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    /// Length in octets (not secret).
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the secret is empty.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Overwrite every octet with zero and empty the secret. Octets past
    /// the length are always zero (only `set`, after clearing, and `extend`
    /// write, and only below the new length), so only those in use need
    /// overwriting: clearing a short token in a large buffer stays cheap.
    pub fn clear(&mut self) {
        match self.bytes.get_mut(..self.len) {
            Some(used) => used.zeroize(),
            None => self.bytes.zeroize(),
        }
        self.len = 0;
    }

    /// The whole inline storage, used or not: for the tests that prove
    /// wiping.
    #[cfg(all(test, feature = "oauth"))]
    pub(crate) fn storage(&self) -> &[u8] {
        &self.bytes
    }

    /// Constant-time comparison (for state values and verifiers).
    #[must_use]
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        let mine = self.expose();
        if mine.len() != other.len() {
            return false;
        }
        let mut diff = 0u8;
        for (a, b) in mine.iter().zip(other) {
            diff |= a ^ b;
        }
        diff == 0
    }
}

impl<const N: usize> Default for SecretBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Clone for SecretBuf<N> {
    fn clone(&self) -> Self {
        SecretBuf {
            bytes: self.bytes,
            len: self.len,
        }
    }
}

impl<const N: usize> Drop for SecretBuf<N> {
    fn drop(&mut self) {
        self.clear();
    }
}

impl<const N: usize> fmt::Debug for SecretBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBuf(<redacted, {} octets>)", self.len)
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for SecretBuf<N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "SecretBuf(<redacted, {=usize} octets>)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let s = SecretBuf::<32>::from_slice(b"ya29.super-secret").unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("ya29"), "{shown}");
        assert!(shown.contains("17 octets"));
    }

    #[test]
    fn clear_zeroizes_and_too_long_leaves_empty() {
        let mut s = SecretBuf::<4>::from_slice(b"abcd").unwrap();
        assert_eq!(s.expose(), b"abcd");
        assert_eq!(
            s.set(b"abcde"),
            Err(SecretTooLong {
                len: 5,
                capacity: 4
            })
        );
        assert!(s.is_empty());
        assert_eq!(s.bytes, [0; 4]);
        s.set(b"ab").unwrap();
        s.extend(b"cd").unwrap();
        assert_eq!(s.expose(), b"abcd");
        assert!(s.extend(b"e").is_err());
        assert!(s.ct_eq(b"abcd"));
        assert!(!s.ct_eq(b"abce"));
        assert!(!s.ct_eq(b"abc"));
    }

    #[test]
    fn no_octet_past_the_length_is_ever_non_zero() {
        // `clear` wipes only the first `len` octets: that is enough only if
        // nothing ever leaves a secret octet past the length (R-LOG).
        let tail_clean = |s: &SecretBuf<16>| s.bytes.get(s.len..).unwrap().iter().all(|&b| b == 0);
        let mut s = SecretBuf::<16>::from_slice(b"long-old-secret!").unwrap();
        s.set(b"short").unwrap();
        assert!(tail_clean(&s));
        s.extend(b"+more").unwrap();
        assert!(tail_clean(&s));
        assert!(s.extend(&[7; 7]).is_err());
        assert!(tail_clean(&s));
        assert!(s.set(&[9; 17]).is_err());
        assert_eq!(s.bytes, [0; 16]);
        let mut c = SecretBuf::<16>::from_slice(b"0123456789abcdef").unwrap();
        let copy = c.clone();
        c.clear();
        assert_eq!((c.bytes, c.len), ([0; 16], 0));
        assert_eq!(copy.expose(), b"0123456789abcdef");
    }
}
