//! Exponential backoff with full jitter: the n-th retry waits a uniformly
//! random time between zero and `min(max, base * 2^(n-1))`, and never less
//! than the server asked for. Full jitter spreads a fleet of clients that
//! failed together (AWS's "Exponential Backoff and Jitter" study). The
//! randomness is a seeded `SplitMix64`, so the same seed gives the same waits.

use core::time::Duration;

use crate::config::Config;
use crate::time::millis_of;

/// The random source of the jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Jitter {
    state: u64,
}

impl Jitter {
    pub(crate) const fn new(seed: u64) -> Self {
        Jitter { state: seed }
    }

    /// The next 64 random bits (`SplitMix64`).
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniformly random duration in `[0, ceiling]`, to the millisecond.
    pub(crate) fn up_to(&mut self, ceiling: Duration) -> Duration {
        let ceiling = millis_of(ceiling);
        let draw = match ceiling.checked_add(1) {
            Some(span) => self.next_u64() % span,
            None => self.next_u64(),
        };
        Duration::from_millis(draw)
    }

    /// How long to wait before retry number `attempt` (1 for the first),
    /// given the wait the server asked for.
    pub(crate) fn retry_delay(
        &mut self,
        config: &Config,
        attempt: u32,
        server_wait: Option<Duration>,
    ) -> Duration {
        let doublings = attempt.saturating_sub(1).min(32);
        let ceiling = config
            .backoff_base
            .saturating_mul(1u32 << doublings.min(31))
            .min(config.backoff_max);
        let jittered = self.up_to(ceiling);
        jittered.max(server_wait.unwrap_or(Duration::ZERO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_stay_under_the_growing_ceiling_and_honour_the_server() {
        let config = Config::default();
        let mut jitter = Jitter::new(7);
        for attempt in 1..=10 {
            let ceiling = config
                .backoff_base
                .saturating_mul(1 << (attempt - 1))
                .min(config.backoff_max);
            for _ in 0..100 {
                assert!(jitter.retry_delay(&config, attempt, None) <= ceiling);
            }
            let asked = Duration::from_secs(90);
            assert!(jitter.retry_delay(&config, attempt, Some(asked)) >= asked);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_waits_and_others_differ() {
        let config = Config::default();
        let draw = |seed| {
            let mut jitter = Jitter::new(seed);
            [1, 2, 3, 4, 5].map(|attempt| jitter.retry_delay(&config, attempt, None))
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn jitter_covers_the_whole_window() {
        let mut jitter = Jitter::new(3);
        let ceiling = Duration::from_secs(1);
        let draws: [Duration; 400] = core::array::from_fn(|_| jitter.up_to(ceiling));
        assert!(draws.iter().any(|d| *d < Duration::from_millis(100)));
        assert!(draws.iter().any(|d| *d > Duration::from_millis(900)));
    }
}
