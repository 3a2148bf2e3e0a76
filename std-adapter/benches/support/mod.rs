//! What both adapter benchmarks measure with: the calling thread's CPU
//! time, and the spread of a sample.

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
