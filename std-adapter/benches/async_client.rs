//! What `AsyncClient` and `SessionMiddleware` cost over a hand-rolled
//! header: 2,048 authenticated `GET`s against the sandbox on loopback per
//! round, on a multi-threaded tokio runtime (tokio's default of one worker
//! per core), spread over 1 task or over 64 tasks at once, through
//!
//! - `AsyncClient::get`,
//! - raw `reqwest`: a client built as `AsyncClient` builds its own, with
//!   `X-Auth-Token` set by hand from a token of one login of its own, the
//!   whole body read into memory,
//! - `SessionMiddleware` on a `ClientWithMiddleware` over
//!   `AsyncClient::reqwest_client()`, sharing the `AsyncClient`'s session,
//!   the body read into memory likewise.
//!
//! Criterion times each side on its own; at the end the benchmark prints
//! the throughput ratios (each side over raw `reqwest`) of rounds taken in
//! turn, which a shared machine's changing load skews less, and the CPU
//! time of the runtime's threads per call (the client's side of a call:
//! the sandbox serves on a runtime of its own).
//!
//! No login is measured: the `AsyncClient` logs in before the first round
//! and the raw side's token is taken then too; the sandbox's counters are
//! checked at the end (two logins in all, no token refused).
//!
//! `cargo bench -p authsession-std --features tokio --bench async_client`;
//! the figures of one run are in `BENCHMARKS.md` at the root of the
//! repository.
// A failed request is a broken benchmark, which should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Its `thread_cpu` reads the calling thread; an async call's work is done
// on the runtime's threads, which this benchmark reads itself.
#[allow(dead_code)]
mod support;

mod async_sides;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_sides::{Sides, WAYS, Way};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use support::{median_interval, spread};
use tokio::runtime::Runtime;

/// Requests in one measured round (a multiple of every task count).
const REQUESTS: usize = 2_048;
/// Concurrent tasks the calls of a round are spread over.
const TASKS: [usize; 2] = [1, 64];
/// Rounds behind the printed throughput ratios, for `tasks` tasks: enough
/// for the interval of their median to be a few points wide on a shared
/// 2-vCPU machine (one task's rounds are seven times as long, and spread
/// more).
fn pairs(tasks: usize) -> usize {
    if tasks == 1 { 31 } else { 61 }
}

/// Requests per block of a paired round, for `tasks` tasks: each side's
/// round is cut in blocks taken in turn with the other sides'. One task's
/// pace changes from one moment to the next by a factor of up to five on
/// this machine (how the runtime's and the sandbox's threads happen to
/// meet on the two cores), so its blocks are short; 64 tasks' are long
/// enough that their start and end weigh little.
fn block(tasks: usize) -> usize {
    if tasks == 1 { 64 } else { 512 }
}

/// Makes `requests` calls the `way` given, spread over `tasks` tasks of
/// the runtime, and waits for the last.
async fn calls(sides: &Arc<Sides>, way: Way, requests: usize, tasks: usize) {
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let sides = Arc::clone(sides);
        running.spawn(async move {
            for _ in 0..requests / tasks {
                std::hint::black_box(sides.get(way).await);
            }
        });
    }
    while let Some(done) = running.join_next().await {
        done.unwrap();
    }
}

/// Runs `iters` rounds of [`REQUESTS`] calls and returns the time they
/// took.
fn rounds(runtime: &Runtime, sides: &Arc<Sides>, way: Way, tasks: usize, iters: u64) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        runtime.block_on(calls(sides, way, REQUESTS, tasks));
    }
    started.elapsed()
}

/// The runtime's threads, as each one's `schedstat` file, noted by each
/// thread as it starts.
#[derive(Clone, Default)]
struct RuntimeThreads(Arc<Mutex<Vec<PathBuf>>>);

impl RuntimeThreads {
    /// Notes the calling thread.
    fn note_this_thread(&self) {
        // `/proc/thread-self` links to `<pid>/task/<tid>`.
        if let Ok(link) = std::fs::read_link("/proc/thread-self") {
            let stat = Path::new("/proc").join(link).join("schedstat");
            self.0.lock().unwrap().push(stat);
        }
    }

    /// The CPU time each live thread has had (Linux; empty elsewhere).
    fn cpu(&self) -> HashMap<PathBuf, Duration> {
        let threads = self.0.lock().unwrap().clone();
        threads
            .into_iter()
            .filter_map(|stat| {
                let text = std::fs::read_to_string(&stat).ok()?;
                let nanos = text.split_whitespace().next()?.parse().ok()?;
                Some((stat, Duration::from_nanos(nanos)))
            })
            .collect()
    }

