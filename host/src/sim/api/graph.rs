//! The simulated Microsoft Graph: `sendMail` with base64 MIME, drafts, file
//! attachments under 3 MB, attachment upload sessions on pre-authenticated
//! URLs, and `send`.

use super::http::{Head, Reply, GRAPH_JSON};
use super::*;

fn graph_auth(sim: &Sim, head: &Head) -> Result<Grant, Reply> {
    let unauthorized = |m: &str| {
        graph_error(401, "InvalidAuthenticationToken", m)
            .with("WWW-Authenticate", GRAPH_CHALLENGE.to_owned())
    };
    let Some(token) = head.bearer() else {
        return Err(unauthorized("Access token is empty."));
    };
    sim.api_grant(token).map_err(|e| match e {
        TokenCheck::Expired => unauthorized("Lifetime validation failed, the token is expired."),
        _ => unauthorized("CompactToken parsing failed with error code: 80049217"),
    })
}

/// Whether a Graph scope grants `permission` (`Mail.Send`,
/// `https://graph.microsoft.com/Mail.Send`, or an app-only `.default`).
fn graph_has(scope: &str, permission: &str) -> bool {
    scope.split(' ').any(|s| {
        let last = s.rsplit('/').next().unwrap_or(s);
        last.eq_ignore_ascii_case(permission) || last == ".default"
    })
}

fn access_denied() -> Reply {
    graph_error(
        403,
        "ErrorAccessDenied",
        "Access is denied. Check credentials and try again.",
    )
}

fn item_not_found() -> Reply {
    graph_error(
        404,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

/// Authenticate, check `permission`, and resolve the mailbox.
fn graph_mailbox(sim: &Sim, head: &Head, user: &User, permission: &str) -> Result<String, Reply> {
    let grant = graph_auth(sim, head)?;
    let app_only = grant.scope.split(' ').any(|s| s.ends_with("/.default"));
    let mailbox = match user {
        // Graph's answer to /me with an app-only token.
        User::Me if app_only => {
            return Err(graph_error(
                400,
                "BadRequest",
                "/me request is only valid with delegated authentication flow.",
            ))
        }
        User::Me => grant.account.clone(),
        User::Address(a) if a.eq_ignore_ascii_case(&grant.account) => grant.account.clone(),
        User::Address(_) => return Err(access_denied()),
    };
    if !graph_has(&grant.scope, permission) {
        return Err(access_denied());
    }
    if sim.api_disabled(Api::Graph, &mailbox) {
        // Seen in Graph answers for inactive, soft-deleted or on-premises
        // mailboxes (microsoft-graph-docs-contrib issue 405 and others).
        return Err(graph_error(
            404,
            "MailboxNotEnabledForRESTAPI",
            "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
        ));
    }
    Ok(mailbox)
}

/// The MIME message of a `text/plain` base64 body.
fn graph_mime(head: &Head, body: &[u8]) -> Result<Vec<u8>, Reply> {
    let ct = head.header("content-type").unwrap_or_default();
    if !ct.to_ascii_lowercase().starts_with("text/plain") {
        // A JSON message is not simulated.
        return Err(graph_error(
            415,
            "notSupported",
            "The simulator takes MIME messages only (Content-Type: text/plain).",
        ));
    }
    let compact: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    match base64::engine::general_purpose::STANDARD.decode(&compact) {
        Ok(m) if !m.is_empty() => Ok(m),
        // user-sendmail.md: the documented answer to malformed MIME content.
        _ => Err(graph_error(
            400,
            "ErrorMimeContentInvalidBase64String",
            "Invalid base64 string for MIME content.",
        )),
    }
}

/// The checks Exchange makes when a message is submitted.
fn graph_submit_checks(sim: &Sim, mailbox: &str, mime: &[u8]) -> Result<(), Reply> {
    let h = mime_headers(mime);
    if let Some(from) = mime_header(&h, "from") {
        let from = address_of(from);
        let allowed = from == mailbox.to_ascii_lowercase()
            || sim
                .book()
                .api
                .send_as
                .get(&mailbox.to_ascii_lowercase())
                .is_some_and(|s| s.contains(&from));
        if !allowed {
            // The documented example answer (user-sendmail.md).
            return Err(graph_error(
                403,
                "ErrorSendAsDenied",
                "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.",
            ));
        }
    }
    if !has_recipients(&h) {
        return Err(graph_error(
            400,
            "ErrorInvalidRecipients",
            "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
        ));
    }
    Ok(())
}

pub(super) fn graph_send_mail(sim: &Sim, head: &Head, user: &User, body: &[u8]) -> Reply {
    let run = || -> Result<Reply, Reply> {
        let mailbox = graph_mailbox(sim, head, user, "Mail.Send")?;
        let mime = graph_mime(head, body)?;
        graph_submit_checks(sim, &mailbox, &mime)?;
        sim.deliver(ApiDelivery {
            api: Api::Graph,
            account: mailbox,
            mime,
            attachments: Vec::new(),
            path: head.path.clone(),
            id: crate::sim::random_token("AAMkAG", 24),
        });
        Ok(Reply::empty(202))
    };
    run().unwrap_or_else(|e| e)
}

pub(super) fn graph_create_draft(sim: &Sim, head: &Head, user: &User, body: &[u8]) -> Reply {
    let run = || -> Result<Reply, Reply> {
        let mailbox = graph_mailbox(sim, head, user, "Mail.ReadWrite")?;
        let mime = graph_mime(head, body)?;
        let id = format!("{}=", crate::sim::random_token("AAMkAG", 24));
        let subject = mime_header(&mime_headers(&mime), "subject")
            .unwrap_or_default()
            .to_owned();
        let mut book = sim.book();
        if book.api.drafts.len() >= MAX_DRAFTS {
            return Err(graph_error(
                507,
                "ErrorQuotaExceeded",
                "The simulator keeps at most 64 drafts.",
            ));
        }
        book.api.drafts.insert(
            id.clone(),
            Draft {
                account: mailbox,
                mime,
                attachments: Vec::new(),
            },
        );
        Ok(Reply::json(
            201,
            &json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('sim')/messages/$entity",
                "id": id,
                "isDraft": true,
                "hasAttachments": false,
                "subject": subject,
            }),
            GRAPH_JSON,
        ))
    };
    run().unwrap_or_else(|e| e)
}

