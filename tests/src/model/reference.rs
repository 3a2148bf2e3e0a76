//! The reference model of a session: `shared/DESIGN.md`'s states and
//! transitions, written out plainly, with the provider's table
//! ([`Fixture`](super::Fixture)) saying what each answer means.
//!
//! The model does not draw random numbers. Where the session may choose
//! (the jittered wait of a backoff, the spread of a refresh), the model
//! keeps the range the design allows, a [`Bound`]; the checker verifies the
//! session's choice is in it and then narrows the bound to it. Where a
//! decision depends on such a choice that the session has not shown yet,
//! an [`Oracle`] says which way it went (from what the session did in the
//! same step), and the model narrows the bound accordingly.
//!
//! The login cycle (backoff, tokens, their expiry and refresh) is in
//! [`login`](super::login), the step-up half (its tables of refusals,
//! answers and their effects, and the log the prompt is read from) in
//! [`step_up`](super::step_up).

use authsession_core::{
    ExpiryReason, Instant, Level, LoginStep, NotReady, SessionState, StepUpState,
};

use super::fixture::{Facts, LoginMeaning, Meaning, Memory, ReplyMeaning, Req, Setup};
use super::step_up::{StepUpEvent, StepUpLog};

/// An instant known to lie in `lo..=hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The earliest it can be.
    pub lo: Instant,
    /// The latest it can be.
    pub hi: Instant,
}

impl Bound {
    /// A known instant.
    pub const fn exact(at: Instant) -> Self {
        Bound { lo: at, hi: at }
    }

    /// Whether `at` may be it.
    pub fn contains(&self, at: Instant) -> bool {
        self.lo <= at && at <= self.hi
    }

    /// The earlier of two bounds.
    #[must_use]
    pub fn min(self, other: Bound) -> Bound {
        Bound {
            lo: self.lo.min(other.lo),
            hi: self.hi.min(other.hi),
        }
    }
}

/// Which way the session went where the model cannot tell by itself.
pub trait Oracle {
    /// Whether the session sent a login in the current step, if known.
    fn sent_login(&self) -> Option<bool>;
}

/// The oracle of a model that only generates inputs: it guesses.
#[derive(Clone, Copy, Debug)]
pub struct Guess;

impl Oracle for Guess {
    fn sent_login(&self) -> Option<bool> {
        None
    }
}

/// A login in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The step in flight.
    pub step: u8,
    /// Failed logins in a row before it.
    pub failures: u32,
    /// When the step was queued: a token's life counts from here.
    pub sent_at: Instant,
}

/// The token of an active session and its timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// Idle from here (less the margin).
    pub idle_deadline: Option<Instant>,
    /// Lapsed from here (less the margin).
    pub expires_at: Option<Instant>,
    /// The refresh login starts here.
    pub refresh_at: Option<Bound>,
    /// The refresh login in flight.
    pub refresh: Option<Progress>,
    /// Failed refreshes in a row.
    pub refresh_failures: u32,
    /// Step-up of the token.
    pub step_up: StepUpState,
}

impl Token {
    /// Why the token has lapsed by `now`, if it has: its deadline is the
    /// instant it lapses at, not the last instant it serves. When both its
    /// own lifetime and its idle time are over, the lifetime is named.
    pub(super) fn lapsed(&self, now: Instant) -> Option<ExpiryReason> {
        let ends = [
            (self.expires_at, ExpiryReason::Lifetime),
            (self.idle_deadline, ExpiryReason::Idle),
        ];
        ends.into_iter()
            .find(|(end, _)| end.is_some_and(|end| end <= now))
            .map(|(_, why)| why)
    }
}

/// The session's state, as the design names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// No token.
    LoggedOut,
    /// A login step in flight.
    LoggingIn(Progress),
    /// A token.
    Active(Token),
    /// The token lapsed.
    Expired(ExpiryReason),
    /// Backing off until `login_not_before`.
    Waiting {
        /// Failed logins in a row.
        failures: u32,
    },
    /// The credentials were refused.
    Rejected,
    /// The logout in flight.
    LoggingOut,
}

