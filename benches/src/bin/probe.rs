//! The measured side of the benchmarks, one case per process so that
//! callgrind and the counting allocator see nothing else:
//!
//! - `probe case <name> <iterations>`: runs an in-memory case inside
//!   `callgrind_window` `iterations` times, then once more with allocation
//!   counting; prints `heap <calls> <bytes> <peak> <caller-octets>`.
//! - `probe send <ours|ours-data|lettre> <addr> <message-file> [token-len]`:
//!   sends the file to three recipients; prints `heap <calls> <bytes> <peak>`.
//!   `ours-canonical`, `ours-data-canonical`: ours with the file declared
//!   canonical (the core composer's output, `write_body_canonical`).

use std::fs::File;
use std::hint::black_box;
use std::net::SocketAddr;
use std::process::ExitCode;

use mfp_oauth_benches::alloc_count::{self, CountingAlloc, HeapUse};
use mfp_oauth_benches::cases::{self, auth_line_len};
use mfp_oauth_benches::clients::{self, OursBuffers};
use mfp_oauth_benches::fixtures::{self, TOKEN_LEN, USER};
use mfp_oauth_benches::{callgrind_window, stack};
use mfp_oauth_core::wire::json::TokenResponse;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn print_heap((h, stack): (HeapUse, usize), caller: usize) {
    println!(
        "heap {} {} {} {} {}",
        h.calls, h.bytes, h.peak, caller, stack
    );
}

/// Run `f` `n` times in the callgrind window, then once counted, then once
/// on a painted stack.
fn measure<R: Send>(n: u64, mut f: impl FnMut() -> R + Send) -> (HeapUse, usize) {
    for _ in 0..n {
        black_box(callgrind_window(&mut f));
    }
    let heap = alloc_count::count(|| black_box(f())).1;
    let stack = stack::high_water(f);
    (heap, stack)
}

