//! Runs every benchmark of issue 8 on this machine in one go, prints one
//! table and writes `BENCHMARKS.md` at the workspace root. Started by
//! `scripts/bench.sh` after the criterion bench (whose estimates it reads).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mfp_oauth_benches::alloc_count::HeapUse;
use mfp_oauth_benches::fixtures::{self, BIG_MESSAGE_LEN, TOKEN_LEN};
use mfp_oauth_benches::sink::{self, Flights, Proxy, SessionStats, Sink};
use mfp_oauth_benches::{cases, clients};
use mfp_oauth_core::limits::SMTP_COMMAND_LINE_LIMIT;

type Res<T> = Result<T, String>;
/// One part of the run, filling rows of the table.
type Step<'a> = dyn Fn(&mut Table) -> Res<()> + 'a;

/// Runs of each end-to-end transfer; the median is kept.
const E2E_RUNS: usize = 5;
/// Size of the small message of rows 4 and 6.
const SMALL_MESSAGE_LEN: usize = 4 * 1024;
/// A short token, for the round-trip row: fits the 512-octet AUTH line.
const SHORT_TOKEN_LEN: usize = 300;

struct Ctx {
    root: PathBuf,
    target: PathBuf,
    work: PathBuf,
    probe: PathBuf,
}

fn run(cmd: &mut Command) -> Res<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What a probe reports besides instructions.
#[derive(Clone, Copy, Default)]
struct Probed {
    heap: HeapUse,
    /// Caller-lent storage of the case (buffers, result struct).
    caller: u64,
    /// Stack high-water mark of one call (painting).
    stack: u64,
}

fn parse_heap(out: &str) -> Res<Probed> {
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with("heap "))
        .ok_or_else(|| format!("no heap line in {out:?}"))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|w| w.parse().ok())
        .collect();
    match v.as_slice() {
        [calls, bytes, peak, caller, stack] => Ok(Probed {
            heap: HeapUse {
                calls: *calls,
                bytes: *bytes,
                peak: *peak,
            },
            caller: *caller,
            stack: *stack,
        }),
        _ => Err(format!("bad heap line {line:?}")),
    }
}

/// Total `Ir` of a callgrind output file.
fn callgrind_total(file: &Path) -> Res<u64> {
    let text = fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    text.lines()
        .rev()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no total in {}", file.display()))
}

impl Ctx {
    /// Instructions per call of an in-memory case (callgrind, only inside
    /// `callgrind_window`), and its heap use.
    fn case(&self, name: &str, n: u64) -> Res<(u64, Probed)> {
        let file = self.work.join(format!("callgrind.{name}"));
        let out = run(Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", file.display()))
            .arg("--collect-atstart=no")
            .arg("--toggle-collect=*callgrind_window*")
            .arg(&self.probe)
            .args(["case", name, &n.to_string()]))?;
        Ok((callgrind_total(&file)? / n.max(1), parse_heap(&out)?))
    }

    /// Mean wall time (ns) of a criterion benchmark, if it was run.
    fn criterion_ns(&self, group: &str, bench: &str) -> Option<f64> {
        let p = self
            .target
            .join("criterion")
            .join(group)
            .join(bench)
            .join("new/estimates.json");
        let v: serde_json::Value = serde_json::from_slice(&fs::read(p).ok()?).ok()?;
        v.get("mean")?.get("point_estimate")?.as_f64()
    }

    /// Whole-process instructions of a sender (callgrind from the start).
    fn process_instructions(&self, name: &str, cmd: &Command) -> Res<u64> {
        let file = self.work.join(format!("callgrind.send.{name}"));
        let mut vg = Command::new("valgrind");
        vg.arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", file.display()))
            .arg(cmd.get_program())
            .args(cmd.get_args());
        run(&mut vg)?;
        callgrind_total(&file)
    }