/// A JSON request on a draft (`…/attachments…`): `Mail.ReadWrite`, the
/// draft of the mailbox, the body parsed.
fn draft_request(
    sim: &Sim,
    head: &Head,
    user: &User,
    draft: &str,
    body: &[u8],
) -> Result<(String, Value), Reply> {
    let mailbox = graph_mailbox(sim, head, user, "Mail.ReadWrite")?;
    if owned_draft(sim, draft, &mailbox).is_none() {
        return Err(item_not_found());
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| graph_error(400, "invalidRequest", "The request body is not valid JSON."))?;
    Ok((mailbox, v))
}

pub(super) fn graph_upload_session(
    sim: &Sim,
    port: u16,
    head: &Head,
    user: &User,
    draft: &str,
    body: &[u8],
) -> Reply {
    let run = || -> Result<Reply, Reply> {
        let (mailbox, v) = draft_request(sim, head, user, draft, body)?;
        let item = &v["AttachmentItem"];
        let name = item["name"].as_str().unwrap_or_default().to_owned();
        let size = item["size"].as_u64().and_then(|s| usize::try_from(s).ok());
        let (Some(size), false, Some("file")) =
            (size, name.is_empty(), item["attachmentType"].as_str())
        else {
            return Err(graph_error(
                400,
                "invalidRequest",
                "AttachmentItem needs attachmentType \"file\", a name and a size.",
            ));
        };
        if size < GRAPH_UPLOAD_MIN {
            return Err(graph_error(
                400,
                "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                "Attachment size must be greater than the minimum size.",
            ));
        }
        if size > GRAPH_UPLOAD_MAX {
            return Err(graph_error(
                400,
                "invalidRequest",
                "Attachment size must not exceed 150 MB.",
            ));
        }
        let sid = crate::sim::random_token("AAMkAGS", 18);
        let token = crate::sim::random_token("sim-upl-", 24);
        let mut book = sim.book();
        let sessions = &mut book.api.graph_sessions;
        make_room(sessions, |s| s.done);
        sessions.insert(
            sid.clone(),
            GraphSession {
                draft: draft.to_owned(),
                account: mailbox,
                token: token.clone(),
                name,
                size,
                data: Vec::new(),
                done: false,
            },
        );
        Ok(Reply::json(
            201,
            &json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.uploadSession",
                "uploadUrl": format!("{}{GRAPH_UPLOAD_PREFIX}{sid}?authtoken={token}", head.origin(port)),
                "expirationDateTime": EXPIRATION,
                "nextExpectedRanges": ["0-"],
            }),
            GRAPH_JSON,
        ))
    };
    run().unwrap_or_else(|e| e)
}