fn case(name: &str, n: u64) -> Result<(), String> {
    let token = fixtures::access_token(TOKEN_LEN);
    match name {
        "empty" => print_heap(measure(n, || 0u8), 0),
        "xoauth2-ours" => {
            let len = auth_line_len(USER, token.len());
            let mut out = vec![0u8; len];
            let h = measure(n, || cases::xoauth2_ours(USER, token.as_bytes(), &mut out));
            if cases::xoauth2_ours(USER, token.as_bytes(), &mut out) != len {
                return Err("AUTH line".into());
            }
            print_heap(h, len);
        }
        "xoauth2-lettre" => {
            use lettre::transport::smtp::authentication::Credentials;
            let creds = Credentials::new(USER.to_owned(), token.clone());
            let h = measure(n, || cases::xoauth2_lettre(&creds));
            let mut ours = vec![0u8; auth_line_len(USER, token.len())];
            let len = cases::xoauth2_ours(USER, token.as_bytes(), &mut ours);
            if cases::xoauth2_lettre(&creds).as_bytes() != &ours[..len] {
                return Err("lettre's AUTH line differs from ours".into());
            }
            print_heap(h, 0);
        }
        "json-ms-ours" | "json-google-ours" => {
            let body = if name.contains("-ms-") {
                fixtures::microsoft_body()
            } else {
                fixtures::google_body()
            };
            let mut resp = Box::new(TokenResponse::new());
            let h = measure(n, || cases::token_ours(body.as_bytes(), &mut resp));
            if !cases::token_ours(body.as_bytes(), &mut resp) {
                return Err("core parser failed".into());
            }
            print_heap(h, size_of::<TokenResponse>());
        }
        "json-ms-serde" | "json-google-serde" => {
            let body = if name.contains("-ms-") {
                fixtures::microsoft_body()
            } else {
                fixtures::google_body()
            };
            let h = measure(n, || cases::token_serde(body.as_bytes()));
            if cases::token_serde(body.as_bytes()).is_none() {
                return Err("serde_json failed".into());
            }
            print_heap(h, size_of::<cases::SerdeToken>());
        }
        "compose-ours" => {
            let file = fixtures::scan_file(fixtures::BIG_MESSAGE_LEN / 78 * 57);
            let mut out = vec![0u8; OursBuffers::default().out];
            let h = measure(n, || cases::compose_ours(&file, &mut out));
            println!("produced {}", cases::compose_ours(&file, &mut out));
            print_heap(h, out.len());
        }
        "canonical-ours" => {
            let msg = fixtures::canonical_message(fixtures::BIG_MESSAGE_LEN);
            let mut out = vec![0u8; OursBuffers::default().out];
            let h = measure(n, || cases::canonical_ours(&msg, &mut out));
            print_heap(h, out.len());
        }
        "api-gmail-ours" | "api-graph-ours" => {
            // Gmail: the 20 MiB message (a resumable upload); Graph: the
            // most one sendMail request takes (3 MiB of message).
            let graph = name == "api-graph-ours";
            let len = if graph {
                3 * 1024 * 1024
            } else {
                fixtures::BIG_MESSAGE_LEN
            };
            let msg = fixtures::canonical_message(len);
            let mut out = vec![0u8; OursBuffers::default().out];
            let h = measure(n, || {
                cases::api_ours(graph, &msg, token.as_bytes(), &mut out)
            });
            let sent = cases::api_ours(graph, &msg, token.as_bytes(), &mut out);
            if sent < msg.len() {
                return Err(format!("{name}: the exchange failed ({sent} octets)"));
            }
            println!("message {} sent {}", msg.len(), sent);
            print_heap(h, out.len());
        }
        "api-graph-upload-ours" => {
            // The 20 MiB message through Graph's draft and upload session.
            let msg = fixtures::canonical_message(fixtures::BIG_MESSAGE_LEN);
            let mut out = vec![0u8; OursBuffers::default().out];
            let h = measure(n, || {
                cases::api_graph_upload_ours(&msg, token.as_bytes(), &mut out)
            });
            let sent = cases::api_graph_upload_ours(&msg, token.as_bytes(), &mut out);
            if sent < msg.len() / 2 {
                return Err(format!("{name}: the exchange failed ({sent} octets)"));
            }
            println!("message {} sent {}", msg.len(), sent);
            print_heap(h, out.len());
        }
        "stuff-ours" => {
            let msg = fixtures::message(fixtures::BIG_MESSAGE_LEN);
            let mut out = vec![0u8; OursBuffers::default().out];
            let h = measure(n, || cases::stuff_ours(&msg, &mut out));
            print_heap(h, out.len());
        }
        "job-core" => {
            let body = fixtures::microsoft_body();
            let msg = fixtures::message(64 * 1024);
            let mut resp = Box::new(TokenResponse::new());
            let mut out = vec![0u8; 4096];
            let mut run = || {
                let mut pause = |f: &mut dyn FnMut()| alloc_count::paused(f);
                cases::job_core(body.as_bytes(), &msg, &mut resp, &mut out, &mut pause)
            };
            let h = measure(n, &mut run);
            let outcome = run();
            if !(outcome.token_parsed && outcome.sent) {
                return Err(format!("job failed: {outcome:?}"));
            }
            print_heap(h, size_of::<TokenResponse>() + 4096);
        }
        other => return Err(format!("unknown case {other}")),
    }
    Ok(())
}

fn send(who: &str, addr: &str, file: &str, token_len: usize) -> Result<(), String> {
    let addr: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let token = fixtures::access_token(token_len);
    let (r, h) = match who {
        "ours" | "ours-data" | "ours-canonical" | "ours-data-canonical" => {
            let mut f = File::open(file).map_err(|e| format!("{file}: {e}"))?;
            let len = f.metadata().map_err(|e| e.to_string())?.len();
            let chunking = !who.starts_with("ours-data");
            let send = if who.ends_with("-canonical") {
                clients::send_ours_canonical
            } else {
                clients::send_ours
            };
            alloc_count::count(|| {
                send(
                    addr,
                    token.as_bytes(),
                    &mut f,
                    len,
                    chunking,
                    OursBuffers::default(),
                )
            })
        }
        "lettre" => {
            let msg = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
            alloc_count::count(|| clients::send_lettre(addr, &token, &msg))
        }
        other => return Err(format!("unknown sender {other}")),
    };
    r.map_err(|e| format!("{who}: {e}"))?;
    print_heap((h, 0), 0);
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = match argv.as_slice() {
        ["case", name, n] => n
            .parse()
            .map_err(|_| format!("bad count {n}"))
            .and_then(|n| case(name, n)),
        ["send", who, addr, file] => send(who, addr, file, TOKEN_LEN),
        ["send", who, addr, file, len] => len
            .parse()
            .map_err(|_| format!("bad token length {len}"))
            .and_then(|l| send(who, addr, file, l)),
        _ => {
            Err("usage: probe case <name> <n> | probe send <who> <addr> <file> [token-len]".into())
        }
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("probe: {e}");
            ExitCode::FAILURE
        }
    }
}
