//! Printing the diagnostic catalogue for support engineers.

use mfp_oauth_core::diag::{Id, Lang};
use std::fmt::Write as _;

/// One diagnostic as a support engineer reads it: id, message, remedy.
pub fn describe(id: Id, lang: Lang) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "E{} {}", id.number(), id.name());
    let _ = writeln!(out, "  {}", id.message(lang));
    let _ = writeln!(out, "  -> {}", id.remedy(lang));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_in_the_requested_language() {
        let fr = describe(Id::SmtpAuthDisabled, Lang::Fr);
        assert!(fr.starts_with("E305 SmtpAuthDisabled\n"));
        assert!(fr.contains("SMTP authentifié"));
        assert!(describe(Id::SmtpAuthDisabled, Lang::En).contains("Authenticated SMTP"));
    }
}
