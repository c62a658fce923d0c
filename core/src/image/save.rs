//! Writing the image (R-NV), whole or in pieces (R-MEM).
//!
//! The body is made by one function ([`Parts::produce`]) into a sink: to
//! count it, to work out its CRC, or to fill one window of it. A piece is
//! thus made again from the state each time, and the writer between pieces
//! is a few dozen octets, whatever the image's size.

use core::fmt;

use postcard::ser_flavors::Flavor;
use zeroize::Zeroize;

use super::records::MetaRecord;
use super::seal::{SecretSealer, PIECE_LEN};
use super::{
    aad, le32, nonce, DeviceKey, NvError, Seal, BODY_FIXED_LEN, CRC, FLAG_SEALED, FORMAT_VERSION,
    MAGIC, PREFIX_LEN, RANDOM_LEN, TAG_LEN,
};
use crate::config::Settings;
use crate::token::{TokenStore, UserSlots};

/// Write the image of `settings` and `store`'s refresh tokens, sequence
/// number `seq`, into `out` in one piece; returns its length. The firmware
/// writes `out[..len]` into the slot [`super::NvCursor::next`] named. `out`
/// must hold the whole image ([`ImageWriter::len`]; [`super::IMAGE_MAX_LEN`]
/// always suffices); with less RAM, write it in pieces with
/// [`ImageWriter`]. On error `out` is wiped.
pub fn save<U: UserSlots>(
    settings: &Settings,
    store: &TokenStore<U>,
    seq: u32,
    seal: Option<Seal<'_>>,
    out: &mut [u8],
) -> Result<usize, NvError> {
    let r = ImageWriter::new(settings, store, seq, seal).and_then(|mut w| {
        if out.len() < w.len() {
            return Err(NvError::BufferTooSmall);
        }
        let n = w.next_chunk(settings, store, out)?;
        if w.is_done() {
            Ok(n)
        } else {
            Err(NvError::Changed)
        }
    });
    if r.is_err() {
        out.zeroize();
    }
    r
}

/// Writes one image in pieces through a buffer of any size (R-MEM: no
/// buffer the size of a slot; 64 octets are enough, and a flash page is
/// a good choice).
///
/// [`ImageWriter::new`] works out the image's length and CRC from the state
/// as it is; each [`ImageWriter::next_chunk`] then gives the next octets,
/// to be programmed at offset [`ImageWriter::written`] (before the call) of
/// the slot [`super::NvCursor::next`] named, from the first octet up. The
/// octets are made again from `settings` and `store` for each piece, so
/// nothing but this small cursor is kept between pieces. If the state
/// changes between pieces, the last piece reports [`NvError::Changed`]: the
/// image is incomplete, must not be confirmed with
/// [`super::NvCursor::written`], and the change has asked for a new image
/// anyway. A slot whose image is incomplete fails its CRC at power-on, and
/// the other slot, untouched, still loads (R-NV).
pub struct ImageWriter {
    prefix: [u8; PREFIX_LEN],
    seal: Option<(DeviceKey, [u8; RANDOM_LEN])>,
    len: usize,
    written: usize,
    /// The CRC of what was handed out so far (finalised, see
    /// [`crc_resumed`]), to compare with the prefix's at the end. A plain
    /// number, so that a writer is valid as all-zero octets and can live
    /// in storage the C API zeroes (no reference inside).
    running: u32,
    /// The state changed under the writer: the image cannot be finished.
    spoiled: bool,
}

impl fmt::Debug for ImageWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageWriter")
            .field("len", &self.len)
            .field("written", &self.written)
            .field("sealed", &self.seal.is_some())
            .finish_non_exhaustive()
    }
}

impl ImageWriter {
    /// A writer for the image of `settings` and `store`'s refresh tokens,
    /// sequence number `seq`, its secrets sealed with `seal` if given.
    pub fn new<U: UserSlots>(
        settings: &Settings,
        store: &TokenStore<U>,
        seq: u32,
        seal: Option<Seal<'_>>,
    ) -> Result<Self, NvError> {
        let flags = if seal.is_some() { FLAG_SEALED } else { 0 };
        let mut prefix = [0u8; PREFIX_LEN];
        write_prefix_head(&mut prefix, flags, seq);
        let seal = seal.map(|s| (s.key.clone(), s.random));
        let parts = Parts {
            settings,
            store,
            seq,
            seal: seal.as_ref(),
        };
        // The length first (no secret is sealed to count it), then the CRC
        // over the prefix's first 16 octets, which hold the length.
        let mut count = Count(0);
        parts.produce(&prefix, &mut count)?;
        let body_len = count.0;
        let len = PREFIX_LEN
            .checked_add(body_len)
            .ok_or(NvError::BufferTooSmall)?;
        let body_len32 = u32::try_from(body_len).map_err(|_| NvError::BufferTooSmall)?;
        if let Some(field) = prefix.get_mut(12..16) {
            field.copy_from_slice(&body_len32.to_le_bytes());
        }
        let mut head = CRC.digest();
        head.update(prefix.get(..16).unwrap_or(&[]));
        let mut crc = Crc(head.clone());
        let running = head.finalize();
        parts.produce(&prefix, &mut crc)?;
        let crc = crc.0.finalize();
        if let Some(field) = prefix.get_mut(16..20) {
            field.copy_from_slice(&crc.to_le_bytes());
        }
        Ok(ImageWriter {
            prefix,
            seal,
            len,
            written: 0,
            running,
            spoiled: false,
        })
    }

