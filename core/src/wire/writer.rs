//! A bounded, counting output cursor over a caller-lent buffer.
//!
//! Emitters write through a [`Writer`]: it copies while the buffer has room
//! and keeps counting after it is full, so a failed emit still reports the
//! exact size it needed ([`BufferTooSmall::needed`]) and the caller can lend a
//! larger buffer and try again. [`Writer::counting`] measures without a
//! buffer at all (used for `Content-Length` before the body is written).
//! [`Writer::window`] writes one piece of a longer output: the octets from
//! a given offset on, as many as the buffer holds, so a request can go out
//! through a buffer smaller than itself (R-MEM).

use super::BufferTooSmall;

/// Output cursor: `len` counts every octet pushed, written or not.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
    /// [`Writer::window`]: octets of the output before the buffer's first
    /// (counted, not written); `None`: the buffer holds the output from its
    /// start, and a push that does not fit is not written at all.
    skip: Option<usize>,
}

impl<'a> Writer<'a> {
    /// A writer filling `buf` from its start.
    #[must_use]
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer {
            buf,
            len: 0,
            skip: None,
        }
    }

    /// Octets pushed so far (written or only counted).
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was pushed.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether everything pushed so far fitted.
    #[must_use]
    pub fn fits(&self) -> bool {
        self.len <= self.buf.len()
    }

    /// Append `bytes` (counted even when they do not fit).
    pub fn push(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        match self.skip {
            None => {
                if let Some(dst) = self.buf.get_mut(self.len..end) {
                    dst.copy_from_slice(bytes);
                }
            }
            Some(skip) => {
                // The part of `bytes` that falls in the window.
                let from = self.len.max(skip);
                let to = end.min(skip.saturating_add(self.buf.len()));
                if from < to {
                    let src = bytes.get(from.saturating_sub(self.len)..to.saturating_sub(self.len));
                    let dst = self
                        .buf
                        .get_mut(from.saturating_sub(skip)..to.saturating_sub(skip));
                    if let (Some(src), Some(dst)) = (src, dst) {
                        dst.copy_from_slice(src);
                    }
                }
            }
        }
        self.len = end;
    }

    /// Append one octet.
    pub fn push_byte(&mut self, b: u8) {
        self.push(core::slice::from_ref(&b));
    }

    /// Append a string's UTF-8 octets.
    pub fn push_str(&mut self, s: &str) {
        self.push(s.as_bytes());
    }

    /// Append `n` in decimal, without leading zeros.
    pub fn push_decimal(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut v = n;
        loop {
            i = i.saturating_sub(1);
            if let Some(d) = digits.get_mut(i) {
                // `v % 10` is below 10, so the cast cannot truncate.
                *d = b'0' + (v % 10) as u8;
            }
            v /= 10;
            if v == 0 || i == 0 {
                break;
            }
        }
        self.push(digits.get(i..).unwrap_or(&[]));
    }

    /// The written octets, or how many were needed.
    pub fn finish(self) -> Result<usize, BufferTooSmall> {
        if self.fits() {
            Ok(self.len)
        } else {
            Err(BufferTooSmall { needed: self.len })
        }
    }
}

impl<'a> Writer<'a> {
    /// A writer that writes only the octets of its output from offset
    /// `skip` on, into `buf` from its start, as many as fit; it counts all.
    #[must_use]
    pub fn window(buf: &'a mut [u8], skip: usize) -> Self {
        Writer {
            buf,
            len: 0,
            skip: Some(skip),
        }
    }

    /// Octets written into the buffer (for [`Writer::window`]: the piece).
    #[must_use]
    pub fn written(&self) -> usize {
        let skip = self.skip.unwrap_or(0);
        self.len.saturating_sub(skip).min(self.buf.len())
    }
}

impl Writer<'static> {
    /// A writer with no buffer that only counts.
    #[must_use]
    pub fn counting() -> Self {
        Writer {
            buf: &mut [],
            len: 0,
            skip: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_past_the_end_and_reports_the_exact_need() {
        let mut buf = [0u8; 4];
        let mut w = Writer::new(&mut buf);
        w.push(b"abc");
        w.push(b"de");
        w.push_byte(b'f');
        assert!(!w.fits());
        assert_eq!(w.finish(), Err(BufferTooSmall { needed: 6 }));
        // Nothing past the first push that overflowed was written.
        assert_eq!(&buf, b"abc\0");
    }

    #[test]
    fn a_window_writes_one_piece_of_the_output_whatever_the_pushes() {
        let whole = b"POST /token HTTP/1.1\r\nrefresh_token=0.AXkA-secret";
        let emit = |w: &mut Writer<'_>| {
            w.push(&whole[..4]);
            w.push_byte(whole[4]);
            w.push(&whole[5..23]);
            w.push(&whole[23..]);
        };
        for size in [1, 3, 7, 16, whole.len(), whole.len() + 5] {
            let mut out = Vec::new();
            loop {
                let mut buf = std::vec![0u8; size];
                let mut w = Writer::window(&mut buf, out.len());
                emit(&mut w);
                assert_eq!(w.len(), whole.len());
                let n = w.written();
                out.extend_from_slice(&buf[..n]);
                // Nothing past the piece is touched.
                assert!(buf[n..].iter().all(|&b| b == 0), "size {size}");
                if out.len() == whole.len() {
                    break;
                }
                assert_eq!(n, size);
            }
            assert_eq!(out, whole, "size {size}");
        }
    }

    #[test]
    fn decimals_and_counting() {
        let mut buf = [0u8; 40];
        let mut w = Writer::new(&mut buf);
        w.push_decimal(0);
        w.push_byte(b' ');
        w.push_decimal(u64::MAX);
        let n = w.finish().unwrap();
        assert_eq!(&buf[..n], b"0 18446744073709551615");
        let mut c = Writer::counting();
        c.push_decimal(4096);
        assert_eq!(c.len(), 4);
        assert_eq!(c.finish(), Err(BufferTooSmall { needed: 4 }));
    }
}
