//! R-LOG on the board build: every `defmt::Format` of a secret writes a
//! redaction. A test-only global logger collects the encoded frames (the
//! interned format strings travel as indices; the arguments as their
//! octets), and no frame may hold any part of the secret.

use mfp_oauth_core::secret::{AccessToken, RefreshToken, SecretBuf};
use std::sync::Mutex;

static FRAMES: Mutex<Vec<u8>> = Mutex::new(Vec::new());

#[defmt::global_logger]
struct Collect;

// SAFETY: acquire/release bracket each frame; the tests hold `LOCK`, so
// frames never interleave, and the buffer is behind a mutex.
unsafe impl defmt::Logger for Collect {
    fn acquire() {}
    unsafe fn flush() {}
    unsafe fn release() {}
    unsafe fn write(bytes: &[u8]) {
        FRAMES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
    }
}

// No clock here: a constant timestamp (linked by every frame header).
defmt::timestamp!("{=u8}", 0);

static LOCK: Mutex<()> = Mutex::new(());

fn frames_of(f: impl FnOnce()) -> Vec<u8> {
    let _g = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    FRAMES.lock().unwrap_or_else(|p| p.into_inner()).clear();
    f();
    std::mem::take(&mut *FRAMES.lock().unwrap_or_else(|p| p.into_inner()))
}

fn holds(frames: &[u8], secret: &[u8]) -> bool {
    secret.windows(4).any(|w| frames.windows(4).any(|f| f == w))
}

#[test]
fn secrets_formatted_with_defmt_show_only_their_length() {
    let secret: &[u8] = b"Zq8Xw2Lp5Nv7Kr3Tj9Hc";
    let at = AccessToken::from_slice(secret).unwrap();
    let rt = RefreshToken::from_slice(secret).unwrap();
    let small = SecretBuf::<32>::from_slice(secret).unwrap();
    let frames = frames_of(|| {
        defmt::error!("token {} {} {}", at, rt, small);
        defmt::error!("debug-hint {=?}", at);
    });
    assert!(!frames.is_empty(), "the logger saw the frames");
    assert!(
        !holds(&frames, secret),
        "a defmt frame holds the secret: {frames:?}"
    );
    // What travels for each of the four secrets is its length (20), as a
    // little-endian argument, and nothing else of it.
    let lengths = frames
        .windows(4)
        .filter(|w| *w == 20u32.to_le_bytes())
        .count();
    assert_eq!(lengths, 4, "{frames:?}");

    // The check can fail: a plain byte slice is written as its octets.
    let leaked = frames_of(|| defmt::error!("{=[u8]}", secret));
    assert!(holds(&leaked, secret));
}
