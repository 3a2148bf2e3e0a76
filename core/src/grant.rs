//! What the session answers about application calls: whether a call may go
//! (a [`Grant`] with its headers and [`Ticket`]), why not ([`NotReady`]),
//! and what its response means for the session ([`Verdict`]).

use crate::error::Error;
use crate::time::Instant;
use crate::transmit::Headers;

/// What an application call needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// The account's own credentials only (Weavr's `api-key`); no login.
    Account,
    /// A logged-in user's token.
    User,
    /// A token that has passed strong customer authentication.
    SteppedUp,
}

/// The receipt of a grant: which token generation and level a call was sent
/// under, so that its answer is judged against the right session. A `401`
/// for an old generation never causes a second login.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket {
    pub(crate) generation: u64,
    pub(crate) level: Level,
    /// How many step-ups the session had passed when the call was sent, so
    /// that a late `STEP_UP_REQUIRED` for a call sent before the current
    /// step-up does not undo it.
    pub(crate) step_ups: u64,
}

impl Ticket {
    /// The login generation the call was authorized under.
    pub const fn generation(&self) -> u64 {
        self.generation
    }

    /// The level the call was authorized at.
    pub const fn level(&self) -> Level {
        self.level
    }
}

/// Permission to send one application call: add `headers` to it, send it,
/// and hand its response with `ticket` to
/// [`Session::handle_reply`](crate::Session::handle_reply).
#[derive(Debug)]
pub struct Grant<'a> {
    /// The headers to add (the token among them: never log their values;
    /// [`HeaderValue`](crate::HeaderValue)'s `Debug` redacts them).
    pub headers: Headers<'a>,
    /// The receipt to hand back with the response.
    pub ticket: Ticket,
}

/// Why a call cannot go yet. The session has already queued what is needed
/// (a login, say): drain its outputs and ask again when an event says the
/// situation changed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotReady {
    /// A login is in flight.
    LoggingIn,
    /// A login failed for a passing reason; the next try is at `until`.
    Backoff {
        /// When the next login will be sent.
        until: Instant,
    },
    /// The call needs a stepped-up session; start the step-up.
    StepUpRequired,
    /// A step-up is in progress.
    SteppingUp,
    /// The credentials were refused. Nothing happens until new credentials
    /// or an explicit [`Session::login`](crate::Session::login).
    Rejected,
    /// A logout is in flight.
    LoggingOut,
    /// The provider cannot authorize calls at this level.
    Unsupported,
}

/// What an application response means for the session.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing for the session: hand the response to the application.
    Ok,
    /// The token was refused. The session is logging in again (once, for
    /// every call that saw the refusal); send the call once more when it is
    /// ready. A call refused twice should be given up.
    Replay,
    /// The call needs a stepped-up session.
    StepUp,
    /// The server asked us to slow down; do not resend before `until`.
    RateLimited {
        /// The earliest instant to send again.
        until: Instant,
    },
    /// The call cannot succeed (the account's own key was refused, say).
    Fatal(Error),
}
