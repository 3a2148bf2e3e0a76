//! The session's states, in one place: the table the rest of the session
//! moves through, the timers of an active token (its refresh included), and
//! the throttles that outlive a state. These are `DESIGN.md`'s states,
//! with its `Refreshing` kept where it lives: a login in flight inside
//! `Active`, while the token serves.
//!
//! ```text
//!                  login(), or a call that needs a token
//!   LoggedOut ──────────────────────────────────────────► LoggingIn { step }
//!     ▲   ▲                                                 │  ▲  │  │  │
//!     │   │ gave up after max_attempts ─────────────────────┘  │  │  │  │ next step
//!     │   │                                  at `until`        │  │  │  └─► LoggingIn
//!     │   │                          Waiting { until } ────────┘  │  │
//!     │   │                                  ▲                    │  │
//!     │   │  a passing failure, no answer in time, a token that   │  │
//!     │   │  lapses on arrival ──────────────┘◄───────────────────┘  │
//!     │   │                                                          │
//!     │   │  refused, a token that cannot be used:  Rejected ◄───────┤
//!     │   │  nothing happens by itself; login() ──► LoggingIn        │
//!     │   │                                                          │ last step ok
//!     │   LoggingOut ◄── logout() ── Active ◄────────────────────────┘
//!     │   (answered, failed or        │  ▲ a refresh login while the token serves:
//!     │    past its deadline:         │  └ ok → Active (next generation);
//!     │    → LoggedOut)               │    failed → Active, retried with backoff;
//!     │                               │    the token lapses meanwhile → LoggingIn
//!     │      idle, `exp`, a 401 of this token, step-up exhausted
//!     │                               ▼
//!     │                        Expired { why } ── a call that needs a token,
//!     │                                           login() ──► LoggingIn
//!     └── set_credentials(), from any state
//! ```
//!
//! A refresh is a login in flight while `Active`: `TokenTimes::refresh`.
//! If the token lapses meanwhile, the refresh carries on as the session's
//! `LoggingIn`, so that no second login is sent (invariant 1).

use crate::event::ExpiryReason;
use crate::provider::{Channel, LoginStep};
use crate::time::Instant;

/// The state of a session, as the caller may inspect it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// No token, no login in flight.
    LoggedOut,
    /// A login step is in flight.
    LoggingIn {
        /// Which step.
        step: LoginStep,
    },
    /// A token is held and usable.
    Active,
    /// A token is held and usable, and a login that will replace it ahead
    /// of its end is in flight (this step of it).
    Refreshing {
        /// Which step.
        step: LoginStep,
    },
    /// The token lapsed; the next call that needs one logs in.
    Expired {
        /// Why.
        why: ExpiryReason,
    },
    /// A login failed for a passing reason; the next goes at `until`.
    Waiting {
        /// When.
        until: Instant,
        /// Failed logins in a row so far.
        attempt: u32,
    },
    /// The credentials were refused; nothing happens by itself.
    Rejected,
    /// The logout request is in flight.
    LoggingOut,
}

/// Where the session stands with strong customer authentication. A new
/// token starts at `NotNeeded` (or `SteppedUp` if the API says so).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepUpState {
    /// No call has needed step-up yet.
    NotNeeded,
    /// A call needs step-up; none has been started.
    Needed,
    /// A challenge was asked for on this channel.
    Requested(Channel),
    /// A code was sent; [`Session::submit_code`](crate::Session::submit_code) it.
    CodeSent(Channel),
    /// The code is being checked.
    Verifying(Channel),
    /// A push challenge waits for the user; report it with
    /// [`Session::report_push_result`](crate::Session::report_push_result).
    AwaitingApproval(Channel),
    /// The token is stepped up.
    SteppedUp,
}

/// A login in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct LoginProgress {
    pub(super) step: LoginStep,
    /// Failed logins in a row before this one.
    pub(super) failures: u32,
    /// When this step was queued: the token's life is counted from here.
    pub(super) sent_at: Instant,
}

/// What the session knows about its token while it is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TokenTimes {
    /// The token is treated as idle-expired from here on; every authorized
    /// call moves it.
    pub(super) idle_deadline: Option<Instant>,
    /// The token's own lifetime (less the margin) ends here.
    pub(super) expires_at: Option<Instant>,
    /// A new login starts here, while this token keeps serving.
    pub(super) refresh_at: Option<Instant>,
    /// The refresh login in flight, if any.
    pub(super) refresh: Option<LoginProgress>,
    /// Refresh logins that failed in a row.
    pub(super) refresh_failures: u32,
    /// Strong customer authentication of this token.
    pub(super) step_up: StepUpState,
}

impl TokenTimes {
    pub(super) fn lapsed(&self, now: Instant) -> Option<ExpiryReason> {
        if self.expires_at.is_some_and(|at| now >= at) {
            Some(ExpiryReason::Lifetime)
        } else if self.idle_deadline.is_some_and(|at| now >= at) {
            Some(ExpiryReason::Idle)
        } else {
            None
        }
    }

    /// Whether a refresh login is due and none is in flight.
    pub(super) fn refresh_due(&self, now: Instant) -> bool {
        self.refresh.is_none() && self.refresh_at.is_some_and(|at| now >= at)
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let refresh_at = self.refresh_at.filter(|_| self.refresh.is_none());
        [self.idle_deadline, self.expires_at, refresh_at]
            .into_iter()
            .flatten()
            .min()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    LoggedOut,
    LoggingIn(LoginProgress),
    Active(TokenTimes),
    Expired(ExpiryReason),
    Waiting { until: Instant, failures: u32 },
    Rejected,
    LoggingOut,
}

impl State {
    /// The state as the caller may inspect it.
    pub(super) fn public(self) -> SessionState {
        match self {
            State::LoggedOut => SessionState::LoggedOut,
            State::LoggingIn(progress) => SessionState::LoggingIn {
                step: progress.step,
            },
            State::Active(TokenTimes {
                refresh: Some(progress),
                ..
            }) => SessionState::Refreshing {
                step: progress.step,
            },
            State::Active(_) => SessionState::Active,
            State::Expired(why) => SessionState::Expired { why },
            State::Waiting { until, failures } => SessionState::Waiting {
                until,
                attempt: failures,
            },
            State::Rejected => SessionState::Rejected,
            State::LoggingOut => SessionState::LoggingOut,
        }
    }
}

/// The instants before which the session sends nothing of a kind, whatever
/// its state: they outlive give-ups and new login cycles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Throttles {
    /// No login is sent before this instant: what the server asked for is
    /// honoured (invariant 6), up to `Config::max_retry_after`.
    pub(super) login_not_before: Instant,
    /// No step-up challenge is asked for before this instant.
    pub(super) challenge_not_before: Instant,
}