/// The session's one request in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flight {
    /// Which request.
    pub request: Req,
    /// Its index among all the requests the session sent, once sent.
    pub sent: Option<usize>,
    /// Unanswered by then, it fails at the next `handle_timeout`
    /// (invariant 13): queued at plus the request timeout.
    pub deadline: Instant,
}

/// An event, as the model expects it: the login cycle's, each as the
/// design names it, and the step-up's, grouped as the sub-state of
/// `Active` they belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ev {
    /// `LoggedIn` with the new generation.
    LoggedIn(u64),
    /// `RetryScheduled`: a passing failure, its instant within the bound.
    RetryScheduled {
        /// When.
        until: Bound,
        /// Failures in a row.
        attempt: u32,
    },
    /// `GaveUp` after the configured attempts.
    GaveUp,
    /// `LoginRejected`: the credentials (or the token given) are refused.
    LoginRejected,
    /// `Expired` for this reason.
    Expired(ExpiryReason),
    /// `LoggedOut`.
    LoggedOut,
    /// One of the step-up's events.
    StepUp(StepUpEvent),
}

/// What `handle_reply` should answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerdictKind {
    /// `Verdict::Ok`.
    Ok,
    /// `Verdict::Replay`.
    Replay,
    /// `Verdict::StepUp`.
    StepUp,
    /// `Verdict::RateLimited` until then.
    RateLimited(Instant),
    /// `Verdict::Fatal`.
    Fatal,
}

/// What `authorize` should answer: a grant under a generation, or why not
/// (`Backoff`'s instant as a bound).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authorized {
    /// A grant whose ticket carries this generation and step-up count.
    Granted(u64, u64),
    /// Not ready.
    NotReady(NotReady),
    /// Backing off until an instant in the bound.
    Backoff(Bound),
}

/// The reference model of a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    /// How the session was set up.
    pub setup: Setup,
    /// The provider's facts.
    pub facts: Facts,
    /// The state.
    pub phase: Phase,
    /// Successful logins so far.
    pub generation: u64,
    /// Successful step-ups so far: a call's ticket carries the count, so
    /// that a step-up refusal of a call sent before the last step-up does
    /// not undo it.
    pub step_ups: u64,
    /// The request in flight.
    pub in_flight: Option<Flight>,
    /// Requests sent so far.
    pub sent_count: usize,
    /// No login goes before this.
    pub login_not_before: Bound,
    /// No step-up challenge is asked for before this.
    pub challenge_not_before: Instant,
    /// The provider's memory.
    pub memory: Memory,
    /// What the step-up in progress has been through.
    pub step_up_log: StepUpLog,
    /// The code the user typed last.
    pub last_code: Option<&'static str>,
    /// The events of the current step.
    pub events: Vec<Ev>,
}

impl Model {
    /// A logged-out session.
    pub fn new(setup: Setup, facts: Facts) -> Self {
        Model {
            setup,
            facts,
            phase: Phase::LoggedOut,
            generation: 0,
            step_ups: 0,
            in_flight: None,
            sent_count: 0,
            login_not_before: Bound::exact(Instant::ZERO),
            challenge_not_before: Instant::ZERO,
            memory: Memory::default(),
            step_up_log: StepUpLog::default(),
            last_code: None,
            events: Vec::new(),
        }
    }

    // ---- what the caller can see ----

