//! Stateless parsers and emitters.
//!
//! Parsers push: they take whatever bytes have arrived and answer
//! [`Parsed::Complete`] with the value and the number of bytes consumed, or
//! [`Parsed::Partial`] when more input is needed. Emitters write into
//! caller-lent buffers and never allocate.

pub mod form;
pub mod http;
pub mod json;
pub mod json_guard;
pub mod writer;

/// Outcome of a push parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Parsed<T> {
    /// A whole value, and how many input bytes it took.
    Complete(T, usize),
    /// Not enough input yet: call again with more.
    Partial,
}

/// The output buffer cannot hold what must be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BufferTooSmall {
    /// Octets needed (at least).
    pub needed: usize,
}

impl core::fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "output buffer too small: {} octets needed", self.needed)
    }
}

impl core::error::Error for BufferTooSmall {}

impl crate::diag::Diagnostic for BufferTooSmall {
    fn diag(&self) -> crate::diag::Id {
        crate::diag::Id::BufferTooSmall
    }
}
