//! What a session store costs a client (issue 14), against a real
//! `redis-server` started on a free loopback port and the sandbox:
//!
//! - the hot path: 2,000 `Client::get` calls through a client that shares
//!   its session through a `RedisStore`, side by side with a client
//!   without a store. A call with a token the client holds asks the store
//!   nothing but `touch`, at most once per tenth of the idle timeout
//!   (Currencycloud's 30 minutes: 3 minutes, so at most once in a run).
//!   The benchmark counts the commands Redis served meanwhile.
//! - the first call of a new process: a new client (a new `RedisStore` on
//!   the same Redis, the same seal key) whose first call takes up the
//!   stored session without a login, against a new client without a store
//!   whose first call logs in. The sandbox's counters check that the
//!   store's side never logs in. A new `RedisStore`'s first read alone
//!   (a connection and one script) is timed beside them.
//!
//! Criterion times each side on its own; at the end the benchmark prints
//! ratios from rounds taken in pairs, which a shared machine's changing
//! load skews less.
//!
//! `cargo bench -p authsession-std --features redis-store --bench store`
//! (`redis-server` must be on `PATH`); the figures of two runs are in
//! `BENCHMARKS.md` at the root of the repository.
// A failed request is a broken benchmark, which should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../../tests/src/redis_server.rs"]
mod redis_server;

mod support;

use std::time::{Duration, Instant};

use authsession_core::Provider;
use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Sandbox, SandboxConfig};
use authsession_std::Client;
use authsession_std::store::{RedisStore, SealKey, SessionStore, StoreKey};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use redis_server::{RedisServer, Resp};
use support::{spread, thread_cpu};

/// The fleet's seal key (any 32 bytes).
const KEY: &str = "5f2b8c1e9d4a7b3c6e0f1a2d3c4b5a6978695a4b3c2d1e0f9e8d7c6b5a493827";
/// The fleet's logins a minute.
const BUDGET: u32 = 10;
/// Requests in one measured round of the hot path.
const REQUESTS: usize = 2_000;
/// A call that needs the token.
const PATH: &str = "/v2/accounts/current";
/// Paired rounds of the hot path behind the printed ratio.
const PAIRS: usize = 15;
/// Requests per block of a paired round: each side's round is ten blocks,
/// taken in turn with the other side's.
const BLOCK: usize = 200;
/// First calls of each side behind the printed paired figures.
const FIRST_CALL_PAIRS: usize = 200;

fn credentials() -> CurrencycloudCredentials {
    CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY).unwrap()
}

/// A client without a store (Currencycloud's idle timeout, 30 minutes).
fn plain_client(base: &str) -> Client<Currencycloud> {
    Client::builder(Currencycloud::default(), credentials())
        .base_url(base)
        .build()
        .unwrap()
}

/// A client sharing its session through a new `RedisStore` on `redis`,
/// as a new process of the fleet builds it.
fn stored_client(base: &str, redis: &str) -> Client<Currencycloud> {
    Client::builder(Currencycloud::default(), credentials())
        .base_url(base)
        .store(
            RedisStore::open(redis).unwrap(),
            SealKey::from_hex(KEY).unwrap(),
        )
        .logins_per_minute(BUDGET)
        .build()
        .unwrap()
}

fn client_get(client: &Client<Currencycloud>) -> usize {
    let response = client.get(PATH).unwrap();
    assert_eq!(response.status(), 200);
    response.body().len()
}

/// What Redis has served, from `INFO commandstats` (our `INFO`s left out).
#[derive(Clone, Copy)]
struct Served {
    /// `EVAL`s: every operation of `RedisStore` on these paths is one
    /// script, one round trip.
    scripts: u64,
    /// Every command, the ones the scripts ran included.
    commands: u64,
}

impl Served {
    fn now(redis: &RedisServer) -> Self {
        let Resp::Bulk(Some(info)) = redis.command(&["INFO", "commandstats"]) else {
            panic!("INFO commandstats gave no bulk string");
        };
        let mut served = Served {
            scripts: 0,
            commands: 0,
        };
        for line in String::from_utf8_lossy(&info).lines() {
            let Some((name, stats)) = line
                .strip_prefix("cmdstat_")
                .and_then(|line| line.split_once(":calls="))
            else {
                continue;
            };
            let calls: u64 = stats.split(',').next().unwrap().parse().unwrap();
            if name != "info" {
                served.commands += calls;
            }
            if name == "eval" || name == "evalsha" {
                served.scripts += calls;
            }
        }
        served
    }

    fn since(self, before: Self) -> Self {
        Served {
            scripts: self.scripts - before.scripts,
            commands: self.commands - before.commands,
        }
    }
}

/// Runs `iters` rounds of [`REQUESTS`] calls of `get` and returns the
/// time they took.
fn rounds(iters: u64, get: &impl Fn() -> usize) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        for _ in 0..REQUESTS {
            std::hint::black_box(get());
        }
    }
    started.elapsed()
}