    fn probe_send(
        &self,
        who: &str,
        addr: std::net::SocketAddr,
        file: &Path,
        token_len: usize,
    ) -> Command {
        let mut c = Command::new(&self.probe);
        c.args(["send", who])
            .arg(addr.to_string())
            .arg(file)
            .arg(token_len.to_string());
        c
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Who sends, and how.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sender {
    OursBdat,
    OursData,
    Lettre,
    Curl,
}

impl Sender {
    fn label(self) -> &'static str {
        match self {
            Sender::OursBdat => "ours (BDAT)",
            Sender::OursData => "ours (DATA)",
            Sender::Lettre => "lettre 0.11",
            Sender::Curl => "curl",
        }
    }

    fn command(
        self,
        ctx: &Ctx,
        addr: std::net::SocketAddr,
        file: &Path,
        token_len: usize,
    ) -> Command {
        match self {
            Sender::OursBdat => ctx.probe_send("ours-canonical", addr, file, token_len),
            Sender::OursData => ctx.probe_send("ours-data-canonical", addr, file, token_len),
            Sender::Lettre => ctx.probe_send("lettre", addr, file, token_len),
            Sender::Curl => clients::curl_command(addr, &fixtures::access_token(token_len), file),
        }
    }
}

/// Sends once and checks that the sink got the whole message for three
/// recipients with the right token. Returns wall time and the probe's
/// output.
fn send_once(
    ctx: &Ctx,
    who: Sender,
    sink: &Sink,
    addr: std::net::SocketAddr,
    file: &Path,
    len: usize,
    token_len: usize,
) -> Res<(Duration, String, SessionStats)> {
    let mut cmd = who.command(ctx, addr, file, token_len);
    let t0 = Instant::now();
    let out = run(&mut cmd)?;
    let dt = t0.elapsed();
    let stats = sink
        .next_session(Duration::from_secs(60))
        .map_err(|e| format!("{}: {e}", who.label()))?;
    if stats.messages != 1
        || stats.recipients != 3
        || !stats.token_ok
        || !(stats.body_octets == len as u64
            // lettre always writes CRLF before the final dot, adding an
            // empty line to a message that already ends with CRLF.
            || (who == Sender::Lettre && stats.body_octets == len as u64 + 2))
    {
        return Err(format!(
            "{}: the sink got {stats:?}, wanted {len} octets",
            who.label()
        ));
    }
    Ok((dt, out, stats))
}

struct Table {
    rows: Vec<[String; 6]>,
    notes: Vec<String>,
}

impl Table {
    fn row(&mut self, cells: [&str; 6]) {
        self.rows.push(cells.map(str::to_owned));
    }

