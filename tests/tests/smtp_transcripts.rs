//! S:/C:/E: transcript tests of the SMTP submission client (R-SMTP, R-SASL,
//! R-DIAG). Each transcript is played with every way of cutting the
//! server's bytes and every output buffer size that matters; the observed
//! transcript must equal the written one, and the token must only ever
//! leave in transmits marked sensitive.

use mfp_oauth_core::smtp::{MechanismPreference, Security, Settings};
use mfp_oauth_tests::smtp::{normalise, run, Feed, Observed};

const USER: &str = "scanner@contoso.com";
const TOKEN: &str = "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA";

fn settings(security: Security, preference: MechanismPreference) -> Settings {
    let mut s = Settings::new(security, "printer.example.com", "smtp.example.com", 587).unwrap();
    s.mechanism = preference;
    s
}

/// Play `script` in line mode and check it verbatim, then check that every
/// other feed and buffer size yields the same client lines and events.
fn check(
    script: &str,
    security: Security,
    preference: MechanismPreference,
    user: &str,
    token: &str,
) -> Observed {
    let reference = run(
        script,
        settings(security, preference),
        user,
        token,
        Feed::Lines,
        4096,
    );
    assert_eq!(
        reference.transcript,
        normalise(script),
        "transcript differs"
    );
    assert_eq!(
        reference.leaked_transmits, 0,
        "token in a transmit not marked sensitive"
    );
    let variants = [
        (Feed::Bytes, 4096),
        (Feed::Batched, 4096),
        (Feed::Random(7), 1),
        (Feed::Random(99), 13),
        (Feed::Random(12345), 512),
    ];
    for (feed, out) in variants {
        let other = run(
            script,
            settings(security, preference),
            user,
            token,
            feed,
            out,
        );
        assert_eq!(
            other.client_lines, reference.client_lines,
            "{feed:?} out={out}"
        );
        assert_eq!(other.events, reference.events, "{feed:?} out={out}");
        assert_eq!(other.leaked_transmits, 0, "{feed:?} out={out}");
    }
    reference
}

macro_rules! transcript {
    ($name:ident, $file:literal, $security:ident) => {
        transcript!($name, $file, $security, Xoauth2, USER, TOKEN);
    };
    ($name:ident, $file:literal, $security:ident, $pref:ident, $user:expr, $token:expr) => {
        #[test]
        fn $name() {
            check(
                include_str!(concat!("../transcripts/", $file)),
                Security::$security,
                MechanismPreference::$pref,
                $user,
                $token,
            );
        }
    };
}

transcript!(
    starttls_then_pipelined_message,
    "starttls_pipelined.txt",
    StartTls
);
transcript!(
    implicit_tls_gmail,
    "implicit_tls_gmail.txt",
    ImplicitTls,
    Xoauth2,
    "someuser@gmail.com",
    "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
);
transcript!(
    server_without_starttls_is_refused,
    "no_starttls_refused.txt",
    StartTls
);
transcript!(
    xoauth2_error_challenge_then_retry,
    "error_challenge_xoauth2.txt",
    StartTls
);
transcript!(
    oauthbearer_error_challenge_retried_once,
    "error_challenge_oauthbearer.txt",
    StartTls,
    OAuthBearer,
    USER,
    TOKEN
);
transcript!(
    pipelined_with_one_recipient_refused,
    "pipelined_one_refused.txt",
    ImplicitTls
);
transcript!(
    pipelined_with_every_recipient_refused,
    "pipelined_all_refused.txt",
    ImplicitTls
);
transcript!(
    sequential_with_every_recipient_refused,
    "sequential_all_refused.txt",
    ImplicitTls
);
transcript!(
    microsoft_smtp_auth_disabled,
    "smtp_auth_disabled.txt",
    StartTls
);
transcript!(greeting_never_comes, "greeting_timeout.txt", StartTls);
transcript!(
    connection_dropped_mid_data,
    "closed_mid_data.txt",
    ImplicitTls
);
transcript!(
    message_larger_than_server_size,
    "size_exceeded.txt",
    ImplicitTls
);
// Issue 17 item 6 (R-SMTP): a non-ASCII address goes out with SMTPUTF8
// when the server offers it, and is refused before MAIL (E331) when not.
transcript!(
    non_ascii_recipient_with_smtputf8,
    "smtputf8_offered.txt",
    ImplicitTls
);
transcript!(
    non_ascii_address_without_smtputf8_is_refused_before_mail,
    "smtputf8_not_offered.txt",
    ImplicitTls
);

/// The two sensitive transmits of the happy path are exactly the AUTH lines.
#[test]
fn only_auth_lines_are_sensitive() {
    let obs = run(
        include_str!("../transcripts/error_challenge_xoauth2.txt"),
        settings(Security::StartTls, MechanismPreference::Xoauth2),
        USER,
        TOKEN,
        Feed::Lines,
        4096,
    );
    assert_eq!(obs.sensitive_transmits, 2);
}

transcript!(chunking_in_one_flight, "bdat_pipelined.txt", ImplicitTls);
transcript!(
    chunking_with_every_recipient_refused,
    "bdat_all_refused.txt",
    ImplicitTls
);

/// Issue 11: client flights from the greeting to the final 250 are the
/// protocol's minimum. With CHUNKING and PIPELINING: EHLO, AUTH, and one
/// flight for MAIL, every RCPT and the BDAT chunks (then QUIT).
#[test]
fn flights_are_the_protocol_minimum() {
    let flights = |script: &str, security| {
        let settings =
            Settings::new(security, "printer.example.com", "smtp.example.com", 587).unwrap();
        run(script, settings, USER, TOKEN, Feed::Lines, 4096).flights
    };
    let bdat = flights(
        include_str!("../transcripts/bdat_pipelined.txt"),
        Security::ImplicitTls,
    );
    assert_eq!(bdat, 4, "EHLO, AUTH, transaction, QUIT");
    // DATA waits for the 354: one more flight.
    let data = flights(
        include_str!("../transcripts/pipelined_one_refused.txt"),
        Security::ImplicitTls,
    );
    assert_eq!(data, 4, "EHLO, AUTH, MAIL..DATA, body");
    // STARTTLS adds STARTTLS and the second EHLO.
    let starttls = flights(
        include_str!("../transcripts/starttls_pipelined.txt"),
        Security::StartTls,
    );
    assert_eq!(
        starttls, 7,
        "EHLO, STARTTLS, EHLO, AUTH, MAIL..DATA, body, QUIT"
    );
}