    /// The image's length in octets.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never: an image has at least its prefix (for clippy's `len`
    /// convention).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Octets handed out so far: the offset in the slot of the next piece.
    #[must_use]
    pub fn written(&self) -> usize {
        self.written
    }

    /// Every octet was handed out and the state did not change meanwhile.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.written == self.len && !self.spoiled
    }

    /// The next piece of the image into `out`, from the same `settings`
    /// and `store`; returns how many octets (all of `out` but for the last
    /// piece, 0 once done). On error `out` is wiped: [`NvError::Changed`]
    /// if the state changed since [`ImageWriter::new`],
    /// [`NvError::BufferTooSmall`] for an empty `out` before the end.
    pub fn next_chunk<U: UserSlots>(
        &mut self,
        settings: &Settings,
        store: &TokenStore<U>,
        out: &mut [u8],
    ) -> Result<usize, NvError> {
        let r = if self.spoiled {
            Err(NvError::Changed)
        } else {
            self.fill(settings, store, out)
        };
        if let Err(e) = r {
            self.spoiled |= e == NvError::Changed;
            out.zeroize();
        }
        r
    }

    fn fill<U: UserSlots>(
        &mut self,
        settings: &Settings,
        store: &TokenStore<U>,
        out: &mut [u8],
    ) -> Result<usize, NvError> {
        let want = out.len().min(self.len.saturating_sub(self.written));
        if want == 0 {
            return if self.written == self.len {
                Ok(0)
            } else {
                Err(NvError::BufferTooSmall)
            };
        }
        let out = out.get_mut(..want).ok_or(NvError::BufferTooSmall)?;
        // The prefix's octets, then the body's.
        let mut filled = 0;
        if let Some(head) = self.prefix.get(self.written..) {
            filled = head.len().min(want);
            if let (Some(dst), Some(src)) = (out.get_mut(..filled), head.get(..filled)) {
                dst.copy_from_slice(src);
            }
        }
        if filled < want {
            let mut window = Window {
                skip: self
                    .written
                    .saturating_add(filled)
                    .saturating_sub(PREFIX_LEN),
                out: out.get_mut(filled..).unwrap_or(&mut []),
                filled: 0,
            };
            Parts {
                settings,
                store,
                seq: le32(&self.prefix, 8).unwrap_or(0),
                seal: self.seal.as_ref(),
            }
            .produce(&self.prefix, &mut window)?;
            let body = window.filled;
            if let Some(piece) = out.get(filled..filled.saturating_add(body)) {
                let mut d = crc_resumed(self.running);
                d.update(piece);
                self.running = d.finalize();
            }
            filled = filled.saturating_add(body);
        }
        if filled < want {
            // The state shrank since the length was worked out.
            return Err(NvError::Changed);
        }
        self.written = self.written.saturating_add(filled);
        if self.written == self.len && le32(&self.prefix, 16) != Some(self.running) {
            return Err(NvError::Changed);
        }
        Ok(filled)
    }
}

/// A digest that goes on from `finalised`, the image CRC (CRC-32/ISO-HDLC)
/// of the octets so far. That CRC reflects its input and output and
/// inverts its register at the start and the end: the register is
/// `finalised` inverted, and the crate takes an initial value reflected.
pub(super) fn crc_resumed(finalised: u32) -> crc::Digest<'static, u32, crc::NoTable> {
    CRC.digest_with_initial((finalised ^ u32::MAX).reverse_bits())
}

/// Where the body's octets go as they are made, in order.
trait Sink {
    /// Whether any of the next `len` octets is wanted; if not, they are
    /// skipped without being made (no secret sealed for nothing).
    fn wants(&self, len: usize) -> bool;
    /// The next octets.
    fn put(&mut self, octets: &[u8]);
    /// The next `len` octets, not made (after `wants` said no).
    fn skip(&mut self, len: usize);
}

/// Counts the body's octets.
struct Count(usize);

impl Sink for Count {
    fn wants(&self, _: usize) -> bool {
        false
    }
    fn put(&mut self, octets: &[u8]) {
        self.0 = self.0.saturating_add(octets.len());
    }
    fn skip(&mut self, len: usize) {
        self.0 = self.0.saturating_add(len);
    }
}

