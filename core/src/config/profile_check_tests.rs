//! [`ProfileParts::check`] says what [`ProfileParts::profile_into`] would
//! do, for every combination of a set of good and bad parts (R-MEM: the
//! mailer decides the sign-in method and the rules from the check alone).

use std::string::String as StdString;
use std::vec::Vec;

use super::{ProfileParts, ProviderKind, Transport};
use crate::limits::{MAX_ENDPOINT_PATH_LEN, MAX_URL_LEN};
use crate::provider::{MicrosoftCloud, Provider};

fn urls() -> Vec<StdString> {
    [
        "",
        "https://login.example.com/oauth2/token",
        "http://127.0.0.1:8080/token",
        "http://login.example.com/token",
        "ftp://login.example.com/token",
        "https://",
        "not a url",
    ]
    .into_iter()
    .map(StdString::from)
    .chain([
        // Host and path each within bounds, too long together.
        std::format!(
            "https://{}/{}",
            "h".repeat(MAX_URL_LEN - MAX_ENDPOINT_PATH_LEN + 8),
            "p".repeat(MAX_ENDPOINT_PATH_LEN - 1)
        ),
        std::format!("https://h/{}", "p".repeat(MAX_ENDPOINT_PATH_LEN)),
    ])
    .collect()
}

#[test]
fn the_check_agrees_with_the_profile_built() {
    let urls = urls();
    let long_tenant = "t".repeat(MAX_ENDPOINT_PATH_LEN);
    let tenants = [
        "organizations",
        "common",
        "consumers",
        "contoso.onmicrosoft.com",
        "8eaef023-2b34-4da1-9baa-8bc8c9d6a490",
        "",
        "bad tenant/",
        long_tenant.as_str(),
    ];
    let long_scope = "s".repeat(600);
    let scopes = ["", "openid mail.send", " ", "a\u{7}b", long_scope.as_str()];
    // Under Miri (a thousand times slower) every 401st combination, which
    // still meets every kind of part; all of them run natively.
    let stride = if cfg!(miri) { 401 } else { 1 };
    let mut n = 0usize;
    let mut seen_ok = 0;
    let mut seen_err = 0;
    let mut seen_device = 0;
    for provider in [
        ProviderKind::Microsoft,
        ProviderKind::Google,
        ProviderKind::Custom,
    ] {
        for transport in [Transport::Smtp, Transport::Graph, Transport::GmailApi] {
            for tenant in tenants {
                for cloud in [MicrosoftCloud::Global, MicrosoftCloud::China] {
                    for token_url in &urls {
                        for (device_url, authorize_url) in [
                            ("", ""),
                            (urls[1].as_str(), ""),
                            ("", urls[2].as_str()),
                            (urls[4].as_str(), urls[1].as_str()),
                            (urls[1].as_str(), urls[7].as_str()),
                        ] {
                            for scope in scopes {
                                n += 1;
                                if n % stride != 0 {
                                    continue;
                                }
                                let parts = ProfileParts {
                                    provider,
                                    microsoft_cloud: cloud,
                                    tenant,
                                    token_url,
                                    device_url,
                                    authorize_url,
                                    scope,
                                    transport,
                                };
                                let mut p = Provider::blank();
                                let built = parts.profile_into(&mut p);
                                let (checked, device) = parts.check();
                                assert_eq!(checked, built, "{parts:?}");
                                if built.is_ok() {
                                    assert_eq!(device, p.supports_device_flow(), "{parts:?}");
                                    seen_ok += 1;
                                    seen_device += usize::from(device);
                                } else {
                                    seen_err += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    // Every kind of outcome was met, not only one.
    let least = 100 / stride;
    assert!(seen_ok > least && seen_err > least && seen_device > least / 10);
    assert!(seen_device < seen_ok);
}
