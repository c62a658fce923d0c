//! The simulated Gmail API: `users.messages.send` by media upload and by
//! resumable upload (session URI, `308` with `Range`, status queries).

use super::http::{Head, Reply, GOOGLE_JSON};
use super::*;

/// Scopes that allow `users.messages.send` (its reference page).
const GMAIL_SEND_SCOPES: [&str; 4] = [
    "https://mail.google.com/",
    "https://www.googleapis.com/auth/gmail.modify",
    "https://www.googleapis.com/auth/gmail.compose",
    "https://www.googleapis.com/auth/gmail.send",
];

fn gmail_auth(sim: &Sim, head: &Head, user_id: &str) -> Result<String, Reply> {
    let unauthorized = || {
        gmail_error_item(
            401,
            Some("UNAUTHENTICATED"),
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            "Invalid Credentials",
            "authError",
            "global",
        )
        .with(
            "WWW-Authenticate",
            "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"".to_owned(),
        )
    };
    let token = head.bearer().ok_or_else(unauthorized)?;
    let grant = sim.api_grant(token).map_err(|_| unauthorized())?;
    if !grant
        .scope
        .split(' ')
        .any(|s| GMAIL_SEND_SCOPES.contains(&s))
    {
        return Err(gmail_error_item(
            403,
            Some("PERMISSION_DENIED"),
            "Request had insufficient authentication scopes.",
            "Insufficient Permission",
            "insufficientPermissions",
            "global",
        )
        .with(
            "WWW-Authenticate",
            "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\", scope=\"https://www.googleapis.com/auth/gmail.send\"".to_owned(),
        ));
    }
    if user_id != "me" && !percent_decode(user_id).eq_ignore_ascii_case(&grant.account) {
        return Err(gmail_error(
            403,
            Some("PERMISSION_DENIED"),
            &format!("Delegation denied for {}", grant.account),
            "forbidden",
            "global",
        ));
    }
    if sim.api_disabled(Api::Gmail, &grant.account) {
        return Err(gmail_error(
            400,
            Some("FAILED_PRECONDITION"),
            "Mail service not enabled",
            "failedPrecondition",
            "global",
        ));
    }
    Ok(grant.account)
}

fn gmail_media_type_ok(ct: &str) -> bool {
    ct.to_ascii_lowercase().starts_with("message/")
}

fn media_type_refused(ct: &str) -> Reply {
    gmail_error(
        400,
        Some("INVALID_ARGUMENT"),
        &format!("Media type '{ct}' is not supported. Valid media types: [message/*]"),
        "badContent",
        "global",
    )
}

/// Send a whole message: the recipient check, then the record.
fn gmail_deliver(sim: &Sim, account: &str, mime: Vec<u8>) -> (u16, Value) {
    if !has_recipients(&mime_headers(&mime)) {
        let r = json!({"error": {
            "code": 400,
            "message": "Invalid To header",
            "errors": [{"message": "Recipient address required", "domain": "global", "reason": "invalidArgument"}],
            "status": "INVALID_ARGUMENT",
        }});
        return (400, r);
    }
    let id = hex_id();
    sim.deliver(ApiDelivery {
        api: Api::Gmail,
        account: account.to_owned(),
        mime,
        attachments: Vec::new(),
        path: GMAIL_SEND_PATH.to_owned(),
        id: id.clone(),
    });
    (200, json!({"id": id, "threadId": id, "labelIds": ["SENT"]}))
}

