//! The C library keeps the catalogue's messages and remedies packed and
//! expands them into the caller's buffer (build.rs, src/diag/packed.rs;
//! R-MEM, issue 15). Every id's message and remedy, in both languages,
//! must come back through the C calls octet for octet as the core has it,
//! with the buffer contract of mfp_oauth.h: a buffer one octet short gets
//! nothing and the size needed, an exact one the text and its NUL, and
//! nothing past the NUL is touched.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use core::ffi::c_char;

use mfp_oauth::diag::{mfp_oauth_diag_message, mfp_oauth_diag_remedy};
use mfp_oauth::MfpOauthStatus as S;
use mfp_oauth_core::diag::{Id, Lang};

type Text = unsafe extern "C" fn(u32, u32, *mut c_char, usize, *mut usize) -> S;

/// The text `f` writes for (`id`, `lang`) through exact and short buffers.
fn through_c(f: Text, id: Id, lang: u32) -> Vec<u8> {
    let number = u32::from(id.number());
    let mut need = 0usize;
    let mut tiny = [0x55u8; 1];
    // SAFETY: a live one-octet buffer and a live length.
    assert_eq!(
        unsafe { f(number, lang, tiny.as_mut_ptr().cast(), 1, &mut need) },
        S::BufferTooSmall
    );
    assert_eq!(tiny, [0x55], "{id:?}: written into a short buffer");
    // One octet short, then exact; a guard octet after each.
    let mut buf = vec![0x55u8; need + 1];
    let mut len = usize::MAX;
    // SAFETY: `buf` is live for `need + 1` octets.
    assert_eq!(
        unsafe { f(number, lang, buf.as_mut_ptr().cast(), need - 1, &mut len) },
        S::BufferTooSmall
    );
    assert_eq!(len, need, "{id:?}: the size needed");
    assert!(buf.iter().all(|&b| b == 0x55), "{id:?}: written when short");
    // SAFETY: as above.
    assert_eq!(
        unsafe { f(number, lang, buf.as_mut_ptr().cast(), need, &mut len) },
        S::Ok
    );
    assert_eq!(len, need - 1, "{id:?}: the length written");
    assert_eq!(buf[len], 0, "{id:?}: the NUL");
    assert_eq!(buf[need], 0x55, "{id:?}: written past the buffer");
    buf.truncate(len);
    buf
}

#[test]
fn every_message_and_remedy_comes_back_as_the_core_has_it() {
    let step = if cfg!(miri) { 7 } else { 1 };
    for id in Id::ALL.iter().step_by(step) {
        for (lang, code) in [(Lang::En, 0), (Lang::Fr, 1)] {
            let message = through_c(mfp_oauth_diag_message, *id, code);
            assert_eq!(
                message,
                id.message(lang).as_bytes(),
                "{id:?} {lang:?} message"
            );
            let remedy = through_c(mfp_oauth_diag_remedy, *id, code);
            assert_eq!(remedy, id.remedy(lang).as_bytes(), "{id:?} {lang:?} remedy");
        }
    }
}