    /// `Session::state`, with a backoff's instant as a bound.
    pub fn state(&self) -> (SessionState, Option<Bound>) {
        match self.phase {
            Phase::LoggedOut => (SessionState::LoggedOut, None),
            Phase::LoggingIn(progress) => (
                SessionState::LoggingIn {
                    step: LoginStep(progress.step),
                },
                None,
            ),
            Phase::Active(Token {
                refresh: Some(progress),
                ..
            }) => (
                SessionState::Refreshing {
                    step: LoginStep(progress.step),
                },
                None,
            ),
            Phase::Active(_) => (SessionState::Active, None),
            Phase::Expired(why) => (SessionState::Expired { why }, None),
            Phase::Waiting { failures } => (
                SessionState::Waiting {
                    until: self.login_not_before.lo,
                    attempt: failures,
                },
                Some(self.login_not_before),
            ),
            Phase::Rejected => (SessionState::Rejected, None),
            Phase::LoggingOut => (SessionState::LoggingOut, None),
        }
    }

    /// `Session::step_up_state`.
    pub fn step_up_state(&self) -> StepUpState {
        match self.phase {
            Phase::Active(token) => token.step_up,
            _ => StepUpState::NotNeeded,
        }
    }

    /// `Session::poll_timeout`, as a bound: the state's timer or the
    /// deadline of the request in flight, whichever comes first.
    pub fn poll_timeout(&self) -> Option<Bound> {
        let deadline = self.in_flight.map(|flight| Bound::exact(flight.deadline));
        [self.state_timer(), deadline]
            .into_iter()
            .flatten()
            .reduce(Bound::min)
    }

    fn state_timer(&self) -> Option<Bound> {
        match self.phase {
            Phase::Waiting { .. } => Some(self.login_not_before),
            Phase::Active(token) => {
                let refresh_at = token.refresh_at.filter(|_| token.refresh.is_none());
                [
                    token.idle_deadline.map(Bound::exact),
                    token.expires_at.map(Bound::exact),
                    refresh_at,
                ]
                .into_iter()
                .flatten()
                .reduce(Bound::min)
            }
            _ => None,
        }
    }

    /// Whether the token was known to have lapsed at `now`; `None` without
    /// a token.
    pub fn token_lapsed(&self, now: Instant) -> Option<bool> {
        match self.phase {
            Phase::Active(token) => Some(token.lapsed(now).is_some()),
            _ => None,
        }
    }

    /// The current token's idle deadline and expiry, if active.
    pub fn token(&self) -> Option<Token> {
        match self.phase {
            Phase::Active(token) => Some(token),
            _ => None,
        }
    }

    // ---- learning what the session chose ----

    /// The session's backoff wait ends at `until`, which the checker saw
    /// in the allowed bound.
    pub fn learn_wait(&mut self, until: Instant) {
        let old = self.login_not_before;
        self.login_not_before = Bound::exact(until);
        if let Phase::Active(token) = &mut self.phase
            && token.refresh_at == Some(old)
        {
            token.refresh_at = Some(Bound::exact(until));
        }
    }

    /// The session's next timer is at `at`, which the checker saw in the
    /// allowed bound: a refresh instant it was the only unknown of is known.
    pub fn learn_timeout(&mut self, at: Instant) {
        if let Phase::Active(token) = &mut self.phase
            && token.refresh.is_none()
            && let Some(refresh_at) = token.refresh_at
            && refresh_at.lo != refresh_at.hi
            && token.idle_deadline.is_none_or(|idle| at < idle)
            && token.expires_at.is_none_or(|expiry| at < expiry)
        {
            token.refresh_at = Some(Bound::exact(at));
        }
    }

    // ---- the step's outputs ----

    /// Starts a step: no events yet.
    pub fn begin_step(&mut self) {
        self.events.clear();
    }

    /// Ends a step: the request the caller drains, if one was queued and
    /// not replaced since.
    pub fn end_step(&mut self) -> Option<Req> {
        let flight = self.in_flight.as_mut().filter(|f| f.sent.is_none())?;
        flight.sent = Some(self.sent_count);
        self.sent_count += 1;
        Some(flight.request)
    }

    // ---- inputs ----