pub(super) fn gmail_send(sim: &Sim, port: u16, head: &Head, user_id: &str, body: &[u8]) -> Reply {
    let account = match gmail_auth(sim, head, user_id) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match head.param("uploadType") {
        Some("media") => {
            let ct = head.header("content-type").unwrap_or_default();
            if !gmail_media_type_ok(ct) {
                return media_type_refused(ct);
            }
            let (status, v) = gmail_deliver(sim, &account, body.to_vec());
            Reply::json(status, &v, GOOGLE_JSON)
        }
        Some("resumable") => {
            let ct = head.header("x-upload-content-type").unwrap_or_default();
            if !gmail_media_type_ok(ct) {
                return media_type_refused(ct);
            }
            let Some(total) = head
                .header("x-upload-content-length")
                .and_then(|v| v.parse::<usize>().ok())
            else {
                return gmail_error(
                    400,
                    Some("INVALID_ARGUMENT"),
                    "X-Upload-Content-Length is required by the simulator.",
                    "badRequest",
                    "global",
                );
            };
            if total > GMAIL_RESUMABLE_MAX {
                let msg = format!("Media larger than: {GMAIL_RESUMABLE_MAX}");
                return gmail_error(413, None, &msg, "uploadTooLarge", "global");
            }
            let id = crate::sim::random_token("ADPycd", 30);
            let mut book = sim.book();
            let sessions = &mut book.api.gmail_sessions;
            make_room(sessions, |s| s.outcome.is_some());
            sessions.insert(
                id.clone(),
                GmailSession {
                    account,
                    total,
                    data: Vec::new(),
                    outcome: None,
                },
            );
            Reply::empty(200).with(
                "Location",
                format!(
                    "{}{GMAIL_SEND_PATH}?uploadType=resumable&upload_id={id}",
                    head.origin(port)
                ),
            )
        }
        other => gmail_error(
            400,
            Some("INVALID_ARGUMENT"),
            &format!(
                "Invalid upload type '{}': the simulator takes media and resumable.",
                other.unwrap_or_default()
            ),
            "badRequest",
            "global",
        ),
    }
}

/// A `PUT` to a resumable session URI. `complete` is false for the part of
/// a body that arrived before the connection was dropped: it is kept (in
/// multiples of 256 KiB) and nothing is answered.
pub(super) fn gmail_upload_put(sim: &Sim, head: &Head, body: &[u8], complete: bool) -> Reply {
    let Some(id) = head.param("upload_id") else {
        return gmail_error(
            400,
            Some("INVALID_ARGUMENT"),
            "upload_id is required.",
            "badRequest",
            "global",
        );
    };
    let mut book = sim.book();
    let Some(s) = book.api.gmail_sessions.get_mut(id) else {
        return gmail_error(
            404,
            Some("NOT_FOUND"),
            "No upload session with this upload_id.",
            "notFound",
            "global",
        );
    };
    let range = match head.header("content-range") {
        None => Some((
            Some((s.data.len(), s.data.len() + body.len().max(1) - 1)),
            s.total,
        )),
        Some(v) => content_range(v),
    };
    let bad = |m: &str| gmail_error(400, Some("INVALID_ARGUMENT"), m, "badRequest", "global");
    let Some((range, total)) = range else {
        return bad("Failed to parse Content-Range header.");
    };
    if total != s.total {
        return bad("The Content-Range total differs from X-Upload-Content-Length.");
    }
    let committed_range = |s: &GmailSession| {
        let r = Reply::empty(308);
        match s.data.len() {
            0 => r,
            n => r.with("Range", format!("bytes=0-{}", n - 1)),
        }
    };
    let Some((a, b)) = range else {
        // `bytes */N`: the status of the upload.
        return match &s.outcome {
            Some((status, v)) => Reply::json(*status, v, GOOGLE_JSON),
            None => committed_range(s),
        };
    };
    if let Some((status, v)) = &s.outcome {
        return Reply::json(*status, v, GOOGLE_JSON);
    }
    let end = if complete { b + 1 } else { a + body.len() };
    if b >= total || (complete && b - a + 1 != body.len()) {
        return bad("The Content-Range does not match the octets sent.");
    }
    if a > s.data.len() {
        return bad("The upload does not start where the committed octets end.");
    }
    // Octets already committed may come again (a client resending after a
    // drop); they must be the same.
    let overlap = s.data.len().min(end) - a;
    if s.data.get(a..a + overlap) != body.get(..overlap) {
        return bad("Octets sent again differ from the committed ones.");
    }
    if let Some(fresh) = body.get(overlap..end - a) {
        s.data.extend_from_slice(fresh);
    }
    if s.data.len() < s.total {
        let keep = s.data.len() - s.data.len() % GMAIL_CHUNK_GRANULE;
        s.data.truncate(keep);
        return committed_range(s);
    }
    let account = s.account.clone();
    let mime = std::mem::take(&mut s.data);
    drop(book);
    let (status, v) = gmail_deliver(sim, &account, mime);
    if let Some(s) = sim.book().api.gmail_sessions.get_mut(id) {
        s.outcome = Some((status, v.clone()));
        // Keep the committed length for the record: the octets are gone.
    }
    Reply::json(status, &v, GOOGLE_JSON)
}
