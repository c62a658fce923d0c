//! The device sign-in's verification URI as a QR code for the panel (R-QR).
//!
//! The administrator scans the code on the printer's LCD with a phone instead
//! of typing a URL. The core produces the module matrix; the firmware draws
//! it (each module a square of pixels, with a light margin of
//! [`QR_QUIET_ZONE`] modules around it). The encoder is the `no_std`,
//! allocation-free `qrcodegen-no-heap`; this module bounds its buffers and
//! turns its panicking preconditions into errors, so that any text gives a
//! code or an error.
//!
//! Memory: two caller-lent buffers of [`QR_BUFFER_LEN`] octets each (the
//! encoder's work area and the finished matrix), no stack beyond a few
//! words. [`QrMatrix::write_bitmap`] copies the matrix out as a plain
//! 1-bit-per-module bitmap ([`QR_BITMAP_LEN`] octets at most) for an LCD
//! driver that wants rows of octets.

use core::fmt;

use qrcodegen_no_heap::{QrCode, QrCodeEcc, Version};

use crate::diag::Id;
use crate::limits::MAX_VERIFICATION_URI_COMPLETE_LEN;

/// The largest QR version (symbol size) produced. Version 18 at error
/// correction level M holds 560 octets, more than the longest verification
/// URI the core keeps ([`MAX_VERIFICATION_URI_COMPLETE_LEN`], 512), and
/// stays under 1 KiB of buffer; larger symbols would not scan from a panel
/// anyway.
pub const QR_MAX_VERSION: u8 = 18;

/// Modules on each side of the largest code: `4 × version + 17`.
pub const QR_MAX_SIZE: usize = 4 * QR_MAX_VERSION as usize + 17;

/// Octets of each of the two buffers [`encode`] borrows: the work area and
/// the matrix (the encoder's packed form, size octet first).
pub const QR_BUFFER_LEN: usize = Version::new(QR_MAX_VERSION).buffer_len();

/// Octets of the largest bitmap [`QrMatrix::write_bitmap`] writes: one row
/// of `ceil(size / 8)` octets per module row.
pub const QR_BITMAP_LEN: usize = QR_MAX_SIZE * QR_MAX_SIZE.div_ceil(8);

/// Light modules the drawing must leave around the code (ISO/IEC 18004
/// asks for four).
pub const QR_QUIET_ZONE: usize = 4;

// The longest verification URI must always fit (checked by a test too).
const _: () = assert!(MAX_VERIFICATION_URI_COMPLETE_LEN <= 560);

/// Why no QR code came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum QrError {
    /// A lent buffer is shorter than `needed` octets.
    BufferTooSmall {
        /// Octets needed.
        needed: usize,
    },
    /// The text does not fit a code of version [`QR_MAX_VERSION`].
    TooLong,
}

impl QrError {
    /// The diagnostic for this error.
    #[must_use]
    pub const fn diag(self) -> Id {
        match self {
            QrError::BufferTooSmall { .. } => Id::BufferTooSmall,
            QrError::TooLong => Id::InvalidArgument,
        }
    }
}

impl fmt::Display for QrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QrError::BufferTooSmall { needed } => {
                write!(f, "QR code buffer too small: {needed} octets needed")
            }
            QrError::TooLong => {
                write!(f, "text too long for a QR code of version {QR_MAX_VERSION}")
            }
        }
    }
}

impl core::error::Error for QrError {}

/// A finished QR code: a square of `size × size` modules, dark or light.
pub struct QrMatrix<'a> {
    code: QrCode<'a>,
}

impl fmt::Debug for QrMatrix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QrMatrix")
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

/// `text` as a QR code at error correction level M (or higher where that
/// costs no size), the smallest version that holds it. `work` and `out` must
/// each be at least [`QR_BUFFER_LEN`] octets; the matrix lives in `out`.
///
/// # Errors
/// [`QrError::BufferTooSmall`] for a short buffer, [`QrError::TooLong`] when
/// the text does not fit version [`QR_MAX_VERSION`].
pub fn encode<'a>(text: &str, work: &mut [u8], out: &'a mut [u8]) -> Result<QrMatrix<'a>, QrError> {
    if work.len() < QR_BUFFER_LEN || out.len() < QR_BUFFER_LEN {
        return Err(QrError::BufferTooSmall {
            needed: QR_BUFFER_LEN,
        });
    }
    // Both slices at exactly the length the encoder requires for the
    // largest version: its buffer checks then always hold.
    let work = work
        .get_mut(..QR_BUFFER_LEN)
        .ok_or(QrError::BufferTooSmall {
            needed: QR_BUFFER_LEN,
        })?;
    let out = out
        .get_mut(..QR_BUFFER_LEN)
        .ok_or(QrError::BufferTooSmall {
            needed: QR_BUFFER_LEN,
        })?;
    QrCode::encode_text(
        text,
        work,
        out,
        QrCodeEcc::Medium,
        Version::MIN,
        Version::new(QR_MAX_VERSION),
        None,
        true,
    )
    .map(|code| QrMatrix { code })
    .map_err(|_| QrError::TooLong)
}