    /// `login(now)`: the caller asks, so any backoff ends and a new cycle
    /// starts with no failures counted.
    pub fn login(&mut self, now: Instant, oracle: &dyn Oracle) {
        if matches!(
            self.phase,
            Phase::LoggedOut | Phase::Expired(_) | Phase::Rejected | Phase::Waiting { .. }
        ) {
            self.login_not_before = Bound::exact(Instant::ZERO);
            self.phase = Phase::LoggedOut;
            self.begin_login(now, oracle);
        }
    }

    /// `set_credentials`: the token, the request in flight and any backoff
    /// are forgotten.
    pub fn set_credentials(&mut self) {
        let had_token = matches!(self.phase, Phase::Active(_) | Phase::LoggingOut);
        self.login_not_before = Bound::exact(Instant::ZERO);
        self.step_up_log = StepUpLog::default();
        self.in_flight = None;
        self.phase = Phase::LoggedOut;
        if had_token {
            self.events.push(Ev::LoggedOut);
        }
    }

    /// `authorize(level, now)`.
    pub fn authorize(&mut self, level: Level, now: Instant, oracle: &dyn Oracle) -> Authorized {
        if level == Level::SteppedUp && !self.facts.step_up {
            return Authorized::NotReady(NotReady::Unsupported);
        }
        if level != Level::Account {
            if let Err(why) = self.make_ready(now, oracle) {
                return why;
            }
            if level == Level::SteppedUp
                && let Err(why) = self.stepped_up_or_why()
            {
                return Authorized::NotReady(why);
            }
            let idle_deadline = self.idle_deadline(now);
            if let Phase::Active(token) = &mut self.phase {
                token.idle_deadline = idle_deadline;
            }
        }
        Authorized::Granted(self.generation, self.step_ups)
    }

    fn make_ready(&mut self, now: Instant, oracle: &dyn Oracle) -> Result<(), Authorized> {
        self.check_token(now, oracle);
        let start = match self.phase {
            Phase::Active(_) => return Ok(()),
            Phase::LoggedOut | Phase::Expired(_) => true,
            // The wait is over even if the timer was not handled yet.
            Phase::Waiting { .. } => !self.waits(now, oracle),
            _ => false,
        };
        if start {
            self.begin_login(now, oracle);
        }
        Err(match self.phase {
            Phase::Waiting { .. } => Authorized::Backoff(self.login_not_before),
            Phase::Rejected => Authorized::NotReady(NotReady::Rejected),
            Phase::LoggingOut => Authorized::NotReady(NotReady::LoggingOut),
            _ => Authorized::NotReady(NotReady::LoggingIn),
        })
    }

    /// `handle_reply` of a call whose ticket carries `generation` and
    /// `step_ups`.
    pub fn handle_reply(
        &mut self,
        (generation, step_ups): (u64, u64),
        meaning: ReplyMeaning,
        now: Instant,
        oracle: &dyn Oracle,
    ) -> VerdictKind {
        let current = generation == self.generation;
        match meaning {
            ReplyMeaning::Fine => VerdictKind::Ok,
            ReplyMeaning::TokenRefused => {
                // One login for a burst: only the first refusal of the
                // current token ends it (invariant 4).
                if current && matches!(self.phase, Phase::Active(_)) {
                    self.expire(ExpiryReason::Refused);
                    // A refresh in flight is the login (invariant 1).
                    if !matches!(self.phase, Phase::LoggingIn(_))
                        || super::known::SECOND_LOGIN_WHEN_A_REFRESHED_TOKEN_IS_REFUSED
                    {
                        self.begin_login(now, oracle);
                    }
                }
                VerdictKind::Replay
            }
            ReplyMeaning::StepUpRequired => {
                self.server_asks_for_step_up((generation, step_ups));
                VerdictKind::StepUp
            }
            ReplyMeaning::RateLimited(wait) => {
                let config = self.setup.config;
                let wait = wait.map_or(config.rate_limit_wait, |wait| {
                    wait.min(config.max_retry_after)
                });
                VerdictKind::RateLimited(now + wait)
            }
            // A payment's SCA is the call's business (invariant 12).
            ReplyMeaning::Fatal | ReplyMeaning::PaymentSca => VerdictKind::Fatal,
        }
    }

