//! The device-flow verification URL as a QR code in the terminal, so the
//! administrator can scan it with a phone (R-CLI).

use qrcode::render::unicode::Dense1x2;
use qrcode::{EcLevel, QrCode};

/// `text` as a QR code drawn with Unicode half blocks (two modules per
/// character row), light modules as the terminal's foreground so that it
/// scans on dark terminals; `None` if the text is too long for a QR code.
#[must_use]
pub fn render(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_square_of_half_blocks() {
        let s = render("https://login.example/device?code=ABCD-EFGH").unwrap();
        let lines: Vec<&str> = s.lines().collect();
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width));
        // Dense1x2 packs two rows per line: height ≈ width / 2.
        assert!(lines.len() * 2 >= width && lines.len() * 2 <= width + 2);
        assert!(render(&"x".repeat(5000)).is_none());
    }
}
