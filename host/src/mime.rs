//! Composing a scan job's e-mail: a text part and the scanned files as
//! base64 attachments with their content types (`mail-builder` does the MIME
//! encoding). The result is the message body handed to the SMTP driver.

use mail_builder::MessageBuilder;
use std::io;
use std::path::Path;

/// One attached file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name shown to the recipient.
    pub name: String,
    /// MIME type, from the file name's extension.
    pub content_type: &'static str,
    /// The file's octets.
    pub data: Vec<u8>,
}

/// The MIME type a scanner's output file has, by extension (case-insensitive);
/// `application/octet-stream` when unknown.
#[must_use]
pub fn content_type_for(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "tif" | "tiff" => "image/tiff",
        "xps" => "application/vnd.ms-xpsdocument",
        "oxps" => "application/oxps",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

impl Attachment {
    /// Read a file to attach.
    pub fn from_file(path: &Path) -> io::Result<Self> {
        let data = std::fs::read(path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scan".to_owned());
        Ok(Attachment {
            name,
            content_type: content_type_for(path),
            data,
        })
    }
}

/// What the message says.
#[derive(Debug, Clone)]
pub struct Composition<'a> {
    /// From address.
    pub from: &'a str,
    /// To addresses.
    pub to: &'a [String],
    /// Subject line.
    pub subject: &'a str,
    /// Text part.
    pub text: &'a str,
    /// Files.
    pub attachments: &'a [Attachment],
    /// Unique part of the Message-ID (the domain is the sender's).
    pub message_id_local: &'a str,
}

/// The message as octets with CRLF line ends, ready for DATA.
pub fn compose(c: &Composition<'_>) -> io::Result<Vec<u8>> {
    let domain = c.from.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let mut m = MessageBuilder::new()
        .from(c.from)
        .to(c
            .to
            .iter()
            .map(|t| mail_builder::headers::address::Address::new_address(None::<&str>, t.as_str()))
            .collect::<Vec<_>>())
        .subject(c.subject)
        .message_id(format!("{}@{domain}", c.message_id_local))
        .header(
            "X-Mailer",
            mail_builder::headers::raw::Raw::new("mfp-oauth"),
        )
        .text_body(c.text);
    for a in c.attachments {
        m = m.attachment(a.content_type, a.name.as_str(), a.data.as_slice());
    }
    m.write_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn types_by_extension() {
        assert_eq!(content_type_for(Path::new("a/SCAN.PDF")), "application/pdf");
        assert_eq!(content_type_for(Path::new("x.tiff")), "image/tiff");
        assert_eq!(
            content_type_for(Path::new("noext")),
            "application/octet-stream"
        );
    }

    #[test]
    fn attachments_are_base64_and_decode_back() {
        let data: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let att = [Attachment {
            name: "scan 1.pdf".into(),
            content_type: "application/pdf",
            data: data.clone(),
        }];
        let to = ["a@x.test".to_owned(), "b@x.test".to_owned()];
        let msg = compose(&Composition {
            from: "scanner@contoso.test",
            to: &to,
            subject: "Scan from MFP",
            text: "Attached: 1 page.",
            attachments: &att,
            message_id_local: "job-1",
        })
        .unwrap();
        let text = String::from_utf8(msg).unwrap();
        assert!(text.contains("From: <scanner@contoso.test>\r\n"), "{text}");
        assert!(text.contains("Message-ID: <job-1@contoso.test>\r\n"));
        assert!(text.contains("Subject: Scan from MFP\r\n"));
        assert!(text.contains("Content-Type: application/pdf"));
        assert!(text.lines().all(|l| l.len() <= 998));
        // The attachment part: base64 lines up to the boundary.
        let part = text.split("Content-Type: application/pdf").nth(1).unwrap();
        let (headers, body) = part.split_once("\r\n\r\n").unwrap();
        assert!(
            headers.contains("Content-Transfer-Encoding: base64"),
            "{headers}"
        );
        assert!(headers.contains("attachment"), "{headers}");
        let b64: String = body.lines().take_while(|l| !l.starts_with("--")).collect();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap();
        assert!(decoded == data, "attachment does not decode to the file");
    }
}
