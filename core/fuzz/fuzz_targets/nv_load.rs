//! The persistence image loader (R-NV) on arbitrary slot contents: raw
//! bytes in both slots, and arbitrary bodies behind a prefix whose magic,
//! version, length and CRC-32 are valid, so that the postcard decoding and
//! the unsealing are reached. Nothing may panic; a successful load never
//! yields an access token. The same slots read a piece at a time through a
//! flash driver (`load_from`) give the same outcome as from memory, and a
//! short scratch never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::image::{
    self, DeviceKey, ReadFault, SlotId, SlotReader, FORMAT_VERSION, MAGIC, PREFIX_LEN,
    RECORDS_MAX_LEN,
};
use mfp_oauth_core::{Settings, TokenStore};

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

fn framed(body: &[u8], sealed: bool) -> Vec<u8> {
    let mut img = Vec::with_capacity(PREFIX_LEN + body.len());
    img.extend_from_slice(&MAGIC);
    img.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    img.extend_from_slice(&u16::from(sealed).to_le_bytes());
    img.extend_from_slice(&7u32.to_le_bytes());
    img.extend_from_slice(&u32::try_from(body.len()).unwrap_or(0).to_le_bytes());
    let mut d = CRC.digest();
    d.update(&img);
    d.update(body);
    img.extend_from_slice(&d.finalize().to_le_bytes());
    img.extend_from_slice(body);
    img
}

/// Two slots read through a flash driver.
struct Flash<'a>(&'a [u8], &'a [u8]);

impl SlotReader for Flash<'_> {
    fn slot_len(&self, slot: SlotId) -> usize {
        match slot {
            SlotId::A => self.0.len(),
            SlotId::B => self.1.len(),
        }
    }

    fn read(&mut self, slot: SlotId, offset: usize, out: &mut [u8]) -> Result<(), ReadFault> {
        let s = match slot {
            SlotId::A => self.0,
            SlotId::B => self.1,
        };
        out.copy_from_slice(s.get(offset..offset + out.len()).ok_or(ReadFault)?);
        Ok(())
    }
}

/// Loads `a` and `b` from memory and through the driver: the same outcome.
fn both_ways(a: &[u8], b: &[u8], key: &DeviceKey, scratch_len: usize) {
    let (mut s1, mut t1) = (Settings::default(), TokenStore::new());
    let from_memory = image::load(a, b, Some(key), &mut s1, &mut t1);
    let (mut s2, mut t2) = (Settings::default(), TokenStore::new());
    let mut scratch = vec![0u8; scratch_len];
    let from_flash = image::load_from(&mut Flash(a, b), &mut scratch, Some(key), &mut s2, &mut t2);
    if scratch_len >= RECORDS_MAX_LEN {
        assert_eq!(from_memory, from_flash);
        assert!(s1 == s2);
    }
}

fuzz_target!(|data: &[u8]| {
    let key = DeviceKey::new(&[0x42; 32]);
    let mut settings = Settings::default();
    let mut store = TokenStore::new();
    let cut = data.first().map_or(0, |b| usize::from(*b)) % (data.len() + 1);
    let (a, b) = data.split_at(cut);
    let _ = image::load(a, b, Some(&key), &mut settings, &mut store);
    let sealed = data.first().is_some_and(|b| b & 1 == 1);
    let img = framed(data.get(1..).unwrap_or(&[]), sealed);
    if image::load(&img, a, Some(&key), &mut settings, &mut store).is_ok() {
        assert_eq!(store.cached_access_tokens(), 0);
    }
    let scratch_len = data.get(1).map_or(0, |b| usize::from(*b) * 4);
    both_ways(&img, a, &key, scratch_len);
    both_ways(&img, a, &key, RECORDS_MAX_LEN);
});
