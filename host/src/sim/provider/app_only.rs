//! The simulated token endpoint's app-only grants (R-APP): client
//! credentials with a certificate assertion (RFC 7523 §2.2, as Microsoft
//! Entra takes it) and a service account's JWT bearer grant (RFC 7523 §2.1,
//! as Google takes it). Each assertion's RS256 signature is checked with
//! the public key the test registers ([`SimConfig::app_public_key`]), and
//! its claims as the real endpoints check them; the token has no refresh
//! token.
//!
//! [`SimConfig::app_public_key`]: crate::sim::SimConfig::app_public_key

use super::{error, json_response, Response};
use crate::sim::Sim;
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::HashMap;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The claims of `jwt` once its RS256 signature verified with the
/// registered key, else the refusal to answer.
fn verified_claims(sim: &Sim, jwt: &str) -> Result<Value, Response> {
    let refused = || {
        error(
            401,
            "invalid_client",
            700_027,
            "Client assertion failed signature validation.",
        )
    };
    let key = sim.config().app_public_key.ok_or_else(refused)?;
    let (signed, signature) = jwt.rsplit_once('.').ok_or_else(refused)?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signature = b64.decode(signature).map_err(|_| refused())?;
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, key)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| refused())?;
    let claims = signed.split('.').nth(1).ok_or_else(refused)?;
    let claims = b64.decode(claims).map_err(|_| refused())?;
    serde_json::from_slice(&claims).map_err(|_| refused())
}

/// The claim `name` as text.
fn text<'v>(claims: &'v Value, name: &str) -> &'v str {
    claims.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// The token answer for `account`: no refresh token.
fn app_token(sim: &Sim, account: &str, client_id: &str, scope: &str) -> Response {
    let (access, _, expires_in) = sim.issue(account, client_id, scope);
    json_response(
        200,
        &json!({
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": access,
        }),
    )
}

/// Client credentials with the app's secret ([`SimConfig::app_secret`]) or
/// a certificate assertion (`iss` = `sub` = the client id); the token is
/// for [`SimConfig::app_mailbox`], the mailbox the
/// app was granted (`Add-MailboxPermission`).
///
/// [`SimConfig::app_mailbox`]: crate::sim::SimConfig::app_mailbox
/// [`SimConfig::app_secret`]: crate::sim::SimConfig::app_secret
pub(super) fn client_credentials(
    sim: &Sim,
    client_id: &str,
    form: &HashMap<String, String>,
) -> Response {
    let mailbox = sim.config().app_mailbox;
    let scope = form.get("scope").cloned().unwrap_or_default();
    if let Some(secret) = form.get("client_secret") {
        // A confidential client with a secret.
        return match sim.config().app_secret {
            Some(s) if s == *secret => app_token(sim, &mailbox, client_id, &scope),
            _ => error(
                401,
                "invalid_client",
                7_000_215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            ),
        };
    }
    if form.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
        return error(
            401,
            "invalid_client",
            7_000_218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    }
    let claims = match verified_claims(sim, form.get("client_assertion").map_or("", String::as_str))
    {
        Ok(c) => c,
        Err(r) => return r,
    };
    if text(&claims, "iss") != client_id || text(&claims, "sub") != client_id {
        return error(
            401,
            "invalid_client",
            700_021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        );
    }
    app_token(sim, &mailbox, client_id, &scope)
}

/// A service account's JWT bearer grant: `iss` = the service account,
/// `sub` = the mailbox it acts for (domain-wide delegation).
pub(super) fn jwt_bearer(sim: &Sim, form: &HashMap<String, String>) -> Response {
    let claims = match verified_claims(sim, form.get("assertion").map_or("", String::as_str)) {
        Ok(c) => c,
        Err(_) => {
            return error(400, "invalid_grant", 0, "Invalid JWT Signature.");
        }
    };
    let (issuer, subject) = (text(&claims, "iss"), text(&claims, "sub"));
    if issuer.is_empty() || subject.is_empty() {
        return error(400, "invalid_grant", 0, "Invalid JWT: claims missing.");
    }
    let scope = text(&claims, "scope").to_owned();
    let client_id = sim.config().client_id;
    app_token(sim, subject, &client_id, &scope)
}