    fn markdown(&self) -> String {
        let mut s = String::new();
        s.push_str("| # | measure | ours | peer | peer's figure | ours / peer |\n");
        s.push_str("|---|---|---:|---|---:|---:|\n");
        for r in &self.rows {
            let _ = writeln!(s, "| {} |", r.join(" | "));
        }
        s
    }
}

fn ratio(ours: f64, peer: f64) -> String {
    if peer == 0.0 {
        if ours == 0.0 {
            "= (both 0)".into()
        } else {
            "n/a (peer 0)".into()
        }
    } else if ours == 0.0 {
        "0×".into()
    } else if ours / peer < 0.1 {
        format!("1/{:.0}", peer / ours)
    } else {
        format!("{:.2}×", ours / peer)
    }
}

fn int(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ns(v: Option<f64>) -> String {
    match v {
        Some(ns) if ns >= 1e6 => format!("{:.2} ms", ns / 1e6),
        Some(ns) if ns >= 1e3 => format!("{:.2} µs", ns / 1e3),
        Some(ns) => format!("{ns:.0} ns"),
        None => "not run".into(),
    }
}

fn mibs(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64().max(1e-9)
}

fn row1(ctx: &Ctx, t: &mut Table) -> Res<()> {
    let n = 20;
    let (ours_ir, ours) = ctx.case("xoauth2-ours", n)?;
    let (peer_ir, peer) = ctx.case("xoauth2-lettre", n)?;
    let (ours_heap, peer_heap) = (ours.heap, peer.heap);
    t.row([
        "1",
        &format!("XOAUTH2 `AUTH` line, {TOKEN_LEN}-octet token: instructions"),
        &int(ours_ir),
        "lettre `Auth::new(Xoauth2)` + Display",
        &int(peer_ir),
        &ratio(ours_ir as f64, peer_ir as f64),
    ]);
    t.row([
        "1",
        "… heap allocations / octets allocated (peak)",
        &format!("{} / 0", ours_heap.calls),
        "lettre",
        &format!(
            "{} / {} ({})",
            peer_heap.calls,
            int(peer_heap.bytes),
            int(peer_heap.peak)
        ),
        &ratio(ours_heap.bytes as f64, peer_heap.bytes as f64),
    ]);
    t.row([
        "1",
        "… stack high-water of the call",
        &format!("{} B", int(ours.stack)),
        "lettre",
        &format!("{} B", int(peer.stack)),
        &ratio(ours.stack as f64, peer.stack as f64),
    ]);
    let ours_total = ours.caller + ours_heap.peak + ours.stack;
    let peer_total = peer.caller + peer_heap.peak + peer.stack;
    t.row([
        "1",
        "… memory in all: caller buffer + heap peak + stack",
        &format!("{} B", int(ours_total)),
        "lettre",
        &format!("{} B", int(peer_total)),
        &ratio(ours_total as f64, peer_total as f64),
    ]);
    let (o, p) = (
        ctx.criterion_ns("xoauth2", "ours"),
        ctx.criterion_ns("xoauth2", "lettre"),
    );
    t.row([
        "1",
        "… wall time (criterion mean)",
        &ns(o),
        "lettre",
        &ns(p),
        &o.zip(p).map_or("n/a".into(), |(o, p)| ratio(o, p)),
    ]);
    Ok(())
}

fn row2(ctx: &Ctx, t: &mut Table) -> Res<()> {
    for (label, case, group, len) in [
        (
            "Microsoft",
            "ms",
            "token-microsoft",
            fixtures::microsoft_body().len(),
        ),
        (
            "Google",
            "google",
            "token-google",
            fixtures::google_body().len(),
        ),
    ] {
        let n = 20;
        let (ours_ir, ours) = ctx.case(&format!("json-{case}-ours"), n)?;
        let (peer_ir, peer) = ctx.case(&format!("json-{case}-serde"), n)?;
        let ours_mem = ours.caller + ours.heap.peak + ours.stack;
        let peer_mem = peer.caller + peer.heap.peak + peer.stack;
        t.row([
            "2",
            &format!(
                "token response, {label} ({} B): instructions",
                int(len as u64)
            ),
            &int(ours_ir),
            "serde_json 1 into a struct",
            &int(peer_ir),
            &ratio(ours_ir as f64, peer_ir as f64),
        ]);
        t.row([
            "2",
            "… allocations; memory = result struct + heap peak + stack",
            &format!("{} allocs; {} B", ours.heap.calls, int(ours_mem)),
            "serde_json",
            &format!("{} allocs; {} B", peer.heap.calls, int(peer_mem)),
            &ratio(ours_mem as f64, peer_mem as f64),
        ]);
        let (o, p) = (
            ctx.criterion_ns(group, "ours"),
            ctx.criterion_ns(group, "serde_json"),
        );
        t.row([
            "2",
            "… wall time (criterion mean)",
            &ns(o),
            "serde_json",
            &ns(p),
            &o.zip(p).map_or("n/a".into(), |(o, p)| ratio(o, p)),
        ]);
    }
    Ok(())
}

fn row3(ctx: &Ctx, t: &mut Table, big: &Path) -> Res<()> {
    let msg = fs::read(big).map_err(|e| e.to_string())?;
    let len = msg.len();
    let (ir, _) = ctx.case("stuff-ours", 1)?;
    let ir_stuff = ir;
    let stuff_ns = ctx.criterion_ns("stuff-20MiB", "ours");
    t.row([
        "3",
        "20 MiB body, CRLF + dot-stuffing in memory: instructions/octet; throughput",
        &format!(
            "{:.2} Ir/B; {}",
            ir as f64 / len as f64,
            stuff_ns.map_or("not run".into(), |v| format!(
                "{:.0} MiB/s",
                len as f64 / (1024.0 * 1024.0) / (v / 1e9)
            ))
        ),
        "lettre: its codec is crate-private; `SmtpConnection::message` is nearly all of its Ir/octet below",
        "—",
        "—",
    ]);
    let composed = fixtures::canonical_message(BIG_MESSAGE_LEN);
    let (ir, _) = ctx.case("canonical-ours", 1)?;
    t.row([
        "3",
        "20 MiB composed (canonical) body, `DATA` path in memory (`encode_canonical`): instructions/octet",
        &format!("{:.3} Ir/B", ir as f64 / composed.len() as f64),
        "the scanning path above, same machine",
        &format!("{:.2} Ir/B", ir_stuff as f64 / len as f64),
        &ratio(ir as f64 / composed.len() as f64, ir_stuff as f64 / len as f64),
    ]);
    let (ir_compose, probed) = ctx.case("compose-ours", 1)?;
    t.row([
        "3",
        "20 MiB message composed in memory (core composer: 15 MiB file to base64 76-column lines, pulled 64 KiB at a time): instructions per octet produced; heap",
        &format!(
            "{:.2} Ir/B; {} allocations",
            ir_compose as f64 / composed.len() as f64,
            probed.heap.calls
        ),
        "curl and lettre compose with their own MIME code (not measured here); the loopback rows below send this message already composed",
        "—",
        "—",
    ]);
    // Issue 19 (R-XPORT): the same composed message through the mail API
    // sessions, in memory, against the SMTP `DATA` path above.
    let smtp_ir_b = ir as f64 / composed.len() as f64;
    for (case, what, len) in [
        (
            "api-gmail-ours",
            "20 MiB composed message through the Gmail API session in memory (resumable upload: start, `100 Continue`, the upload; answers scripted, no network): instructions/octet; memory (stack high-water with the session + lent buffer); heap",
            BIG_MESSAGE_LEN,
        ),
        (
            "api-graph-ours",
            "3 MiB composed message (the most one `sendMail` takes) through the Graph session in memory (base64 as it streams): instructions/octet; memory; heap",
            3 * 1024 * 1024,
        ),
        (
            "api-graph-upload-ours",
            "20 MiB composed message through Graph's draft and upload session in memory (the survey, the draft without the scan, 6 chunks of 3.6 MB each decoded from the scan's base64 in a pass of the message from its first octet, `send`; answers scripted): instructions per octet of the message; memory; heap",
            BIG_MESSAGE_LEN,
        ),
    ] {
        let (ir_api, probed) = ctx.case(case, 1)?;
        let per = ir_api as f64 / fixtures::canonical_message(len).len() as f64;
        t.row([
            "3",
            what,
            &format!(
                "{per:.3} Ir/B; {} B; {} allocations",
                probed.stack + probed.caller,
                probed.heap.calls
            ),
            "the SMTP `DATA` path above (`encode_canonical`), same run",
            &format!("{smtp_ir_b:.3} Ir/B"),
            &ratio(per, smtp_ir_b),
        ]);
    }
    let big = ctx.work.join("message-20MiB-composed.eml");
    fs::write(&big, &composed).map_err(|e| e.to_string())?;
    let big = big.as_path();
    let msg = composed;
    let len = msg.len();
    // The physical limit.
    let mut raw = Vec::new();
    for _ in 0..3 * E2E_RUNS {
        raw.push(sink::raw_transfer(&msg).map_err(|e| e.to_string())?);
    }
    let raw = median(raw);
    let token = fixtures::access_token(TOKEN_LEN);
    let bdat = Sink::start(true, token.as_bytes(), None).map_err(|e| e.to_string())?;
    let data = Sink::start(false, token.as_bytes(), None).map_err(|e| e.to_string())?;
    let mut results = Vec::new();
    for who in [
        Sender::OursBdat,
        Sender::OursData,
        Sender::Lettre,
        Sender::Curl,
    ] {
        let s = if who == Sender::OursBdat {
            &bdat
        } else {
            &data
        };
        let mut times = Vec::new();
        let mut heap = None;
        for _ in 0..E2E_RUNS {
            let (dt, out, _) = send_once(ctx, who, s, s.addr(), big, len, TOKEN_LEN)?;
            times.push(dt);
            if who != Sender::Curl {
                heap = Some(parse_heap(&out)?.heap);
            }
        }
        let wall = median(times);
        let ir = ctx.process_instructions(
            &who.label().replace([' ', '(', ')'], ""),
            &who.command(ctx, s.addr(), big, TOKEN_LEN),
        )?;
        s.next_session(Duration::from_secs(120))
            .map_err(|e| format!("{} under callgrind: {e}", who.label()))?;
        let heap = match heap {
            Some(h) => h,
            None => {
                let h = memcheck(&who.command(ctx, s.addr(), big, TOKEN_LEN))?;
                s.next_session(Duration::from_secs(120))
                    .map_err(|e| format!("{} under memcheck: {e}", who.label()))?;
                h
            }
        };
        results.push((who, wall, ir, heap));
    }
    let raw_mibs = mibs(len, raw);
    for (who, wall, ir, heap) in &results {
        if matches!(who, Sender::OursBdat | Sender::OursData) {
            t.row([
                "3",
                &format!(
                    "20 MiB message over loopback, {}: throughput; client Ir/octet; heap peak",
                    who.label()
                ),
                &format!(
                    "{:.0} MiB/s; {:.2} Ir/B; {} B",
                    mibs(len, *wall),
                    *ir as f64 / len as f64,
                    int(heap.peak)
                ),
                "sink's raw read (the physical limit)",
                &format!("{raw_mibs:.0} MiB/s"),
                &ratio(mibs(len, *wall), raw_mibs),
            ]);
        }
    }
    let ours = results
        .iter()
        .find(|r| r.0 == Sender::OursData)
        .map(|r| (r.1, r.2, r.3))
        .ok_or("no ours")?;
    for peer in [Sender::Lettre, Sender::Curl] {
        if let Some((_, wall, ir, heap)) = results.iter().find(|r| r.0 == peer) {
            let (o, p) = (mibs(len, ours.0), mibs(len, *wall));
            t.row([
                "3",
                "… throughput, ours (DATA) vs peer (higher is better)",
                &format!("{o:.0} MiB/s"),
                peer.label(),
                &format!("{p:.0} MiB/s"),
                &ratio(o, p),
            ]);
            let (o, p) = (ours.1 as f64 / len as f64, *ir as f64 / len as f64);
            t.row([
                "3",
                "… client instructions per octet (whole process)",
                &format!("{o:.2}"),
                peer.label(),
                &format!("{p:.2}"),
                &ratio(o, p),
            ]);
            t.row([
                "3",
                "… client heap peak",
                &format!("{} B", int(ours.2.peak)),
                peer.label(),
                &format!("{} B", int(heap.peak)),
                &ratio(ours.2.peak as f64, heap.peak as f64),
            ]);
        }
    }
    t.notes.push(format!(
        "Row 3: throughput is octets of the message over the wall time of the whole sending \
         process (connect, EHLO, AUTH, envelope, body, QUIT; curl's includes its start-up), \
         median of {E2E_RUNS}; instructions are the whole client process under callgrind \
         (the sink runs in the report's own process, not counted). Heap peak for curl is \
         memcheck's total allocated (it reports no peak). lettre takes the message as one \
         slice, so its heap holds all of it; ours streams it from the file through 64 KiB. \
         Ours' in-memory figure (first row 3) is `DotStuffer::encode` inlined into the bench \
         loop; inside `Client::write_body` the same work compiles to fewer instructions (the \
         end-to-end rows, where `write_body` was nearly all of the process). The loopback rows \
         send the message as the product does since issue 16: composed by the core's composer \
         (canonical: CRLF, base64 in 76-column lines, no line starting with a dot; {len} octets) \
         and declared canonical (`Client::write_body_canonical`: with `BDAT` copied unscanned, \
         with `DATA` only its dots looked at, with `memchr`); curl and lettre send the same file."
    ));
    Ok(())
}

/// curl's heap use from memcheck's summary (calls, octets; no peak: the
/// octets allocated stand in for it).
fn memcheck(cmd: &Command) -> Res<HeapUse> {
    let out = Command::new("valgrind")
        .arg("--tool=memcheck")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("total heap usage:"))
        .ok_or_else(|| format!("no memcheck summary: {err}"))?;
    let nums: Vec<u64> = line
        .split("total heap usage:")
        .nth(1)
        .unwrap_or("")
        .split(|c: char| !c.is_ascii_digit() && c != ',')
        .filter_map(|w| w.replace(',', "").parse().ok())
        .collect();
    match nums.as_slice() {
        [allocs, _frees, bytes, ..] => Ok(HeapUse {
            calls: *allocs,
            bytes: *bytes,
            peak: *bytes,
        }),
        _ => Err(format!("bad memcheck line {line:?}")),
    }
}

fn row4_and_6(ctx: &Ctx, t: &mut Table, small: &Path) -> Res<()> {
    let len = SMALL_MESSAGE_LEN;
    let mut flights_of = Vec::new();
    let mut heap_of = Vec::new();
    for (who, chunking, token_len) in [
        (Sender::OursBdat, true, TOKEN_LEN),
        (Sender::OursData, false, TOKEN_LEN),
        (Sender::OursBdat, true, SHORT_TOKEN_LEN),
        (Sender::Lettre, true, TOKEN_LEN),
        (Sender::Curl, true, TOKEN_LEN),
    ] {
        let token = fixtures::access_token(token_len);
        let flights = std::sync::Arc::new(Flights::default());
        let sink = Sink::start(
            chunking,
            token.as_bytes(),
            Some(std::sync::Arc::clone(&flights)),
        )
        .map_err(|e| e.to_string())?;
        let proxy = Proxy::start(sink.addr(), flights).map_err(|e| e.to_string())?;
        let (_, out, stats) = send_once(ctx, who, &sink, proxy.addr(), small, len, token_len)?;
        let f = stats.flights_at_final.ok_or("no flight count")?;
        flights_of.push((who, chunking, token_len, f, stats.chunked));
        if token_len == TOKEN_LEN && who != Sender::OursData {
            let heap = if who == Sender::Curl {
                let h = memcheck(&who.command(ctx, sink.addr(), small, token_len))?;
                sink.next_session(Duration::from_secs(60))
                    .map_err(|e| e.to_string())?;
                h
            } else {
                parse_heap(&out)?.heap
            };
            heap_of.push((who, chunking, heap));
        }
    }
    let ours = flights_of
        .iter()
        .find(|f| f.0 == Sender::OursBdat && f.2 == TOKEN_LEN)
        .map_or(0, |f| f.3);
    for (who, chunking, token_len, f, chunked) in &flights_of {
        let what = format!(
            "round trips connect → final 250, 3 recipients, {token_len}-octet token{}",
            if *chunking {
                ", server offers CHUNKING"
            } else {
                ", no CHUNKING"
            }
        );
        let body = if *chunked { "BDAT" } else { "DATA" };
        // EHLO | AUTH (+ the response after 334 when the initial response
        // would make the line longer than RFC 5321's 512 octets, which
        // RFC 4954 §4 forbids) | envelope + BDAT LAST (or DATA | body).
        let auth = if cases::auth_line_len(fixtures::USER, *token_len) <= SMTP_COMMAND_LINE_LIMIT {
            1
        } else {
            2
        };
        let minimum = 1 + auth + if *chunked { 1 } else { 2 };
        match who {
            Sender::OursBdat | Sender::OursData => t.row([
                "4",
                &what,
                &format!("{f} ({body})"),
                "protocol minimum (RFC 2920, 3030, 4954 §4)",
                &minimum.to_string(),
                &ratio(*f as f64, f64::from(minimum)),
            ]),
            _ => t.row([
                "4",
                &what,
                &format!("{ours} (BDAT)"),
                who.label(),
                &format!("{f} ({body})"),
                &ratio(ours as f64, *f as f64),
            ]),
        }
    }
    t.notes.push(
        "Row 4: client flights counted by a relaying proxy (a flight starts when the client \
         sends after the server last spoke; replies are held until the client has been quiet \
         for 3 ms), read when the server sends the final 250; the 220 greeting is not a flight. \
         Protocol minimum after the greeting: EHLO | AUTH with the initial response | \
         MAIL + 3 RCPT + BDAT LAST = 3 (RFC 2920 §3.1: EHLO ends a group, and the client must \
         see AUTH's result before MAIL); with DATA the body needs the 354 first: 4. RFC 4954 §4: \
         when the initial response would make the AUTH line longer than RFC 5321's 512 octets \
         (any token above about 340 octets: every Microsoft token) the client MUST NOT send it \
         on the AUTH line, which costs one more flight (AUTH, 334, response): 4 and 5. lettre \
         sends the 3,4 KB line anyway (a server enforcing 512 octets answers 500 5.5.6); curl \
         keeps to 512 like us. TLS is left out on every side (STARTTLS would add 2 to all)."
            .into(),
    );
    // Row 6.
    let (_, job) = ctx.case("job-core", 1)?;
    t.row([
        "6",
        "allocations, one job in memory (token parse + SMTP session + 64 KiB body), core only",
        &int(job.heap.calls),
        "(must be 0)",
        "0",
        if job.heap.calls == 0 {
            "= (both 0)"
        } else {
            "FAILS"
        },
    ]);
    t.notes.push(format!(
        "Row 6, in memory: the core's whole job used {} B of stack (the `smtp::Client`, {} B \
         on x86_64, lives on it) and {} B of caller storage (`TokenResponse`, {} B, and a \
         4 KiB output buffer), no heap.",
        int(job.stack),
        int(size_of::<mfp_oauth_core::smtp::Client>() as u64),
        int(job.caller),
        int(size_of::<mfp_oauth_core::wire::json::TokenResponse>() as u64),
    ));
    let ours_heap = heap_of
        .iter()
        .find(|h| h.0 == Sender::OursBdat)
        .map(|h| h.2)
        .unwrap_or_default();
    for (who, _, heap) in &heap_of {
        if *who == Sender::OursBdat {
            continue;
        }
        t.row([
            "6",
            &format!(
                "allocations (octets), one job on the host: {} B message, 3 recipients",
                int(len as u64)
            ),
            &format!("{} ({})", ours_heap.calls, int(ours_heap.bytes)),
            who.label(),
            &format!("{} ({})", int(heap.calls), int(heap.bytes)),
            &ratio(ours_heap.calls as f64, heap.calls as f64),
        ]);
    }
    t.notes.push(
        "Row 6: ours and lettre counted by a per-thread counting global allocator around the \
         send (connect to close); ours' allocations are the bench driver's own socket and \
         buffers, the core makes none (first row 6). curl is the whole process under \
         memcheck (libcurl and OpenSSL initialisation included)."
            .into(),
    );
    Ok(())
}

fn row5(ctx: &Ctx, t: &mut Table) {
    let script = ctx.root.join("bindings-c/tools/size-report.sh");
    if !script.exists() {
        t.row([
            "5",
            "footprint of the C API on thumbv7em-none-eabihf (flash, static RAM, stack)",
            "pending",
            "—",
            "—",
            "—",
        ]);
        t.notes.push(
            "Row 5 is pending: the firmware size report (bindings-c/tools/size-report.sh, branch \
             capi) has not landed on main yet; once merged, this command runs it and fills the row. \
             No peer builds there at all: lettre needs std and an allocator, libcurl an OS."
                .into(),
        );
        return;
    }
    match run(Command::new("bash").arg(&script)) {
        Ok(report) => {
            footprint_rows(t, &report, |l| {
                l.contains("**flash**")
                    || l.contains("**static RAM**")
                    || l.contains("**caller RAM")
                    || l.starts_with("| `")
            });
            t.notes.push(
                "Row 5 from bindings-c/tools/size-report.sh (target/size-report.md): an entry \
                 point's stack is its high-water mark by painting over the emulated firmware's \
                 day; \"deepest chain over the call graph\" is tools/stack-static.py's bound \
                 over the direct calls of the linked firmware (paths the day does not take)."
                    .into(),
            );
        }
        Err(e) => {
            t.row(["5", "footprint", "failed", "—", "—", "—"]);
            t.notes.push(format!("Row 5: size report failed: {e}"));
        }
    }
}

/// Row 5 lines of a size report (`| what | s | z |` table rows that `keep`
/// selects).
fn footprint_rows(t: &mut Table, report: &str, keep: impl Fn(&str) -> bool) {
    for line in report.lines().filter(|l| keep(l)) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if let [what, s, z] = cells.as_slice() {
            t.row([
                "5",
                &format!("footprint: {what} (opt-level s / z)"),
                &format!("{s} / {z}"),
                "lettre, libcurl",
                "do not build for thumbv7em (std, alloc, OS)",
                "—",
            ]);
        }
    }
}