/// `POST …/messages/{id}/attachments` with a `fileAttachment` (Graph's
/// `message-post-attachments.md`: `Mail.ReadWrite`, a file "under 3 MB",
/// `201 Created` with the attachment as JSON; the page shows no `Location`,
/// so none is sent). The file joins the draft's attachments as a finished
/// upload session's does.
pub(super) fn graph_add_attachment(
    sim: &Sim,
    head: &Head,
    user: &User,
    draft: &str,
    body: &[u8],
) -> Reply {
    let run = || -> Result<Reply, Reply> {
        let (_, v) = draft_request(sim, head, user, draft, body)?;
        let ct = head.header("content-type").unwrap_or_default();
        if !ct.to_ascii_lowercase().starts_with("application/json") {
            return Err(graph_error(
                415,
                "notSupported",
                "The simulator takes attachments as JSON only (Content-Type: application/json).",
            ));
        }
        // Graph documents no error bodies for this route: the codes and
        // messages of the 400s below are the simulator's.
        if v["@odata.type"].as_str() != Some("#microsoft.graph.fileAttachment") {
            return Err(graph_error(
                400,
                "invalidRequest",
                "The simulator takes \"@odata.type\": \"#microsoft.graph.fileAttachment\" only.",
            ));
        }
        let name = v["name"].as_str().unwrap_or_default().to_owned();
        let content = v["contentBytes"]
            .as_str()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
        let (Some(content), false) = (content, name.is_empty()) else {
            return Err(graph_error(
                400,
                "invalidRequest",
                "A fileAttachment needs a name and contentBytes in standard base64.",
            ));
        };
        if content.len() >= GRAPH_UPLOAD_MIN {
            // "This operation limits the size of the attachment you can
            // add to under 3 MB"; Graph names no error for it. The answer
            // is the one to a body over 4 MB (`too_large`: 413
            // RequestEntityTooLarge), because that is what a client meets
            // here: 3 MiB in base64 is already 4 MiB, so with the JSON
            // around it such a body never gets past GRAPH_MAX_BODY, and
            // this check only keeps the rule should the limits change.
            return Err(graph_error(
                413,
                "RequestEntityTooLarge",
                "A file attachment must be under 3 MB; use an upload session.",
            ));
        }
        let content_type = v["contentType"]
            .as_str()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let size = content.len();
        let mut book = sim.book();
        let Some(d) = book.api.drafts.get_mut(draft) else {
            return Err(item_not_found());
        };
        d.attachments.push(ApiAttachment {
            name: name.clone(),
            content,
        });
        Ok(Reply::json(
            201,
            &json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('sim')/messages('sim')/attachments/$entity",
                "@odata.type": "#microsoft.graph.fileAttachment",
                "id": crate::sim::random_token("AAMkAGA", 18),
                "lastModifiedDateTime": "2026-01-01T00:00:00Z",
                "name": name,
                "contentType": content_type,
                "size": size,
                "isInline": false,
                "contentId": null,
                "contentLocation": null,
            }),
            GRAPH_JSON,
        ))
    };
    run().unwrap_or_else(|e| e)
}