impl QrMatrix<'_> {
    /// Modules on each side (21 for version 1, up to [`QR_MAX_SIZE`]).
    #[must_use]
    pub fn size(&self) -> usize {
        usize::try_from(self.code.size()).unwrap_or(0)
    }

    /// Whether the module at column `x`, row `y` (from the top left) is
    /// dark; outside the square, light.
    #[must_use]
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        match (i32::try_from(x), i32::try_from(y)) {
            (Ok(x), Ok(y)) => self.code.get_module(x, y),
            _ => false,
        }
    }

    /// Octets of one bitmap row: `ceil(size / 8)`.
    #[must_use]
    pub fn bitmap_stride(&self) -> usize {
        self.size().div_ceil(8)
    }

    /// The matrix as a bitmap: row after row from the top, each row
    /// [`Self::bitmap_stride`] octets, the leftmost module in the most
    /// significant bit, 1 for dark, the unused low bits of a row's last
    /// octet 0. Returns the octets written (`size × stride`).
    ///
    /// # Errors
    /// [`QrError::BufferTooSmall`] when `out` is shorter; nothing written.
    pub fn write_bitmap(&self, out: &mut [u8]) -> Result<usize, QrError> {
        let size = self.size();
        let stride = self.bitmap_stride();
        let len = size * stride;
        let out = out
            .get_mut(..len)
            .ok_or(QrError::BufferTooSmall { needed: len })?;
        out.fill(0);
        for (y, row) in out.chunks_exact_mut(stride.max(1)).enumerate() {
            for (x_octet, octet) in row.iter_mut().enumerate() {
                for bit in 0..8 {
                    let x = x_octet * 8 + bit;
                    if x < size && self.is_dark(x, y) {
                        *octet |= 0x80 >> bit;
                    }
                }
            }
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffers() -> ([u8; QR_BUFFER_LEN], [u8; QR_BUFFER_LEN]) {
        ([0; QR_BUFFER_LEN], [0; QR_BUFFER_LEN])
    }

    /// Finder patterns: the 7×7 squares at three corners, dark ring, light
    /// ring, dark 3×3 centre.
    fn has_finders(m: &QrMatrix<'_>) -> bool {
        let n = m.size();
        let finder_at = |x0: usize, y0: usize| {
            (0..7).all(|dy| {
                (0..7).all(|dx| {
                    let ring = dx == 0 || dy == 0 || dx == 6 || dy == 6;
                    let centre = (2..=4).contains(&dx) && (2..=4).contains(&dy);
                    m.is_dark(x0 + dx, y0 + dy) == (ring || centre)
                })
            })
        };
        finder_at(0, 0) && finder_at(n - 7, 0) && finder_at(0, n - 7)
    }

    #[test]
    fn a_short_uri_is_a_small_code_with_its_finder_patterns() {
        let (mut work, mut out) = buffers();
        let m = encode("https://microsoft.com/devicelogin", &mut work, &mut out).unwrap();
        // 33 octets at level M need version 3 (29 modules).
        assert_eq!(m.size(), 29);
        assert!(has_finders(&m));
        assert!(!m.is_dark(m.size(), 0), "outside the square is light");
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "the largest symbol takes minutes under Miri; the encoder (safe Rust, no unsafe anywhere) runs under Miri in the small-code tests"
    )]
    fn the_longest_verification_uri_fits_and_one_too_long_text_is_an_error() {
        let (mut work, mut out) = buffers();
        let uri = "https://login.example/device?code=".to_string()
            + &"A1b2".repeat(120)[..MAX_VERIFICATION_URI_COMPLETE_LEN - 34];
        assert_eq!(uri.len(), MAX_VERIFICATION_URI_COMPLETE_LEN);
        let m = encode(&uri, &mut work, &mut out).unwrap();
        assert!(m.size() <= QR_MAX_SIZE);
        assert!(has_finders(&m));
        let (mut work, mut out) = buffers();
        assert_eq!(
            encode(&"x".repeat(600), &mut work, &mut out).unwrap_err(),
            QrError::TooLong
        );
    }

    #[test]
    fn short_buffers_are_errors_not_panics() {
        let mut work = [0u8; QR_BUFFER_LEN];
        let mut short = [0u8; QR_BUFFER_LEN - 1];
        assert_eq!(
            encode("x", &mut work, &mut short).unwrap_err(),
            QrError::BufferTooSmall {
                needed: QR_BUFFER_LEN
            }
        );
        let mut out = [0u8; QR_BUFFER_LEN];
        assert_eq!(
            encode("x", &mut short, &mut out).unwrap_err().diag(),
            Id::BufferTooSmall
        );
    }

    #[test]
    fn the_bitmap_is_the_matrix_row_by_row_msb_first() {
        let (mut work, mut out) = buffers();
        let m = encode("HELLO", &mut work, &mut out).unwrap();
        let n = m.size();
        assert_eq!(n, 21);
        assert_eq!(m.bitmap_stride(), 3);
        let mut bmp = [0xAAu8; QR_BITMAP_LEN];
        assert_eq!(
            m.write_bitmap(&mut bmp[..n * 3 - 1]).unwrap_err(),
            QrError::BufferTooSmall { needed: n * 3 }
        );
        assert_eq!(m.write_bitmap(&mut bmp).unwrap(), n * 3);
        for y in 0..n {
            for x in 0..24 {
                let bit = bmp[y * 3 + x / 8] & (0x80 >> (x % 8)) != 0;
                assert_eq!(bit, x < n && m.is_dark(x, y), "module ({x}, {y})");
            }
        }
        assert_eq!(bmp[n * 3], 0xAA, "nothing written past the bitmap");
    }
}