/// Row 5 for the pure-Rust board: the embassy driver's firmware image
/// (embassy/tools/size-report.sh).
fn row5_embassy(ctx: &Ctx, t: &mut Table) {
    let script = ctx.root.join("embassy/tools/size-report.sh");
    match run(Command::new("bash").arg(&script)) {
        Ok(report) => {
            footprint_rows(t, &report, |l| l.contains("**embassy image"));
            t.notes.push(
                "Row 5, embassy: a whole Rust board image (embassy/examples/footprint.rs: \
                 start-up, embassy-net, one job and one sign-in) with each TLS option \
                 (embedded-tls with its P-256 verifier; \"with rustls\": the feature tls-rustls, \
                 TLS 1.2 and 1.3, RSA chains, a 64 KiB heap) from embassy/tools/size-report.sh \
                 (target/embassy-size-report.md, which also gives rustls's heap high-water mark); \
                 the static RAM is the buffers the example lends the driver, and the heap region."
                    .into(),
            );
        }
        Err(e) => {
            t.row(["5", "footprint: embassy image", "failed", "—", "—", "—"]);
            t.notes
                .push(format!("Row 5, embassy: size report failed: {e}"));
        }
    }
}

fn first_line(cmd: &mut Command) -> String {
    run(cmd)
        .ok()
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let load = fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into());
    format!(
        "{cpu}, {cores} cores (load average {load} at the end of the run); {}; {}; {}; {}",
        first_line(Command::new("uname").arg("-sr")),
        first_line(Command::new("rustc").arg("-V")),
        first_line(Command::new("valgrind").arg("--version")),
        first_line(Command::new("curl").arg("--version"))
            .split(' ')
            .take(2)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn main() -> std::process::ExitCode {
    match real_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-report: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn real_main() -> Res<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace root")?
        .to_path_buf();
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin_dir = exe.parent().ok_or("no bin dir")?;
    let target = bin_dir.parent().ok_or("no target dir")?.to_path_buf();
    let work = target.join("bench");
    fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let ctx = Ctx {
        probe: bin_dir.join("probe"),
        root,
        target,
        work,
    };
    let big = ctx.work.join("message-20MiB.eml");
    let small = ctx.work.join("message-small.eml");
    fs::write(&big, fixtures::message(BIG_MESSAGE_LEN)).map_err(|e| e.to_string())?;
    fs::write(&small, fixtures::message(SMALL_MESSAGE_LEN)).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut t = Table {
        rows: Vec::new(),
        notes: Vec::new(),
    };
    let steps: [(&str, &Step<'_>); 5] = [
        ("row 1", &|t| row1(&ctx, t)),
        ("row 2", &|t| row2(&ctx, t)),
        ("row 3", &|t| row3(&ctx, t, &big)),
        ("rows 4 and 6", &|t| row4_and_6(&ctx, t, &small)),
        ("row 5", &|t| {
            row5(&ctx, t);
            row5_embassy(&ctx, t);
            Ok(())
        }),
    ];
    // `bench-report 3` (or `3,5`, …): only the steps filling those rows,
    // the table printed and BENCHMARKS.md left alone.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .flat_map(|a| a.split(',').map(str::to_owned).collect::<Vec<_>>())
        .filter(|a| !a.is_empty())
        .collect();
    let wanted = |name: &str| {
        only.is_empty()
            || name
                .split(|c: char| !c.is_ascii_digit())
                .any(|d| !d.is_empty() && only.iter().any(|o| o == d))
    };
    for (name, step) in steps {
        if !wanted(name) {
            continue;
        }
        eprintln!(
            "bench-report: {name} ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
        step(&mut t).map_err(|e| format!("{name}: {e}"))?;
    }
    t.rows.sort_by(|a, b| a[0].cmp(&b[0]));
    let table = t.markdown();
    println!("{table}");
    if !only.is_empty() {
        for n in &t.notes {
            println!("- {n}");
        }
        eprintln!(
            "bench-report: rows {} only; BENCHMARKS.md left alone",
            only.join(",")
        );
        return Ok(());
    }
    let date = first_line(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]));
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "mfp-oauth beside the peers a firmware team would otherwise pick (lettre, curl, \
         serde_json), measured in one run on one machine (issue 8).\n"
    );
    let _ = writeln!(md, "- Date: {date}");
    let _ = writeln!(md, "- Machine: {}", machine());
    let _ = writeln!(
        md,
        "- Reproduce: `bash scripts/bench.sh` (a few minutes on 2 cores)"
    );
    let _ = writeln!(
        md,
        "- Instructions are callgrind counts (`valgrind --tool=callgrind`), the same from run \
         to run on one build; wall times are criterion means and loopback medians, which \
         move with the machine. Ratios are ours / peer: below 1 is better for instructions, \
         bytes, allocations and round trips, above 1 is better for throughput.\n"
    );
    md.push_str(&table);
    md.push('\n');
    for n in &t.notes {
        let _ = writeln!(md, "- {n}");
    }
    let _ = writeln!(
        md,
        "- Rows 1, 2: instructions counted only between entry and exit of the measured call \
         (callgrind `--toggle-collect`), mean of 20 calls; heap by a counting global allocator. \
         Row 1's line for ours goes into a caller buffer of exactly its length; lettre builds \
         `String`s. With a token this long our client sends the same base64 after a bare \
         `AUTH XOAUTH2` and its `334` (row 4), the encoding work being the same. Row 2's memory is the result struct plus the heap peak (ours: \
         `TokenResponse`, fixed capacities for a 4 KiB access token and 2 KiB refresh token)."
    );
    let _ = writeln!(
        md,
        "- Inputs: a {TOKEN_LEN}-octet JWT-shaped access token; the token bodies of \
         `benches/src/fixtures.rs`; a 20 MiB scan message (base64 PDF in 76-column CRLF lines \
         and three lines needing dot-stuffing), all generated deterministically."
    );
    fs::write(ctx.root.join("BENCHMARKS.md"), md).map_err(|e| e.to_string())?;
    eprintln!(
        "bench-report: wrote BENCHMARKS.md in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
