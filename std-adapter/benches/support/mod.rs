//! What the adapter benchmarks measure with: the calling thread's CPU
//! time, the spread of a sample, and a sandbox that stays out of the way.

use std::time::Duration;

/// The CPU time this thread has had, from Linux's `schedstat` (no `unsafe`
/// needed); `None` elsewhere.
pub fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Quartiles and range of `values`, sorted in place.
pub fn spread(values: &mut [f64]) -> String {
    values.sort_by(f64::total_cmp);
    let at = |q: usize| values[(values.len() - 1) * q / 4];
    format!(
        "median {:.3}, quartiles {:.3}-{:.3}, range {:.3}-{:.3}",
        at(2),
        at(1),
        at(3),
        at(0),
        at(4)
    )
}

/// The 95 % confidence interval of the median of `values`, sorted in
/// place: the order statistics around the middle that bound it whatever
/// the distribution (ranks n/2 ∓ 0.98·√n, the normal approximation of the
/// binomial).
#[allow(dead_code)] // Only the async benchmark pairs enough rounds for it.
pub fn median_interval(values: &mut [f64]) -> String {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    // 0.98·√n rounded up: the least r with r² ≥ 0.9604·n.
    let reach = (0..=n).find(|r| r * r * 10_000 >= 9_604 * n).unwrap_or(n);
    format!(
        "median {:.3}, 95 % interval of the median {:.3}-{:.3}",
        values[(n - 1) / 2],
        values[(n / 2).saturating_sub(reach)],
        values[(n / 2 + reach).min(n - 1)],
    )
}

/// A sandbox on loopback whose tokens and login rate limit never get in
/// the way of a measurement.
#[allow(dead_code)] // The store benchmark wants Currencycloud's own idle timeout.
pub fn quiet_sandbox() -> authsession_sandbox::Sandbox {
    authsession_sandbox::Sandbox::start(authsession_sandbox::SandboxConfig {
        idle_timeout: Duration::from_secs(3600),
        login_rate_limit: 1_000_000,
        ..authsession_sandbox::SandboxConfig::default()
    })
    .expect("the sandbox starts")
}