    /// The CPU time the runtime's threads had since `before` (a thread
    /// that ended meanwhile is not counted).
    fn cpu_since(&self, before: &HashMap<PathBuf, Duration>) -> Duration {
        self.cpu()
            .iter()
            .map(|(stat, now)| now.saturating_sub(before.get(stat).copied().unwrap_or_default()))
            .sum()
    }
}

/// Time and runtime CPU time of one side of a paired round.
#[derive(Clone, Copy, Default)]
struct Tally {
    wall: Duration,
    cpu: Duration,
}

/// Prints the throughput ratios of [`pairs`] rounds on `tasks` tasks,
/// taken together: each side's round cut in blocks taken in turn (the
/// order rotating), so that a change of load on a shared machine weighs on
/// every side alike; and the runtime's CPU time per call of each side.
fn paired_rounds(runtime: &Runtime, sides: &Arc<Sides>, threads: &RuntimeThreads, tasks: usize) {
    let mut ratios = (Vec::new(), Vec::new());
    let mut cpu_per_call: [Vec<f64>; 3] = Default::default();
    let pairs = pairs(tasks);
    for pair in 0..pairs {
        let mut tallies = [Tally::default(); 3];
        for block_index in 0..REQUESTS / block(tasks) {
            for turn in 0..WAYS.len() {
                let at = (pair + block_index + turn) % WAYS.len();
                let (cpu, started) = (threads.cpu(), Instant::now());
                runtime.block_on(calls(sides, WAYS[at], block(tasks), tasks));
                tallies[at].wall += started.elapsed();
                tallies[at].cpu += threads.cpu_since(&cpu);
            }
        }
        let [client_side, raw_side, middleware_side] = tallies;
        // Throughput of a side over throughput of raw reqwest.
        ratios
            .0
            .push(raw_side.wall.as_secs_f64() / client_side.wall.as_secs_f64());
        ratios
            .1
            .push(raw_side.wall.as_secs_f64() / middleware_side.wall.as_secs_f64());
        for (per_call, tally) in cpu_per_call.iter_mut().zip(tallies) {
            per_call
                .push(tally.cpu.as_secs_f64() * 1e6 / f64::from(u32::try_from(REQUESTS).unwrap()));
        }
    }
    for (side, ratios) in [
        ("AsyncClient", &mut ratios.0),
        ("SessionMiddleware", &mut ratios.1),
    ] {
        println!(
            "async_get_2048/{tasks}_tasks: {side}/raw reqwest throughput ratio, {pairs} paired rounds: {}; {}",
            median_interval(ratios),
            spread(ratios)
        );
    }
    let [client_cpu, raw_cpu, middleware_cpu] = &mut cpu_per_call;
    println!(
        "async_get_2048/{tasks}_tasks: runtime threads' CPU per call, µs: AsyncClient {}; raw reqwest {}; SessionMiddleware {}",
        spread(client_cpu),
        spread(raw_cpu),
        spread(middleware_cpu)
    );
}

fn bench_async_client(c: &mut Criterion) {
    let sandbox = support::quiet_sandbox();
    let base = sandbox.currencycloud_url();

    let threads = RuntimeThreads::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start({
            let threads = threads.clone();
            move || threads.note_this_thread()
        })
        .build()
        .unwrap();

    let sides = Arc::new(runtime.block_on(Sides::start(&base)));
    // The two logins, before anything is measured.
    assert_eq!(sandbox.counters().logins, 2);

    for tasks in TASKS {
        assert_eq!(REQUESTS % block(tasks), 0);
        assert_eq!(block(tasks) % tasks, 0);
        let mut group = c.benchmark_group(format!("async_get_2048/{tasks}_tasks"));
        group
            .throughput(Throughput::Elements(REQUESTS as u64))
            // One round is a fraction of a second: a round per sample.
            .sampling_mode(SamplingMode::Flat)
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(8));
        for way in WAYS {
            group.bench_function(way.name(), |b| {
                b.iter_custom(|iters| rounds(&runtime, &sides, way, tasks, iters));
            });
        }
        group.finish();
    }

    for tasks in TASKS {
        paired_rounds(&runtime, &sides, &threads, tasks);
    }

    // Still the two logins of the start (the middleware shares the
    // AsyncClient's session): none while measuring, no token refused.
    let counters = sandbox.counters();
    assert_eq!(counters.logins, 2);
    assert_eq!(counters.unauthorized, 0);
    assert_eq!(counters.rate_limited, 0);
    assert_eq!(sides.client.generation(), 1);
    println!(
        "sandbox: {} logins, {} refused tokens, {} calls answered",
        counters.logins, counters.unauthorized, counters.calls
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench_async_client
}
criterion_main!(benches);
