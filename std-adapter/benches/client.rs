//! What `Client` costs over a hand-rolled header: 2,000 authenticated
//! `GET`s against the sandbox on loopback through `Client`, side by side
//! with raw `ureq` sending the same requests with `X-Auth-Token` set by hand
//! (after one login of its own), on one thread and on 8 threads sharing one
//! client (and one agent).
//!
//! Criterion times each side on its own; at the end the benchmark prints
//! the throughput ratio (Client over raw `ureq`) of rounds taken in pairs,
//! which a shared machine's changing load skews less.
//!
//! `cargo bench -p authsession-std --bench client`; the figures of one run
//! are in `BENCHMARKS.md` at the root of the repository.
// A failed request is a broken benchmark, which should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID};
use authsession_std::Client;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use support::{spread, thread_cpu};

/// Requests in one measured round.
const REQUESTS: usize = 2_000;
/// A call that needs the token.
const PATH: &str = "/v2/accounts/current";
/// Paired rounds behind the printed throughput ratio.
const PAIRS: usize = 15;
/// Requests per block of a paired round: each side's round is ten blocks,
/// taken in turn with the other side's.
const BLOCK: usize = 200;

/// The agent `Client` builds for itself (see `transport.rs`), built by
/// hand: the two differ only in who puts the token on the request.
fn raw_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_global(Some(Duration::from_secs(40)))
        .user_agent(concat!("authsession/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// Logs in once with a raw request, as a program without authsession
/// would, and returns the token.
fn raw_login(agent: &ureq::Agent, base: &str) -> String {
    let mut response = agent
        .post(format!("{base}/v2/authenticate/api"))
        .send_form([
            ("login_id", CURRENCYCLOUD_LOGIN_ID),
            ("api_key", CURRENCYCLOUD_API_KEY),
        ])
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value =
        serde_json::from_slice(&response.body_mut().read_to_vec().unwrap()).unwrap();
    body["auth_token"].as_str().unwrap().to_owned()
}

fn raw_get(agent: &ureq::Agent, url: &str, token: &str) -> usize {
    let mut response = agent.get(url).header("X-Auth-Token", token).call().unwrap();
    assert_eq!(response.status(), 200);
    response.body_mut().read_to_vec().unwrap().len()
}

fn client_get(client: &Client<Currencycloud>) -> usize {
    let response = client.get(PATH).unwrap();
    assert_eq!(response.status(), 200);
    response.body().len()
}

/// Runs `iters` rounds of [`REQUESTS`] calls of `get`, spread over
/// `threads` threads, and returns the time they took.
fn rounds(iters: u64, threads: usize, get: &(impl Fn() -> usize + Sync)) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        calls(REQUESTS, threads, get);
    }
    started.elapsed()
}

/// Makes `requests` calls of `get`, spread over `threads` threads (on this
/// one when there is one).
fn calls(requests: usize, threads: usize, get: &(impl Fn() -> usize + Sync)) {
    if threads == 1 {
        for _ in 0..requests {
            std::hint::black_box(get());
        }
    } else {
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    for _ in 0..requests / threads {
                        std::hint::black_box(get());
                    }
                });
            }
        });
    }
}

/// Time and calling-thread CPU time of one side of a pair.
#[derive(Default)]
struct Side {
    wall: Duration,
    cpu: Option<Duration>,
}

impl Side {
    fn add(&mut self, requests: usize, threads: usize, get: &(impl Fn() -> usize + Sync)) {
        let (cpu, started) = (thread_cpu(), Instant::now());
        calls(requests, threads, get);
        self.wall += started.elapsed();
        self.cpu = match (self.cpu.or(Some(Duration::ZERO)), cpu, thread_cpu()) {
            (Some(total), Some(before), Some(after)) => Some(total + after.saturating_sub(before)),
            _ => None,
        };
    }
}

fn bench_client(c: &mut Criterion) {
    let sandbox = support::quiet_sandbox();
    let base = sandbox.currencycloud_url();

    let credentials =
        CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY).unwrap();
    let client = Client::builder(Currencycloud::default(), credentials)
        .base_url(&base)
        .build()
        .unwrap();
    client.login().unwrap();

    let agent = raw_agent();
    let token = raw_login(&agent, &base);
    let url = format!("{base}{PATH}");

    for threads in [1, 8] {
        assert_eq!(REQUESTS % threads, 0);
        let mut group = c.benchmark_group(format!("get_2000/{threads}_threads"));
        group
            .throughput(Throughput::Elements(REQUESTS as u64))
            // One round is a fraction of a second: a round per sample.
            .sampling_mode(SamplingMode::Flat)
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(8));
        group.bench_function("authsession Client", |b| {
            b.iter_custom(|iters| rounds(iters, threads, &|| client_get(&client)));
        });
        group.bench_function("raw ureq", |b| {
            b.iter_custom(|iters| rounds(iters, threads, &|| raw_get(&agent, &url, &token)));
        });
        group.finish();
    }
    // The ratio, from rounds taken in pairs, each side's round cut in
    // blocks taken in turn, so that a change of load on a shared machine
    // weighs on both sides alike. On one thread the calls run on this
    // thread, whose CPU time is the client-side cost of a call.
    for threads in [1, 8] {
        let mut ratios = Vec::new();
        let mut cpu_per_call = (Vec::new(), Vec::new());
        for pair in 0..PAIRS {
            let (mut client_side, mut raw_side) = (Side::default(), Side::default());
            for block in 0..REQUESTS / BLOCK {
                let client_block =
                    |side: &mut Side| side.add(BLOCK, threads, &|| client_get(&client));
                let raw_block =
                    |side: &mut Side| side.add(BLOCK, threads, &|| raw_get(&agent, &url, &token));
                if (pair + block) % 2 == 0 {
                    client_block(&mut client_side);
                    raw_block(&mut raw_side);
                } else {
                    raw_block(&mut raw_side);
                    client_block(&mut client_side);
                }
            }
            // Throughput of the Client over throughput of raw ureq.
            ratios.push(raw_side.wall.as_secs_f64() / client_side.wall.as_secs_f64());
            if let (1, Some(client_cpu), Some(raw_cpu)) = (threads, client_side.cpu, raw_side.cpu) {
                let per_call = |cpu: Duration| {
                    cpu.as_secs_f64() * 1e6 / f64::from(u32::try_from(REQUESTS).unwrap())
                };
                cpu_per_call.0.push(per_call(client_cpu));
                cpu_per_call.1.push(per_call(raw_cpu));
            }
        }
        println!(
            "get_2000/{threads}_threads: Client/raw ureq throughput ratio, {PAIRS} paired rounds: {}",
            spread(&mut ratios)
        );
        if !cpu_per_call.0.is_empty() {
            println!(
                "get_2000/1_threads: calling-thread CPU per call, µs: Client {}; raw ureq {}",
                spread(&mut cpu_per_call.0),
                spread(&mut cpu_per_call.1)
            );
        }
    }

    // One login each, and no token ever refused.
    let counters = sandbox.counters();
    assert_eq!(counters.logins, 2);
    assert_eq!(counters.unauthorized, 0);
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench_client
}
criterion_main!(benches);
