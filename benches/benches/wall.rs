//! Wall time of the in-memory cases (rows 1–3), ours beside the peer.
//! Sample counts are small so that the whole run stays within a few minutes
//! on two cores; callgrind's instruction counts are the repeatable figures.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lettre::transport::smtp::authentication::Credentials;
use mfp_oauth_benches::cases::{self, auth_line_len};
use mfp_oauth_benches::clients::OursBuffers;
use mfp_oauth_benches::fixtures::{self, BIG_MESSAGE_LEN, TOKEN_LEN, USER};
use mfp_oauth_core::wire::json::TokenResponse;

fn xoauth2(c: &mut Criterion) {
    let token = fixtures::access_token(TOKEN_LEN);
    let mut out = vec![0u8; auth_line_len(USER, token.len())];
    let creds = Credentials::new(USER.to_owned(), token.clone());
    let mut g = c.benchmark_group("xoauth2");
    g.bench_function("ours", |b| {
        b.iter(|| cases::xoauth2_ours(USER, black_box(token.as_bytes()), &mut out));
    });
    g.bench_function("lettre", |b| {
        b.iter(|| cases::xoauth2_lettre(black_box(&creds)))
    });
    g.finish();
}

fn token(c: &mut Criterion) {
    for (name, body) in [
        ("token-microsoft", fixtures::microsoft_body()),
        ("token-google", fixtures::google_body()),
    ] {
        let mut resp = Box::new(TokenResponse::new());
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function("ours", |b| {
            b.iter(|| cases::token_ours(black_box(body.as_bytes()), &mut resp));
        });
        g.bench_function("serde_json", |b| {
            b.iter(|| cases::token_serde(black_box(body.as_bytes())));
        });
        g.finish();
    }
}

fn stuffing(c: &mut Criterion) {
    let msg = fixtures::message(BIG_MESSAGE_LEN);
    let mut out = vec![0u8; OursBuffers::default().out];
    let mut g = c.benchmark_group("stuff-20MiB");
    g.throughput(Throughput::Bytes(msg.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("ours", |b| {
        b.iter(|| cases::stuff_ours(black_box(&msg), &mut out))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = xoauth2, token, stuffing
}
criterion_main!(benches);
