//! JSON Web Token assertions for the token endpoint (RFC 7519, RFC 7515,
//! RFC 7523), written a piece at a time.
//!
//! The core never holds the signing key (R-APP): it writes the JWS signing
//! input `BASE64URL(header) "." BASE64URL(claims)` for the caller to sign,
//! then writes the same input again, followed by `"." BASE64URL(signature)`,
//! straight into the request body. Nothing is held twice: the header and
//! the claims are produced from their few fields every time, through a
//! streaming base64url encoder (RFC 4648 §5, no padding, as RFC 7515 §2
//! asks), so the same [`Assertion`] always gives the same octets.

use base64::Engine as _;

use super::writer::Writer;

/// Octets of a SHA-256 certificate thumbprint (`x5t#S256`, RFC 7515 §4.1.8).
pub const THUMBPRINT_LEN: usize = 32;
/// Octets of a `jti` seed: formatted as a UUID (RFC 9562 §5.4 layout), which
/// Microsoft Entra asks for.
pub const JTI_LEN: usize = 16;

/// The JWS algorithm of an assertion (RFC 7518 §3.3, §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum JwsAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (Microsoft Entra and Google).
    Rs256,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256 (Microsoft Entra).
    Ps256,
}

impl JwsAlg {
    /// The `alg` header value.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            JwsAlg::Rs256 => "RS256",
            JwsAlg::Ps256 => "PS256",
        }
    }
}

/// The fields of one assertion. The claims are written in this order,
/// each only when present: `aud`, `iss`, `sub`, `scope`, `jti`, `iat`,
/// `nbf`, `exp`; the header `alg`, `typ` (`JWT`), `x5t#S256`, `kid`.
#[derive(Debug, Clone, Copy)]
pub struct Assertion<'a> {
    /// Signature algorithm.
    pub alg: JwsAlg,
    /// SHA-256 of the signing certificate's DER (Microsoft Entra).
    pub x5t_s256: Option<&'a [u8; THUMBPRINT_LEN]>,
    /// Key id (Google's `private_key_id`).
    pub kid: Option<&'a str>,
    /// Audience: the token endpoint's URL.
    pub aud: &'a str,
    /// Issuer.
    pub iss: &'a str,
    /// Subject.
    pub sub: &'a str,
    /// Scope (Google's service account grant).
    pub scope: Option<&'a str>,
    /// JWT id, written as a UUID.
    pub jti: Option<&'a [u8; JTI_LEN]>,
    /// Issued at (seconds since 1970).
    pub iat: Option<u64>,
    /// Not before (seconds since 1970).
    pub nbf: Option<u64>,
    /// Expiry (seconds since 1970).
    pub exp: u64,
}

/// Base64url without padding, fed in pieces.
struct B64Url<'s> {
    out: &'s mut dyn FnMut(&[u8]),
    pending: [u8; 3],
    n: usize,
}

impl<'s> B64Url<'s> {
    fn new(out: &'s mut dyn FnMut(&[u8])) -> Self {
        B64Url {
            out,
            pending: [0; 3],
            n: 0,
        }
    }

    fn push(&mut self, data: &[u8]) {
        for &b in data {
            if let Some(slot) = self.pending.get_mut(self.n) {
                *slot = b;
            }
            self.n += 1;
            if self.n == 3 {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        let mut enc = [0u8; 4];
        let src = self.pending.get(..self.n).unwrap_or(&[]);
        if let Ok(k) = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_slice(src, &mut enc)
        {
            (self.out)(enc.get(..k).unwrap_or(&[]));
        }
        self.n = 0;
    }

    fn finish(mut self) {
        if self.n > 0 {
            self.flush();
        }
    }
}

/// A JSON object written into a [`B64Url`].
struct Object<'e, 's> {
    enc: &'e mut B64Url<'s>,
    first: bool,
}

impl<'e, 's> Object<'e, 's> {
    fn new(enc: &'e mut B64Url<'s>) -> Self {
        enc.push(b"{");
        Object { enc, first: true }
    }

    fn key(&mut self, name: &str) {
        self.enc.push(if self.first { b"\"" } else { b",\"" });
        self.first = false;
        self.enc.push(name.as_bytes());
        self.enc.push(b"\":");
    }

    fn string(&mut self, name: &str, value: &[u8]) {
        self.key(name);
        self.enc.push(b"\"");
        escape(self.enc, value);
        self.enc.push(b"\"");
    }

    fn number(&mut self, name: &str, value: u64) {
        self.key(name);
        let mut digits = [0u8; 20];
        self.enc.push(super::decimal(value, &mut digits));
    }

    fn raw_string(&mut self, name: &str, write: impl FnOnce(&mut B64Url<'s>)) {
        self.key(name);
        self.enc.push(b"\"");
        write(self.enc);
        self.enc.push(b"\"");
    }

    fn end(self) {
        self.enc.push(b"}");
    }
}

/// JSON string escaping (RFC 8259 §7): `"`, `\` and control characters.
fn escape(enc: &mut B64Url<'_>, value: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in value.iter().enumerate() {
        if b != b'"' && b != b'\\' && b >= 0x20 {
            continue;
        }
        enc.push(value.get(start..i).unwrap_or(&[]));
        start = i.saturating_add(1);
        match b {
            b'"' => enc.push(b"\\\""),
            b'\\' => enc.push(b"\\\\"),
            _ => {
                let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
                let lo = HEX.get(usize::from(b & 0x0f)).copied().unwrap_or(b'0');
                enc.push(&[b'\\', b'u', b'0', b'0', hi, lo]);
            }
        }
    }
    enc.push(value.get(start..).unwrap_or(&[]));
}

/// `jti` as a UUID: `8-4-4-4-12` lower-case hex digits, version 4.
fn write_uuid(enc: &mut B64Url<'_>, seed: &[u8; JTI_LEN]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut octets = *seed;
    if let Some(b) = octets.get_mut(6) {
        *b = (*b & 0x0f) | 0x40;
    }
    if let Some(b) = octets.get_mut(8) {
        *b = (*b & 0x3f) | 0x80;
    }
    for (i, b) in octets.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            enc.push(b"-");
        }
        let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
        let lo = HEX.get(usize::from(b & 0x0f)).copied().unwrap_or(b'0');
        enc.push(&[hi, lo]);
    }
}

