//! The user's browser, as a test plays it: plain HTTP/1.0 requests over the
//! product's own TLS connection type, a cookie jar, and the forms of
//! oidc-provider's built-in interaction pages (`devInteractions`): the
//! device-code entry and confirmation pages, the login form (any login
//! name; it becomes the token's `sub`), and the consent page.
//!
//! Test code, not product code: it reads the pages by their form fields,
//! which is what a person's browser submits.

use mfp_oauth_host::net::{Connection, NetOptions};
use mfp_oauth_host::tls::TlsSettings;
use std::collections::BTreeMap;
use std::io::Read;

/// One HTTP answer.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// A browser with a cookie jar (cookies are sent to every path: each test
/// uses its own browser, so no two flows share a jar).
#[derive(Debug)]
pub struct Browser {
    tls: TlsSettings,
    cookies: BTreeMap<String, String>,
    /// Every URL visited, for failure messages.
    pub visited: Vec<String>,
}

fn split_url(url: &str) -> (bool, String, u16, String) {
    let (secure, rest) = match url.strip_prefix("https://") {
        Some(r) => (true, r),
        None => (false, url.strip_prefix("http://").expect("http(s) URL")),
    };
    let (authority, target) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let (host, port) = authority.rsplit_once(':').expect("URL with a port");
    (
        secure,
        host.to_owned(),
        port.parse().expect("port"),
        target.to_owned(),
    )
}

/// `value="…"` of the input named `name` in `html`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + 7;
    let len = tag[v..].find('"')?;
    Some(tag[v..v + len].to_owned())
}

impl Browser {
    pub fn new(tls: TlsSettings) -> Self {
        Browser {
            tls,
            cookies: BTreeMap::new(),
            visited: Vec::new(),
        }
    }

    fn request(&mut self, method: &str, url: &str, form: Option<&[(&str, &str)]>) -> Page {
        self.visited.push(format!("{method} {url}"));
        let (secure, host, port, target) = split_url(url);
        let opts = NetOptions::default();
        let mut c = if secure {
            Connection::connect_tls(&host, port, &opts, &self.tls)
        } else {
            Connection::connect(&host, port, &opts)
        }
        .unwrap_or_else(|e| panic!("browser cannot reach {url}: {e}"));
        let body = form.map(|pairs| {
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        });
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        // HTTP/1.0: the server closes after the answer and never chunks it.
        let mut head = format!("{method} {target} HTTP/1.0\r\nHost: {host}:{port}\r\n");
        if !cookie.is_empty() {
            head.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        if let Some(b) = &body {
            head.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        head.push_str("\r\n");
        head.push_str(body.as_deref().unwrap_or(""));
        c.send(head.as_bytes()).expect("browser request");
        let mut raw = Vec::new();
        c.by_ref()
            .take(1024 * 1024)
            .read_to_end(&mut raw)
            .expect("browser response");
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP status from {url}: {head}"));
        let mut location = None;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "location" => location = Some(self.absolute(url, value)),
                "set-cookie" => {
                    let pair = value.split(';').next().unwrap_or("");
                    if let Some((k, v)) = pair.split_once('=') {
                        self.cookies
                            .insert(k.trim().to_owned(), v.trim().to_owned());
                    }
                }
                _ => {}
            }
        }
        Page {
            status,
            location,
            body: body.to_owned(),
        }
    }

    fn absolute(&self, base: &str, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            return location.to_owned();
        }
        let (secure, host, port, _) = split_url(base);
        let scheme = if secure { "https" } else { "http" };
        format!("{scheme}://{host}:{port}{location}")
    }

    pub fn get(&mut self, url: &str) -> Page {
        self.request("GET", url, None)
    }

    pub fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        self.request("POST", url, Some(form))
    }

    /// Follow redirects (at most 10) from `page`; the first page that is
    /// not a redirect, or the redirect that leaves for `stop_prefix`
    /// (returned unfollowed).
    pub fn follow(&mut self, mut page: Page, stop_prefix: Option<&str>) -> Page {
        for _ in 0..10 {
            let Some(next) = page.location.clone() else {
                return page;
            };
            if stop_prefix.is_some_and(|p| next.starts_with(p)) {
                return page;
            }
            page = self.get(&next);
        }
        panic!("redirect loop: {:?}", self.visited);
    }

    /// Sign in as `login` on an interaction page and consent, until the
    /// provider leaves its interaction pages. Returns the last page (the
    /// device flow's success page) or the redirect to `stop_prefix`.
    pub fn sign_in_and_consent(
        &mut self,
        mut page: Page,
        login: &str,
        stop_prefix: Option<&str>,
    ) -> Page {
        for _ in 0..6 {
            page = self.follow(page, stop_prefix);
            if page.location.is_some() {
                return page;
            }
            let action = form_action(&page.body);
            match input_value(&page.body, "prompt").as_deref() {
                Some("login") => {
                    let action = action.expect("login form action");
                    page = self.post(
                        &action,
                        &[("prompt", "login"), ("login", login), ("password", "any")],
                    );
                }
                Some("consent") => {
                    let action = action.expect("consent form action");
                    page = self.post(&action, &[("prompt", "consent")]);
                }
                _ => return page,
            }
        }
        panic!("too many interaction steps: {:?}", self.visited);
    }
}

/// `action="…"` of the first form.
pub fn form_action(html: &str) -> Option<String> {
    let at = html.find("<form")?;
    let a = at + html[at..].find("action=\"")? + 8;
    let len = html[a..].find('"')?;
    Some(html[a..a + len].replace("&amp;", "&"))
}

/// The user at the device page with the code the printer showed:
/// enters it, then approves (sign-in and consent) or presses Abort.
/// Returns the final page's text.
pub fn enter_device_code(
    tls: TlsSettings,
    issuer: &str,
    user_code: &str,
    login: &str,
    approve: bool,
) -> String {
    let mut b = Browser::new(tls);
    let device = format!("{issuer}/device");
    // The entry page submits the code the URL carries (the QR code's
    // verification_uri_complete) with its xsrf token.
    let entry = b.get(&format!("{device}?user_code={user_code}"));
    assert_eq!(entry.status, 200, "device entry page");
    let xsrf = input_value(&entry.body, "xsrf").expect("xsrf on the entry page");
    let confirm = b.post(&device, &[("xsrf", &xsrf), ("user_code", user_code)]);
    assert!(
        confirm.body.contains(user_code),
        "the confirmation page shows the code: {}",
        confirm.body
    );
    let xsrf = input_value(&confirm.body, "xsrf").expect("xsrf on the confirmation page");
    if !approve {
        let aborted = b.post(
            &device,
            &[("xsrf", &xsrf), ("user_code", user_code), ("abort", "yes")],
        );
        return b.follow(aborted, None).body;
    }
    let confirmed = b.post(
        &device,
        &[
            ("xsrf", &xsrf),
            ("user_code", user_code),
            ("confirm", "yes"),
        ],
    );
    let done = b.sign_in_and_consent(confirmed, login, None);
    assert_eq!(done.status, 200, "{:?}", b.visited);
    done.body
}
