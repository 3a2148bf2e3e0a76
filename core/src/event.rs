//! What the session tells its caller about itself, drained with
//! [`Session::poll_event`](crate::Session::poll_event).

use crate::error::Error;
use crate::time::Instant;

/// Why a token stopped being usable.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExpiryReason {
    /// No call for longer than the API's idle timeout (less the margin).
    Idle,
    /// The token's own lifetime (a JWT's `exp`) is over.
    Lifetime,
    /// The server refused the token (`401`).
    Refused,
    /// Step-up failed for good (too many challenges or codes): the API
    /// wants a new login before it steps up again.
    StepUpExhausted,
}

/// Something that happened to the session.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A login succeeded; calls may go. `generation` counts logins.
    LoggedIn {
        /// The new token's generation.
        generation: u64,
    },
    /// The session took a token from a snapshot (another process's login,
    /// through a shared store): calls may go, and no login was sent.
    Restored {
        /// The token's generation, as the process that logged in counted.
        generation: u64,
    },
    /// The token lapsed; the next call that needs one logs in again.
    Expired {
        /// Why.
        why: ExpiryReason,
    },
    /// The credentials were refused. The session will not try again by
    /// itself: a retried bad login can lock the account.
    LoginRejected(&'a Error),
    /// A login failed for a passing reason; another is sent at `until`.
    RetryScheduled {
        /// When the next login goes.
        until: Instant,
        /// How many logins have failed in a row.
        attempt: u32,
    },
    /// A call needs a stepped-up session.
    StepUpRequired,
    /// A one-time code was sent to the user.
    CodeSent,
    /// A push challenge waits for the user's approval.
    AwaitingApproval,
    /// The session passed strong customer authentication.
    SteppedUp,
    /// A step-up request failed; the session's
    /// [`step_up_state`](crate::Session::step_up_state) says what may follow.
    StepUpFailed(&'a Error),
    /// The session is logged out; the token is gone.
    LoggedOut,
    /// Logins failed for passing reasons as many times as the configuration
    /// allows; the session stopped trying. The next call starts again.
    GaveUp(&'a Error),
}
