//! `login --app-only` and `login --service-account` (R-APP, issue 18): the
//! administrator's token from an app-only grant the printer runs itself.
//! The key is kept in the printer's state (mode 0600, a workstation's
//! stand-in for a secure element) and signs each assertion; the core sees
//! only the octets to sign and the signature. The grant is run once here,
//! as a check; jobs run it again whenever they need a token.

use super::{describe, emit, fail, set_key, tr, Ctx, LoginArgs, Shown};
use crate::app::{signin, ApplyError, Device};
use mfp_oauth_core::diag::{Diagnostic, Id};
use std::process::ExitCode;
use zeroize::Zeroizing;

/// An app-only key's PEM (none for a client secret) and the settings (CLI
/// key, value) that name it.
type Credentials = (
    Option<Zeroizing<String>>,
    Vec<(&'static str, Zeroizing<String>)>,
);

fn setting(key: &'static str, value: &str) -> (&'static str, Zeroizing<String>) {
    (key, Zeroizing::new(value.to_owned()))
}

/// The key's PEM and the settings that name it, from the files `a` gives.
fn credentials(ctx: &Ctx, a: &LoginArgs) -> Result<Credentials, ExitCode> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(|e| {
                eprintln!("{}: {e}", path.display());
                ExitCode::from(2)
            })
    };
    if let Some(json) = &a.service_account {
        let text = read(json)?;
        let key = crate::signer::ServiceAccountKey::from_json(&text).map_err(|e| {
            eprintln!("{}: {e}", json.display());
            ExitCode::from(2)
        })?;
        let pem = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("private_key")?.as_str().map(str::to_owned))
            .map(Zeroizing::new)
            .ok_or_else(|| fail(ctx.lang, Id::SigningFailed))?;
        return Ok((
            Some(pem),
            vec![
                setting("admin-sign-in", "service-account"),
                setting("service-account", &key.client_email),
            ],
        ));
    }
    if let Some(file) = &a.secret_file {
        let secret = read(file)?;
        return Ok((
            None,
            vec![
                setting("admin-sign-in", "app-secret"),
                setting("client-secret", secret.trim()),
            ],
        ));
    }
    let Some(key) = &a.key else {
        eprintln!(
            "{}",
            tr(
                ctx.lang,
                "login --app-only needs --key KEY.pem (the certificate's private key) or --secret-file FILE",
                "login --app-only demande --key CLÉ.pem (la clé privée du certificat) ou --secret-file FICHIER",
            )
        );
        return Err(ExitCode::from(2));
    };
    let pem = read(key)?;
    let thumbprint = match (&a.certificate, &a.thumbprint) {
        (Some(cert), _) => crate::signer::certificate_thumbprint_file(cert)
            .map(|t| {
                t.octets()
                    .iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<String>()
            })
            .map_err(|e| {
                eprintln!("{}: {e}", cert.display());
                ExitCode::from(2)
            })?,
        (None, Some(t)) => t.clone(),
        (None, None) => {
            eprintln!(
                "{}",
                tr(
                    ctx.lang,
                    "login --app-only needs --certificate CERT.pem or --thumbprint SHA256 (the certificate uploaded to the app registration)",
                    "login --app-only demande --certificate CERT.pem ou --thumbprint SHA256 (le certificat téléversé dans l'inscription de l'application)",
                )
            );
            return Err(ExitCode::from(2));
        }
    };
    Ok((
        Some(pem),
        vec![
            setting("admin-sign-in", "app-certificate"),
            setting("certificate-thumbprint", &thumbprint),
        ],
    ))
}

/// Sets the administrator's app-only sign-in from `a`'s files, keeps the
/// key, and runs the grant once to show it works.
pub(super) fn login(ctx: &Ctx, dev: &mut Device, a: &LoginArgs) -> ExitCode {
    let (pem, changes) = match credentials(ctx, a) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut s = dev.mailer.settings().clone();
    for (k, v) in &changes {
        if let Err(e) = set_key(&mut s, k, v, ctx.lang) {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    }
    match dev.apply_settings(s) {
        Ok(_) => {}
        Err(ApplyError::Rules(v)) => {
            for r in v.iter() {
                eprint!("{}", describe(r.diag(), ctx.lang));
            }
            return ExitCode::FAILURE;
        }
        Err(ApplyError::Store(e)) => return fail(ctx.lang, e.diag()),
    }
    if let Some(pem) = pem {
        if let Err(e) = dev.install_app_key(&pem) {
            return fail(ctx.lang, e.diag());
        }
    }
    let Some(admin) = dev.mailer.settings().admin_address.clone() else {
        return fail(ctx.lang, Id::AdminAddressMissing);
    };
    let mut shown = Shown::new(ctx.lang);
    let checked = signin::client(dev).and_then(|mut c| {
        dev.mailer
            .start_app_grant(
                dev.clock.now(),
                crate::app::wall_now(),
                &crate::app::random(),
                &mut c,
            )
            .map_err(|e| signin::FlowError::Failed(e.diag()))?;
        let mut rotated = false;
        signin::run_with(dev, c, &mut rotated, &mut |p| shown.prompt(p))
    });
    match checked {
        Ok(_) => {
            drop(shown);
            println!(
                "{}",
                tr(
                    ctx.lang,
                    "app-only sign-in works for {admin}: a token came back; no refresh token is kept, jobs ask for a new token when they need one",
                    "la connexion en tant qu'application fonctionne pour {admin} : un jeton est revenu ; aucun jeton d'actualisation n'est gardé, les travaux demandent un nouveau jeton au besoin",
                )
                .replace("{admin}", admin.as_str())
            );
            ExitCode::SUCCESS
        }
        Err(e) => shown.failed(e.diag()),
    }
}