/// The time of `iters` first calls of new clients made by `new`; the
/// clients are dropped (the one without a store logs out) outside it.
fn first_calls(iters: u64, new: &impl Fn() -> Client<Currencycloud>) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (elapsed, client) = first_call(new);
        total += elapsed;
        drop(client);
    }
    total
}

/// Builds a client with `new` and makes its first call: the time both
/// took, and the client.
fn first_call(new: &impl Fn() -> Client<Currencycloud>) -> (Duration, Client<Currencycloud>) {
    let started = Instant::now();
    let client = new();
    std::hint::black_box(client_get(&client));
    (started.elapsed(), client)
}

/// Time and calling-thread CPU time of one side of a pair.
#[derive(Default)]
struct Side {
    wall: Duration,
    cpu: Option<Duration>,
}

impl Side {
    fn add(&mut self, requests: usize, get: &impl Fn() -> usize) {
        let (cpu, started) = (thread_cpu(), Instant::now());
        for _ in 0..requests {
            std::hint::black_box(get());
        }
        self.wall += started.elapsed();
        self.cpu = match (self.cpu.or(Some(Duration::ZERO)), cpu, thread_cpu()) {
            (Some(total), Some(before), Some(after)) => Some(total + after.saturating_sub(before)),
            _ => None,
        };
    }
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// The Redis and the sandbox the clients share.
struct Setup {
    redis: RedisServer,
    redis_url: String,
    sandbox: Sandbox,
    base: String,
}

fn bench_store(c: &mut Criterion) {
    let redis = RedisServer::start();
    let redis_url = redis.url();
    let sandbox = Sandbox::start(SandboxConfig {
        // The clients without a store log in on every first call; the
        // idle timeout is Currencycloud's, 30 minutes.
        login_rate_limit: 1_000_000,
        ..SandboxConfig::default()
    })
    .unwrap();
    let base = sandbox.currencycloud_url();
    let setup = Setup {
        redis,
        redis_url,
        sandbox,
        base,
    };

    // Each client logs in on its first call, the one with the store
    // through the store (lock, budget, sealed snapshot).
    let plain = plain_client(&setup.base);
    let stored = stored_client(&setup.base, &setup.redis_url);
    client_get(&plain);
    client_get(&stored);
    assert_eq!(setup.sandbox.counters().logins, 2);

    hot_path(c, &setup, &plain, &stored);
    assert_eq!(setup.sandbox.counters().logins, 2);
    first_call_of_a_process(c, &setup);

    let counters = setup.sandbox.counters();
    println!(
        "sandbox: {} logins, {} logouts, {} calls, {} unauthorized",
        counters.logins, counters.logouts, counters.calls, counters.unauthorized
    );
    assert_eq!(counters.unauthorized, 0);
    assert_eq!(counters.rate_limited, 0);
    // Every login but the stored client's was closed on its client's drop.
    drop(plain);
    drop(stored);
    let counters = setup.sandbox.counters();
    assert_eq!(counters.logouts, counters.logins - 1);
}

/// (a) 2,000 calls with a token held, with the store and without.
fn hot_path(
    c: &mut Criterion,
    setup: &Setup,
    plain: &Client<Currencycloud>,
    stored: &Client<Currencycloud>,
) {
    let (served_before, started) = (Served::now(&setup.redis), Instant::now());
    let mut group = c.benchmark_group("hot_path_2000");
    group
        .throughput(Throughput::Elements(REQUESTS as u64))
        // One round is a fraction of a second: a round per sample.
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    group.bench_function("without a store", |b| {
        b.iter_custom(|iters| rounds(iters, &|| client_get(plain)));
    });
    group.bench_function("RedisStore", |b| {
        b.iter_custom(|iters| rounds(iters, &|| client_get(stored)));
    });
    group.finish();

    // Rounds in pairs, each side's round cut in blocks taken in turn, so
    // that a change of load weighs on both sides alike.
    let mut ratios = Vec::new();
    let mut cpu_per_call = (Vec::new(), Vec::new());
    for pair in 0..PAIRS {
        let (mut plain_side, mut stored_side) = (Side::default(), Side::default());
        for block in 0..REQUESTS / BLOCK {
            if (pair + block) % 2 == 0 {
                stored_side.add(BLOCK, &|| client_get(stored));
                plain_side.add(BLOCK, &|| client_get(plain));
            } else {
                plain_side.add(BLOCK, &|| client_get(plain));
                stored_side.add(BLOCK, &|| client_get(stored));
            }
        }
        // Throughput with the store over throughput without.
        ratios.push(plain_side.wall.as_secs_f64() / stored_side.wall.as_secs_f64());
        if let (Some(stored_cpu), Some(plain_cpu)) = (stored_side.cpu, plain_side.cpu) {
            let per_call =
                |cpu: Duration| micros(cpu) / f64::from(u32::try_from(REQUESTS).unwrap());
            cpu_per_call.0.push(per_call(stored_cpu));
            cpu_per_call.1.push(per_call(plain_cpu));
        }
    }
    let elapsed = started.elapsed();
    let served = Served::now(&setup.redis).since(served_before);
    println!(
        "hot_path_2000: RedisStore/without throughput ratio, {PAIRS} paired rounds: {}",
        spread(&mut ratios)
    );
    if !cpu_per_call.0.is_empty() {
        println!(
            "hot_path_2000: calling-thread CPU per call, µs: RedisStore {}; without {}",
            spread(&mut cpu_per_call.0),
            spread(&mut cpu_per_call.1)
        );
    }
    println!(
        "hot_path_2000: Redis served {} scripts ({} commands in all) in {:.1} s of hot path",
        served.scripts,
        served.commands,
        elapsed.as_secs_f64()
    );
    // At most one touch per tenth of the idle timeout (3 minutes), and
    // nothing else: a touch is one script that runs a GET and a SET.
    let touch_every = Duration::from_secs(30 * 60 / 10);
    let allowed = 1 + elapsed.as_secs() / touch_every.as_secs();
    assert!(
        served.scripts <= allowed && served.commands <= 3 * served.scripts,
        "the hot path sent {} scripts, {} commands to Redis (at most {allowed} touches allowed)",
        served.scripts,
        served.commands
    );
}

/// (b) A new client's first call: it takes up the stored session, or it
/// logs in.
fn first_call_of_a_process(c: &mut Criterion, setup: &Setup) {
    let new_plain = || plain_client(&setup.base);
    let new_stored = || stored_client(&setup.base, &setup.redis_url);
    let logins = || setup.sandbox.counters().logins;
    let mut group = c.benchmark_group("first_call");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(50);
    let logins_before = logins();
    group.bench_function("new client, RedisStore (restores)", |b| {
        b.iter_custom(|iters| first_calls(iters, &new_stored));
    });
    // No client with the store logged in.
    assert_eq!(logins(), logins_before);
    group.bench_function("new client, without a store (logs in)", |b| {
        b.iter_custom(|iters| first_calls(iters, &new_plain));
    });
    // What the store's side spends in Redis before its call: a new
    // connection and the read of the stored session, one script.
    let key = StoreKey::new(Currencycloud::NAME, &setup.base, CURRENCYCLOUD_LOGIN_ID);
    assert!(
        RedisStore::open(&setup.redis_url)
            .unwrap()
            .read(&key)
            .unwrap()
            .snapshot
            .is_some(),
        "no stored session under {key}"
    );
    group.bench_function("new RedisStore, its first read", |b| {
        b.iter(|| {
            let store = RedisStore::open(&setup.redis_url).unwrap();
            std::hint::black_box(store.read(&key).unwrap());
        });
    });
    group.finish();

    // Paired: one new client of each side in turn; the Redis scripts of
    // the store's side counted around each of its first calls.
    let (mut plain_times, mut stored_times, mut scripts) = (Vec::new(), Vec::new(), Vec::new());
    let logins_before = logins();
    let stored_turn = |stored_times: &mut Vec<f64>, scripts: &mut Vec<f64>| {
        let before = Served::now(&setup.redis);
        let (elapsed, client) = first_call(&new_stored);
        stored_times.push(micros(elapsed));
        let sent = Served::now(&setup.redis).since(before).scripts;
        scripts.push(f64::from(u32::try_from(sent).unwrap()));
        // A client with a store does not log out on its drop.
        drop(client);
    };
    let plain_turn = |plain_times: &mut Vec<f64>| {
        let (elapsed, client) = first_call(&new_plain);
        plain_times.push(micros(elapsed));
        drop(client);
    };
    for pair in 0..FIRST_CALL_PAIRS {
        if pair % 2 == 0 {
            stored_turn(&mut stored_times, &mut scripts);
            plain_turn(&mut plain_times);
        } else {
            plain_turn(&mut plain_times);
            stored_turn(&mut stored_times, &mut scripts);
        }
    }
    let paired_logins = logins() - logins_before;
    let mut ratios: Vec<f64> = stored_times
        .iter()
        .zip(&plain_times)
        .map(|(stored, plain)| stored / plain)
        .collect();
    println!(
        "first_call: {FIRST_CALL_PAIRS} paired first calls, µs: RedisStore {}; without {}",
        spread(&mut stored_times),
        spread(&mut plain_times)
    );
    println!(
        "first_call: RedisStore/without time ratio, paired: {}",
        spread(&mut ratios)
    );
    println!(
        "first_call: Redis scripts (round trips) per first call with the store: {}",
        spread(&mut scripts)
    );
    println!("first_call: {paired_logins} logins in {FIRST_CALL_PAIRS} pairs");
    // Each client without a store logged in once, each with it never.
    assert_eq!(paired_logins, FIRST_CALL_PAIRS as u64);
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench_store
}
criterion_main!(benches);