pub(super) fn graph_upload(sim: &Sim, port: u16, head: &Head, sid: &str, body: &[u8]) -> Reply {
    // outlook-large-attachments.md: the URL is pre-authenticated; "do not
    // specify an Authorization request header" (a 401 if one is sent, as
    // for OneDrive's upload URLs).
    if head.header("authorization").is_some() {
        return graph_error(
            401,
            "InvalidAuthenticationToken",
            "An Authorization header must not be sent to a pre-authenticated upload URL.",
        );
    }
    let mut book = sim.book();
    let Some(s) = book.api.graph_sessions.get_mut(sid) else {
        return item_not_found();
    };
    if head.param("authtoken") != Some(s.token.as_str()) {
        return graph_error(
            401,
            "InvalidAuthenticationToken",
            "The authtoken of this upload URL is not valid.",
        );
    }
    let status = |s: &GraphSession| {
        let next: Vec<String> = if s.done {
            Vec::new()
        } else {
            vec![format!("{}-", s.data.len())]
        };
        Reply::json(
            200,
            &json!({"expirationDateTime": EXPIRATION, "nextExpectedRanges": next}),
            GRAPH_JSON,
        )
    };
    match head.method.as_str() {
        "GET" => return status(s),
        "DELETE" => {
            book.api.graph_sessions.remove(sid);
            return Reply::empty(204);
        }
        _ => {}
    }
    let Some((Some((a, b)), total)) = head.header("content-range").and_then(content_range) else {
        return graph_error(
            400,
            "invalidRequest",
            "A Content-Range header (bytes a-b/N) is required.",
        );
    };
    if total != s.size {
        return graph_error(
            400,
            "invalidRange",
            "Declared total size for this fragment is different from that of the upload session.",
        );
    }
    if s.done || a < s.data.len() {
        return graph_error(
            416,
            "invalidRange",
            "Uploaded fragment overlaps with existing data.",
        );
    }
    if a > s.data.len() {
        return graph_error(416, "invalidRange", "Uploaded fragment is out of order.");
    }
    if b - a + 1 != body.len() || b >= total {
        return graph_error(
            400,
            "invalidRange",
            "The Content-Range does not match the octets sent.",
        );
    }
    s.data.extend_from_slice(body);
    if s.data.len() < s.size {
        // outlook-large-attachments.md, step 2: the next start, no `-`.
        return Reply::json(
            200,
            &json!({
                "@odata.context": "https://outlook.office.com/api/v2.0/$metadata#Users('sim')/Messages('sim')/AttachmentSessions/$entity",
                "ExpirationDateTime": EXPIRATION,
                "nextExpectedRanges": [s.data.len().to_string()],
            }),
            GRAPH_JSON,
        );
    }
    s.done = true;
    let attachment = ApiAttachment {
        name: s.name.clone(),
        content: std::mem::take(&mut s.data),
    };
    let (draft, account) = (s.draft.clone(), s.account.clone());
    let Some(d) = book.api.drafts.get_mut(&draft) else {
        return item_not_found();
    };
    d.attachments.push(attachment);
    let att_id = crate::sim::random_token("AAMkAGA", 18);
    Reply::empty(201).with(
        "Location",
        format!(
            "{}{GRAPH_PREFIX}/users/{account}/messages/{draft}/attachments/{att_id}",
            head.origin(port)
        ),
    )
}

/// The draft `id` of `mailbox`.
fn owned_draft(sim: &Sim, id: &str, mailbox: &str) -> Option<Draft> {
    sim.book()
        .api
        .drafts
        .get(id)
        .filter(|d| d.account.eq_ignore_ascii_case(mailbox))
        .cloned()
}

pub(super) fn graph_send_draft(sim: &Sim, head: &Head, user: &User, draft: &str) -> Reply {
    let run = || -> Result<Reply, Reply> {
        let mailbox = graph_mailbox(sim, head, user, "Mail.Send")?;
        let d = owned_draft(sim, draft, &mailbox);
        // A sent draft moves to Sent Items: its id is gone.
        let Some(d) = d else {
            return Err(item_not_found());
        };
        graph_submit_checks(sim, &mailbox, &d.mime)?;
        sim.book().api.drafts.remove(draft);
        sim.deliver(ApiDelivery {
            api: Api::Graph,
            account: mailbox,
            mime: d.mime,
            attachments: d.attachments,
            path: head.path.clone(),
            id: draft.to_owned(),
        });
        Ok(Reply::empty(202))
    };
    run().unwrap_or_else(|e| e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert!(graph_has(
            "https://graph.microsoft.com/Mail.Send offline_access",
            "Mail.Send"
        ));
        assert!(graph_has(
            "https://graph.microsoft.com/.default",
            "Mail.ReadWrite"
        ));
        assert!(!graph_has(
            "https://outlook.office.com/SMTP.Send offline_access",
            "Mail.Send"
        ));
    }
}
