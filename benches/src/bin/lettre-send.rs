//! What a firmware team would write with lettre (issue 11): build the scan
//! e-mail with lettre's own message builder (a text part and the file as a
//! base64 attachment) and send it with its blocking SMTP transport over
//! STARTTLS, XOAUTH2. Run by `scripts/bench.sh` under `/usr/bin/time -v`
//! beside the mfp-oauth CLI and curl.
//!
//! `lettre-send HOST PORT CA_PEM TOKEN_FILE FROM TO[,TO…] FILE`

use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport as _};
use std::process::ExitCode;

fn run(args: &[String]) -> Result<(), String> {
    let [host, port, ca, token_file, from, to, file] = args else {
        return Err("usage: lettre-send HOST PORT CA_PEM TOKEN_FILE FROM TO[,TO…] FILE".into());
    };
    let err = |what: &'static str| move |e: String| format!("{what}: {e}");
    let port: u16 = port.parse().map_err(|e| format!("port: {e}"))?;
    let ca = std::fs::read(ca).map_err(|e| format!("{ca}: {e}"))?;
    let token = std::fs::read_to_string(token_file).map_err(|e| format!("{token_file}: {e}"))?;
    let data = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let name = std::path::Path::new(file).file_name().map_or_else(
        || "scan.pdf".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut builder = Message::builder()
        .from(from.parse().map_err(|e| format!("from: {e}"))?)
        .subject("Scan from MFP");
    for t in to.split(',') {
        builder = builder.to(t.parse().map_err(|e| format!("to: {e}"))?);
    }
    let pdf = ContentType::parse("application/pdf").map_err(|e| format!("type: {e}"))?;
    let message = builder
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain("Scanned document attached.".to_owned()))
                .singlepart(Attachment::new(name).body(data, pdf)),
        )
        .map_err(|e| format!("message: {e}"))?;
    let tls = TlsParameters::builder(host.clone())
        .add_root_certificate(Certificate::from_pem(&ca).map_err(|e| format!("CA: {e}"))?)
        .build_rustls()
        .map_err(|e| format!("TLS: {e}"))?;
    let transport = SmtpTransport::builder_dangerous(host.as_str())
        .port(port)
        .tls(Tls::Required(tls))
        .hello_name(ClientId::Domain("printer.bench.test".to_owned()))
        .credentials(Credentials::new(from.clone(), token.trim().to_owned()))
        .authentication(vec![Mechanism::Xoauth2])
        .build();
    transport
        .send(&message)
        .map(|_| ())
        .map_err(|e| e.to_string())
        .map_err(err("send"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lettre-send: {e}");
            ExitCode::FAILURE
        }
    }
}
