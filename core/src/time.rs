//! The caller's monotonic clock. The core never reads a clock of its own:
//! every input carries the caller's `now`, so the session is deterministic
//! and testable with any time source (`std::time::Instant`, a hardware timer).

use core::time::Duration;

/// A point on the caller's monotonic clock, in milliseconds from an origin
/// the caller chooses (program start, boot).
///
/// Only differences between instants matter; wall-clock time is never needed.
///
/// ```
/// use authsession_core::Instant;
/// use core::time::Duration;
///
/// let start = Instant::from_millis(1_000);
/// let later = start + Duration::from_secs(2);
/// assert_eq!(later.as_millis(), 3_000);
/// assert_eq!(later.saturating_duration_since(start), Duration::from_secs(2));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The clock's origin.
    pub const ZERO: Instant = Instant(0);

    /// The instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis)
    }

    /// Milliseconds since the origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + duration`, saturating at the end of time rather than wrapping.
    #[must_use]
    pub fn saturating_add(self, duration: Duration) -> Self {
        Instant(self.0.saturating_add(millis_of(duration)))
    }

    /// `self - duration`, saturating at the origin.
    #[must_use]
    pub fn saturating_sub(self, duration: Duration) -> Self {
        Instant(self.0.saturating_sub(millis_of(duration)))
    }

    /// How long after `earlier` this instant is; zero if it is not after it.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, duration: Duration) -> Instant {
        self.saturating_add(duration)
    }
}

/// Whole milliseconds of a duration, saturating: a duration too long for
/// `u64` milliseconds (half a billion years) is as good as forever.
pub(crate) fn millis_of(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
