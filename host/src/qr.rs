//! The device-flow verification URL as a QR code in the terminal, so the
//! administrator can scan it with a phone (R-CLI). The matrix is the core's
//! ([`mfp_oauth_core::qr`], R-QR): the same code a printer's panel draws.

use mfp_oauth_core::qr::{self, QrMatrix, QR_BUFFER_LEN, QR_QUIET_ZONE};

/// `text` as a QR code drawn with Unicode half blocks (two module rows per
/// character row), light modules as the terminal's foreground so that it
/// scans on dark terminals, with the quiet zone around it; `None` if the text
/// is too long for the core's largest code.
#[must_use]
pub fn render(text: &str) -> Option<String> {
    let mut work = [0u8; QR_BUFFER_LEN];
    let mut out = [0u8; QR_BUFFER_LEN];
    let matrix = qr::encode(text, &mut work, &mut out).ok()?;
    Some(draw(&matrix))
}

/// Half-block drawing of `m`: each character is a module column of two
/// rows; a drawn half is a light module (foreground), a blank half a dark one.
fn draw(m: &QrMatrix<'_>) -> String {
    let q = QR_QUIET_ZONE;
    let side = m.size() + 2 * q;
    // Inside the quiet zone, coordinates shift by `q`; the zone is light.
    let light = |x: usize, y: usize| {
        x < q || y < q || x >= q + m.size() || y >= q + m.size() || !m.is_dark(x - q, y - q)
    };
    let mut s = String::with_capacity(side * side.div_ceil(2) * 3 + side);
    for y in (0..side).step_by(2) {
        for x in 0..side {
            let top = light(x, y);
            let bottom = y + 1 < side && light(x, y + 1);
            s.push(match (top, bottom) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_square_of_half_blocks_with_the_quiet_zone() {
        let s = render("https://login.example/device?code=ABCD-EFGH").unwrap();
        let lines: Vec<&str> = s.lines().collect();
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width));
        // Two module rows per line: height = ceil(width / 2).
        assert_eq!(lines.len(), width.div_ceil(2));
        // The first line is quiet zone only: all light (full blocks).
        assert!(lines[0].chars().all(|c| c == '█'));
        // Below it, the top-left finder's dark ring starts after the zone.
        assert!(lines[2]
            .chars()
            .nth(QR_QUIET_ZONE)
            .is_some_and(|c| c != '█'));
        assert!(render(&"x".repeat(5000)).is_none());
    }

    /// The core's matrix, drawn at 4 pixels a module with the quiet zone,
    /// read back by an independent decoder: the text comes out whole, for a
    /// short URI and for the longest one the core keeps.
    #[test]
    fn a_decoder_reads_the_text_back() {
        let long = "https://login.example/device?code=".to_string()
            + &"Zy9-".repeat(200)[..mfp_oauth_core::limits::MAX_VERIFICATION_URI_COMPLETE_LEN - 34];
        for text in [
            "https://microsoft.com/devicelogin",
            "https://www.google.com/device",
            &long,
        ] {
            let mut work = [0u8; QR_BUFFER_LEN];
            let mut out = [0u8; QR_BUFFER_LEN];
            let m = qr::encode(text, &mut work, &mut out).unwrap();
            let px = 4;
            let side = (m.size() + 2 * QR_QUIET_ZONE) * px;
            let mut img = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
                let (mx, my) = (x / px, y / px);
                let q = QR_QUIET_ZONE;
                let inside = (q..q + m.size()).contains(&mx) && (q..q + m.size()).contains(&my);
                if inside && m.is_dark(mx - q, my - q) {
                    0
                } else {
                    255
                }
            });
            let grids = img.detect_grids();
            assert_eq!(grids.len(), 1, "one code found for {text}");
            let (_, content) = grids[0].decode().unwrap();
            assert_eq!(content, text);
        }
    }

    #[test]
    fn each_character_is_its_two_modules() {
        let mut work = [0u8; QR_BUFFER_LEN];
        let mut out = [0u8; QR_BUFFER_LEN];
        let m = qr::encode("HELLO", &mut work, &mut out).unwrap();
        let s = draw(&m);
        let q = QR_QUIET_ZONE;
        for (row, line) in s.lines().enumerate() {
            for (x, c) in line.chars().enumerate() {
                let at = |y: usize| {
                    let inside = (q..q + m.size()).contains(&x) && (q..q + m.size()).contains(&y);
                    !(inside && m.is_dark(x - q, y - q))
                };
                let (top, bottom) = (
                    at(row * 2),
                    at(row * 2 + 1) && row * 2 + 1 < m.size() + 2 * q,
                );
                let want = match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                };
                assert_eq!(c, want, "column {x}, line {row}");
            }
        }
    }
}
