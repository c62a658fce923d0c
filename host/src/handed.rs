//! A token handed in from outside (R-APP), read from the file a
//! print-management server wrote: either its token endpoint's answer (the
//! JSON with `access_token` and `expires_in`) or the bare access token.

use std::path::Path;

use mfp_oauth_core::wire::json::{parse_token_response, TokenResponse};
use mfp_oauth_core::Duration;
use zeroize::Zeroizing;

/// A handed-in access token and how long it lives.
pub struct HandedToken {
    /// The access token (wiped when dropped).
    pub token: Zeroizing<Vec<u8>>,
    /// Its lifetime from now.
    pub lifetime: Duration,
}

impl core::fmt::Debug for HandedToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HandedToken")
            .field("token", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

/// Why a handed-in token file could not be used (never says the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandedError {
    /// The file could not be read.
    Read(String),
    /// The file is empty.
    Empty,
    /// The JSON is not a token endpoint's answer with an access token.
    Malformed,
    /// Neither the file nor the command line says how long it lives.
    LifetimeUnknown,
}

impl core::fmt::Display for HandedError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HandedError::Read(e) => write!(f, "cannot read the handed-in token: {e}"),
            HandedError::Empty => f.write_str("the handed-in token file is empty"),
            HandedError::Malformed => f.write_str(
                "the handed-in token file is JSON but not a token answer with an access_token",
            ),
            HandedError::LifetimeUnknown => f.write_str(
                "how long the handed-in token lives is unknown: the file has no expires_in; give --handed-expires-in SECONDS",
            ),
        }
    }
}

/// Reads `path`. `lifetime` (the command line's) wins over the file's
/// `expires_in`; a bare token needs it.
pub fn read(path: &Path, lifetime: Option<u64>) -> Result<HandedToken, HandedError> {
    let raw = Zeroizing::new(std::fs::read(path).map_err(|e| HandedError::Read(e.to_string()))?);
    let text = raw.trim_ascii();
    if text.is_empty() {
        return Err(HandedError::Empty);
    }
    let (token, said) = if text.starts_with(b"{") {
        let mut answer = Box::new(TokenResponse::new());
        parse_token_response(text, &mut answer).map_err(|_| HandedError::Malformed)?;
        let token = Zeroizing::new(answer.access_token.expose().to_vec());
        let said = answer.expires_in;
        answer.clear();
        (token, said)
    } else {
        (Zeroizing::new(text.to_vec()), None)
    };
    let secs = lifetime.or(said).ok_or(HandedError::LifetimeUnknown)?;
    Ok(HandedToken {
        token,
        lifetime: Duration::from_secs(secs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, content: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mfp-handed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    #[test]
    fn a_token_answer_or_a_bare_token() {
        let json = file(
            "answer.json",
            br#"{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0.handed"}"#,
        );
        let t = read(&json, None).unwrap();
        assert_eq!(
            (&t.token[..], t.lifetime.as_secs()),
            (&b"eyJ0.handed"[..], 3599)
        );
        // The command line's lifetime wins.
        assert_eq!(read(&json, Some(600)).unwrap().lifetime.as_secs(), 600);
        let bare = file("bare.txt", b"eyJ0.bare\n");
        assert_eq!(read(&bare, None).unwrap_err(), HandedError::LifetimeUnknown);
        let t = read(&bare, Some(1200)).unwrap();
        assert_eq!(&t.token[..], b"eyJ0.bare");
        assert!(!format!("{t:?}").contains("eyJ0"), "redacted");
        let bad = file("bad.json", br#"{"error":"invalid_grant"}"#);
        assert_eq!(read(&bad, Some(60)).unwrap_err(), HandedError::Malformed);
        let empty = file("empty.txt", b"  \n");
        assert_eq!(read(&empty, Some(60)).unwrap_err(), HandedError::Empty);
        assert!(matches!(
            read(Path::new("/nonexistent/token"), Some(60)),
            Err(HandedError::Read(_))
        ));
    }
}