    /// Whether the request sent as number `index` is the one in flight.
    pub fn is_current(&self, index: usize) -> bool {
        self.in_flight.is_some_and(|f| f.sent == Some(index))
    }

    /// `handle_response` to the request sent as number `index`, which
    /// `meaning` answers; the provider then remembers `memory`.
    pub fn handle_response(
        &mut self,
        index: usize,
        meaning: Meaning,
        memory: Memory,
        now: Instant,
        oracle: &dyn Oracle,
    ) {
        // A late, repeated or stale answer changes nothing (invariant 5).
        let Some(flight) = self.in_flight.filter(|_| self.is_current(index)) else {
            return;
        };
        self.in_flight = None;
        match (flight.request, meaning) {
            (Req::Login(_), Meaning::Login(meaning)) => {
                self.memory.login_identity = memory.login_identity;
                self.after_login_step(meaning, now, oracle);
            }
            (Req::StartStepUp(_) | Req::VerifyCode(_), Meaning::StepUp(meaning)) => {
                self.step_up_answered(flight.request, Some(meaning), now);
            }
            _ => self.finish_logout(),
        }
    }

    /// `handle_failure` of the request sent as number `index`.
    pub fn handle_failure(&mut self, index: usize, now: Instant, oracle: &dyn Oracle) {
        let Some(flight) = self.in_flight.filter(|_| self.is_current(index)) else {
            return;
        };
        self.fail_flight(flight, now, oracle);
    }

    /// The request in flight failed (no answer, or none in time).
    fn fail_flight(&mut self, flight: Flight, now: Instant, oracle: &dyn Oracle) {
        self.in_flight = None;
        match flight.request {
            Req::Login(_) => self.after_login_step(
                LoginMeaning::Retry {
                    wait: None,
                    rate_limited: false,
                },
                now,
                oracle,
            ),
            Req::StartStepUp(_) | Req::VerifyCode(_) => {
                self.step_up_answered(flight.request, None, now);
            }
            Req::Logout => self.finish_logout(),
        }
    }

    /// `handle_timeout(now)`: a request unanswered past its deadline fails
    /// first (invariant 13), then the state's own timer.
    pub fn handle_timeout(&mut self, now: Instant, oracle: &dyn Oracle) {
        if let Some(flight) = self.in_flight
            && now >= flight.deadline
        {
            self.fail_flight(flight, now, oracle);
        }
        match self.phase {
            Phase::Waiting { failures } => {
                let over = !self.waits(now, oracle);
                if over {
                    self.queue_login(0, failures, now);
                }
            }
            Phase::Active(_) => self.check_token(now, oracle),
            _ => {}
        }
    }

    /// `logout(now)`: a lapsed token is forgotten, never sent.
    pub fn logout(&mut self, now: Instant) {
        match self.phase {
            Phase::Rejected | Phase::LoggingOut => {}
            Phase::Active(token) if token.lapsed(now).is_none() && self.facts.has_logout => {
                self.queue(Req::Logout, now);
                self.phase = Phase::LoggingOut;
            }
            _ => self.finish_logout(),
        }
    }

    /// Makes `request` the one in flight, with its deadline.
    pub(super) fn queue(&mut self, request: Req, now: Instant) {
        self.in_flight = Some(Flight {
            request,
            sent: None,
            deadline: now + self.setup.config.request_timeout,
        });
    }

    pub(super) fn finish_logout(&mut self) {
        self.in_flight = None;
        self.step_up_log = StepUpLog::default();
        self.phase = Phase::LoggedOut;
        self.events.push(Ev::LoggedOut);
    }
}
