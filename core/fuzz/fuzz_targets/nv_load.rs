//! The persistence image loader (R-NV) on arbitrary slot contents: raw
//! bytes in both slots, and arbitrary bodies behind a prefix whose magic,
//! version, length and CRC-32 are valid, so that the postcard decoding and
//! the unsealing are reached. Nothing may panic; a successful load never
//! yields an access token.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfp_oauth_core::image::{self, DeviceKey, FORMAT_VERSION, MAGIC, PREFIX_LEN};
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
});