/// The CRC of the body (started with the prefix's first 16 octets).
struct Crc(crc::Digest<'static, u32, crc::NoTable>);

impl Sink for Crc {
    fn wants(&self, _: usize) -> bool {
        true
    }
    fn put(&mut self, octets: &[u8]) {
        self.0.update(octets);
    }
    fn skip(&mut self, _: usize) {}
}

/// The body's octets from offset `skip` into `out`.
struct Window<'o> {
    skip: usize,
    out: &'o mut [u8],
    filled: usize,
}

impl Sink for Window<'_> {
    fn wants(&self, len: usize) -> bool {
        self.skip < len && self.filled < self.out.len()
    }
    fn put(&mut self, octets: &[u8]) {
        let Some(rest) = octets.get(self.skip..) else {
            self.skip = self.skip.saturating_sub(octets.len());
            return;
        };
        self.skip = 0;
        let room = self.out.len().saturating_sub(self.filled);
        let n = rest.len().min(room);
        let end = self.filled.saturating_add(n);
        if let (Some(dst), Some(src)) = (self.out.get_mut(self.filled..end), rest.get(..n)) {
            dst.copy_from_slice(src);
            self.filled = end;
        }
    }
    fn skip(&mut self, len: usize) {
        self.skip = self.skip.saturating_sub(len);
    }
}

/// postcard's output into a [`Sink`].
struct ToSink<'s>(&'s mut dyn Sink);

impl Flavor for ToSink<'_> {
    type Output = ();
    fn try_push(&mut self, octet: u8) -> postcard::Result<()> {
        self.0.put(&[octet]);
        Ok(())
    }
    fn try_extend(&mut self, octets: &[u8]) -> postcard::Result<()> {
        self.0.put(octets);
        Ok(())
    }
    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// What the body is made of.
struct Parts<'a, U: UserSlots> {
    settings: &'a Settings,
    store: &'a TokenStore<U>,
    seq: u32,
    seal: Option<&'a (DeviceKey, [u8; RANDOM_LEN])>,
}

impl<U: UserSlots> Parts<'_, U> {
    /// The body's octets into `sink`, in the documented order: the
    /// randomness and a reserved octet, the records, the secrets (sealed
    /// with the `prefix`'s first 12 octets as associated data).
    fn produce(&self, prefix: &[u8; PREFIX_LEN], sink: &mut dyn Sink) -> Result<(), NvError> {
        let mut fixed = [0u8; BODY_FIXED_LEN];
        if let (Some((_, random)), Some(dst)) = (self.seal, fixed.get_mut(..RANDOM_LEN)) {
            dst.copy_from_slice(random);
        }
        sink.put(&fixed);
        self.records(sink)?;
        let proxy_password = self.settings.proxy.as_ref().map(|p| p.password.expose());
        let client_secret =
            Some(self.settings.app_client_secret.0.expose()).filter(|s| !s.is_empty());
        let secrets = proxy_password
            .into_iter()
            .chain(client_secret)
            .chain(core::iter::once(self.store.admin.refresh.expose()))
            .chain(self.store.user_entries().map(|u| u.slot.refresh.expose()));
        for (index, secret) in secrets.enumerate() {
            self.secret(sink, prefix, index, secret);
        }
        Ok(())
    }

    /// The settings' and slots' records, made as they are encoded.
    fn records(&self, sink: &mut dyn Sink) -> Result<(), NvError> {
        let meta = MetaRecord {
            settings: self.settings,
            store: self.store,
        };
        postcard::serialize_with_flavor(&meta, ToSink(sink)).map_err(|_| NvError::BufferTooSmall)
    }

    /// Secret number `index`, sealed (then its tag) if the image is.
    fn secret(&self, sink: &mut dyn Sink, prefix: &[u8; PREFIX_LEN], index: usize, secret: &[u8]) {
        let Some((key, random)) = self.seal else {
            if sink.wants(secret.len()) {
                sink.put(secret);
            } else {
                sink.skip(secret.len());
            }
            return;
        };
        let sealed_len = secret.len().saturating_add(TAG_LEN);
        if !sink.wants(sealed_len) {
            sink.skip(sealed_len);
            return;
        }
        let mut sealer =
            SecretSealer::new(key, &nonce(self.seq, index, random), &aad(prefix, index));
        let mut block = [0u8; PIECE_LEN];
        for piece in secret.chunks(PIECE_LEN) {
            if let Some(b) = block.get_mut(..piece.len()) {
                b.copy_from_slice(piece);
                sealer.seal(b);
                sink.put(b);
            }
        }
        block.zeroize();
        sink.put(&sealer.tag());
    }
}

fn write_prefix_head(prefix: &mut [u8; PREFIX_LEN], flags: u16, seq: u32) {
    let (magic, rest) = prefix.split_at_mut(4);
    magic.copy_from_slice(&MAGIC);
    let (version, rest) = rest.split_at_mut(2);
    version.copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let (fl, rest) = rest.split_at_mut(2);
    fl.copy_from_slice(&flags.to_le_bytes());
    if let Some(s) = rest.get_mut(..4) {
        s.copy_from_slice(&seq.to_le_bytes());
    }
}