/// Stream the JWS signing input of `a` (`BASE64URL(header) "."
/// BASE64URL(claims)`) to `out`, in pieces.
pub fn stream_signing_input(a: &Assertion<'_>, out: &mut dyn FnMut(&[u8])) {
    {
        let mut enc = B64Url::new(out);
        let mut h = Object::new(&mut enc);
        h.string("alg", a.alg.name().as_bytes());
        h.string("typ", b"JWT");
        if let Some(t) = a.x5t_s256 {
            h.raw_string("x5t#S256", |e| {
                let mut b64 = [0u8; 43];
                if let Ok(k) =
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_slice(t, &mut b64)
                {
                    e.push(b64.get(..k).unwrap_or(&[]));
                }
            });
        }
        if let Some(kid) = a.kid {
            h.string("kid", kid.as_bytes());
        }
        h.end();
        enc.finish();
    }
    out(b".");
    let mut enc = B64Url::new(out);
    let mut c = Object::new(&mut enc);
    c.string("aud", a.aud.as_bytes());
    c.string("iss", a.iss.as_bytes());
    c.string("sub", a.sub.as_bytes());
    if let Some(scope) = a.scope {
        c.string("scope", scope.as_bytes());
    }
    if let Some(jti) = a.jti {
        c.raw_string("jti", |e| write_uuid(e, jti));
    }
    if let Some(iat) = a.iat {
        c.number("iat", iat);
    }
    if let Some(nbf) = a.nbf {
        c.number("nbf", nbf);
    }
    c.number("exp", a.exp);
    c.end();
    enc.finish();
}

/// Write the signing input of `a` through `w`.
pub fn write_signing_input(w: &mut Writer<'_>, a: &Assertion<'_>) {
    stream_signing_input(a, &mut |piece| w.push(piece));
}

/// Write the whole JWS compact serialization: the signing input, `.`, and
/// the base64url of `signature`.
pub fn write_jwt(w: &mut Writer<'_>, a: &Assertion<'_>, signature: &[u8]) {
    write_signing_input(w, a);
    w.push(b".");
    let mut sink = |piece: &[u8]| w.push(piece);
    let mut enc = B64Url::new(&mut sink);
    enc.push(signature);
    enc.finish();
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    fn input(a: &Assertion<'_>) -> String {
        let mut v = Vec::new();
        stream_signing_input(a, &mut |p| v.extend_from_slice(p));
        String::from_utf8(v).unwrap()
    }

    fn sample() -> Assertion<'static> {
        Assertion {
            alg: JwsAlg::Rs256,
            x5t_s256: Some(&[0xfb; 32]),
            kid: None,
            aud: "https://login.example/t/token",
            iss: "cl\"i\\d\u{1}",
            sub: "client",
            scope: None,
            jti: Some(&[0xff; 16]),
            iat: None,
            nbf: Some(1_700_000_000),
            exp: 1_700_000_600,
        }
    }

    #[test]
    fn header_and_claims_are_base64url_json_without_padding() {
        let s = input(&sample());
        let (h, c) = s.split_once('.').unwrap();
        assert!(!s.contains('=') && !s.contains('+') && !s.contains('/'));
        let h = String::from_utf8(URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
        let c = String::from_utf8(URL_SAFE_NO_PAD.decode(c).unwrap()).unwrap();
        let x5t = URL_SAFE_NO_PAD.encode([0xfb; 32]);
        assert_eq!(
            h,
            format!(r#"{{"alg":"RS256","typ":"JWT","x5t#S256":"{x5t}"}}"#)
        );
        assert_eq!(
            c,
            r#"{"aud":"https://login.example/t/token","iss":"cl\"i\\d\u0001","sub":"client","jti":"ffffffff-ffff-4fff-bfff-ffffffffffff","nbf":1700000000,"exp":1700000600}"#
        );
    }

    #[test]
    fn the_jwt_is_the_input_a_dot_and_the_signature() {
        let a = sample();
        let mut buf = [0u8; 1024];
        let mut w = Writer::new(&mut buf);
        write_jwt(&mut w, &a, &[0xfa, 0xfb, 0xfc, 0xfd]);
        let n = w.finish().unwrap();
        let jwt = core::str::from_utf8(&buf[..n]).unwrap();
        assert_eq!(jwt, format!("{}.-vv8_Q", input(&a)));
        // Counting gives the same length as writing.
        let mut c = Writer::counting();
        write_jwt(&mut c, &a, &[0xfa, 0xfb, 0xfc, 0xfd]);
        assert_eq!(c.len(), n);
    }

    #[test]
    fn every_piece_length_encodes_like_the_whole() {
        for len in 0..40usize {
            let data: Vec<u8> = (0..len as u8).collect();
            let mut out = Vec::new();
            let mut sink = |p: &[u8]| out.extend_from_slice(p);
            let mut enc = B64Url::new(&mut sink);
            for chunk in data.chunks(5) {
                enc.push(chunk);
            }
            enc.finish();
            assert_eq!(out, URL_SAFE_NO_PAD.encode(&data).as_bytes());
        }
    }
}
