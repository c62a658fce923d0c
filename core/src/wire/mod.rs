//! Stateless parsers and emitters.
//!
//! Parsers push: they take whatever bytes have arrived and answer
//! [`Parsed::Complete`] with the value and the number of bytes consumed, or
//! [`Parsed::Partial`] when more input is needed. Emitters write into
//! caller-lent buffers and never allocate.

pub mod base64_stream;
pub mod dot_stuff;
pub mod ehlo;
pub mod form;
pub mod http;
mod http_head;
pub mod id_token;
pub mod json;
pub mod json_guard;
pub(crate) mod json_stream;
pub mod jwt;
pub mod reply;
pub mod sasl;
pub(crate) mod smtp_cmd;
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

/// Decimal digits of `n`, written at the end of `buf`; returns them.
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(d) = buf.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimal_edges() {
        let mut b = [0u8; 20];
        assert_eq!(super::decimal(0, &mut b), b"0");
        assert_eq!(super::decimal(465, &mut b), b"465");
        assert_eq!(super::decimal(u64::MAX, &mut b), b"18446744073709551615");
    }
}
