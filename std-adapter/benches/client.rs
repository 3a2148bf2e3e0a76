//! What `Client` costs over a hand-rolled header: 2,000 authenticated
//! `GET`s against the sandbox on loopback through `Client`, side by side
//! with raw `ureq` sending the same requests with `X-Auth-Token` set by hand
//! (after one login of its own), on one thread and on 8 threads sharing one
//! client (and one agent).
//!
//! `cargo bench -p authsession-std --bench client`; the figures of one run
//! and the throughput ratio are in `BENCHMARKS.md` at the root of the
//! repository.
// A failed request is a broken benchmark, which should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_std::Client;
use authsession_std::sandbox::{
    CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Sandbox, SandboxConfig,
};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

/// Requests in one measured round.
const REQUESTS: usize = 2_000;
/// A call that needs the token.
const PATH: &str = "/v2/accounts/current";

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
        if threads == 1 {
            for _ in 0..REQUESTS {
                std::hint::black_box(get());
            }
        } else {
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| {
                        for _ in 0..REQUESTS / threads {
                            std::hint::black_box(get());
                        }
                    });
                }
            });
        }
    }
    started.elapsed()
}

fn bench_client(c: &mut Criterion) {
    let sandbox = Sandbox::start(SandboxConfig {
        // Neither the token nor the login rate limit may get in the way.
        idle_timeout: Duration::from_secs(3600),
        login_rate_limit: 1_000_000,
        ..SandboxConfig::default()
    })
    .unwrap();
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
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
        group.bench_function("authsession Client", |b| {
            b.iter_custom(|iters| rounds(iters, threads, &|| client_get(&client)));
        });
        group.bench_function("raw ureq", |b| {
            b.iter_custom(|iters| rounds(iters, threads, &|| raw_get(&agent, &url, &token)));
        });
        group.finish();
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
