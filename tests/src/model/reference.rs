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

use core::time::Duration;

use authsession_core::{
    Channel, ExpiryReason, Instant, Level, LoginStep, NotReady, SessionState, StepUpRefused,
    StepUpState,
};

use super::fixture::{
    Facts, LoginMeaning, Meaning, Memory, ReplyMeaning, Req, Setup, StepUpMeaning, Then,
};
use super::input::Code;

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
    fn lapsed(&self, now: Instant) -> Option<ExpiryReason> {
        if self.expires_at.is_some_and(|at| now >= at) {
            Some(ExpiryReason::Lifetime)
        } else if self.idle_deadline.is_some_and(|at| now >= at) {
            Some(ExpiryReason::Idle)
        } else {
            None
        }
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
}

/// An event, as the model expects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ev {
    /// `LoggedIn`.
    LoggedIn(u64),
    /// `Expired`.
    Expired(ExpiryReason),
    /// `LoginRejected`.
    LoginRejected,
    /// `RetryScheduled`, its instant within the bound.
    RetryScheduled {
        /// When.
        until: Bound,
        /// Failures in a row.
        attempt: u32,
    },
    /// `StepUpRequired`.
    StepUpRequired,
    /// `CodeSent`.
    CodeSent,
    /// `AwaitingApproval`.
    AwaitingApproval,
    /// `SteppedUp`.
    SteppedUp,
    /// `StepUpFailed`.
    StepUpFailed,
    /// `LoggedOut`.
    LoggedOut,
    /// `GaveUp`.
    GaveUp,
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

    /// `Session::poll_timeout`, as a bound.
    pub fn poll_timeout(&self) -> Option<Bound> {
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

    /// `login(now)`.
    pub fn login(&mut self, now: Instant, oracle: &dyn Oracle) {
        if matches!(
            self.phase,
            Phase::LoggedOut | Phase::Expired(_) | Phase::Rejected
        ) {
            self.begin_login(now, oracle);
        }
    }

    /// `set_credentials`.
    pub fn set_credentials(&mut self) {
        let had_token = matches!(self.phase, Phase::Active(_) | Phase::LoggingOut);
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
                && let Err(why) = self.check_stepped_up()
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

    fn check_stepped_up(&mut self) -> Result<(), NotReady> {
        let Phase::Active(token) = &mut self.phase else {
            return Err(NotReady::LoggingIn);
        };
        match token.step_up {
            StepUpState::SteppedUp => Ok(()),
            StepUpState::NotNeeded => {
                token.step_up = StepUpState::Needed;
                self.events.push(Ev::StepUpRequired);
                Err(NotReady::StepUpRequired)
            }
            StepUpState::Needed => Err(NotReady::StepUpRequired),
            _ => Err(NotReady::SteppingUp),
        }
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
                // Only a refusal of a call sent under the current token and
                // the current step-up says step-up is needed again.
                if current
                    && step_ups == self.step_ups
                    && let Phase::Active(token) = &mut self.phase
                    && matches!(
                        token.step_up,
                        StepUpState::NotNeeded | StepUpState::SteppedUp
                    )
                {
                    token.step_up = StepUpState::Needed;
                    self.events.push(Ev::StepUpRequired);
                }
                VerdictKind::StepUp
            }
            ReplyMeaning::RateLimited(wait) => {
                VerdictKind::RateLimited(now + wait.unwrap_or(self.setup.config.rate_limit_wait))
            }
            ReplyMeaning::Fatal => VerdictKind::Fatal,
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
            (Req::StartStepUp(channel) | Req::VerifyCode(channel), Meaning::StepUp(meaning)) => {
                self.after_step_up(flight.request, channel, meaning, now);
            }
            _ => self.finish_logout(),
        }
    }

    /// `handle_failure` of the request sent as number `index`.
    pub fn handle_failure(&mut self, index: usize, now: Instant, oracle: &dyn Oracle) {
        let Some(flight) = self.in_flight.filter(|_| self.is_current(index)) else {
            return;
        };
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
            Req::StartStepUp(_) => self.fail_step_up(Then::NewChallenge(None), now),
            Req::VerifyCode(channel) => {
                self.set_step_up(StepUpState::CodeSent(channel));
                self.fail_step_up(Then::RetryCode, now);
            }
            Req::Logout => self.finish_logout(),
        }
    }

    /// `handle_timeout(now)`.
    pub fn handle_timeout(&mut self, now: Instant, oracle: &dyn Oracle) {
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
                self.in_flight = Some(Flight {
                    request: Req::Logout,
                    sent: None,
                });
                self.phase = Phase::LoggingOut;
            }
            _ => self.finish_logout(),
        }
    }

    /// `start_step_up(channel, now)`.
    pub fn start_step_up(&mut self, channel: Channel, now: Instant) -> Result<(), StepUpRefused> {
        if !self.facts.step_up {
            return Err(StepUpRefused::Unsupported);
        }
        let Phase::Active(token) = self.phase else {
            return Err(StepUpRefused::NotLoggedIn);
        };
        if token.lapsed(now).is_some() {
            return Err(StepUpRefused::NotLoggedIn);
        }
        match token.step_up {
            StepUpState::SteppedUp => return Err(StepUpRefused::AlreadySteppedUp),
            StepUpState::Requested(_) | StepUpState::Verifying(_) => {
                return Err(StepUpRefused::InProgress);
            }
            _ if self.in_flight.is_some() => return Err(StepUpRefused::InProgress),
            _ => {}
        }
        if now < self.challenge_not_before {
            return Err(StepUpRefused::TooSoon {
                until: self.challenge_not_before,
            });
        }
        self.in_flight = Some(Flight {
            request: Req::StartStepUp(channel),
            sent: None,
        });
        self.challenge_not_before = now + self.facts.resend_interval;
        self.set_step_up(StepUpState::Requested(channel));
        Ok(())
    }

    /// `submit_code(code, now)`: like every request that carries the
    /// token, refused when the token is known to have lapsed.
    pub fn submit_code(&mut self, code: Code, now: Instant) -> Result<(), StepUpRefused> {
        let StepUpState::CodeSent(channel) = self.step_up_state() else {
            return Err(StepUpRefused::NothingToAnswer);
        };
        if let Code::Malformed(_) = code {
            return Err(StepUpRefused::InvalidCode);
        }
        if self.token_lapsed(now) == Some(true) && !super::known::SUBMIT_CODE_SENDS_A_LAPSED_TOKEN {
            return Err(StepUpRefused::NotLoggedIn);
        }
        self.memory.right_code = code == Code::Right;
        self.in_flight = Some(Flight {
            request: Req::VerifyCode(channel),
            sent: None,
        });
        self.set_step_up(StepUpState::Verifying(channel));
        Ok(())
    }

    /// `report_push_result(approved, now)`.
    pub fn report_push_result(
        &mut self,
        approved: bool,
        now: Instant,
    ) -> Result<(), StepUpRefused> {
        let StepUpState::AwaitingApproval(_) = self.step_up_state() else {
            return Err(StepUpRefused::NothingToAnswer);
        };
        if approved {
            self.stepped_up();
        } else {
            self.fail_step_up(Then::NewChallenge(None), now);
        }
        Ok(())
    }

    // ---- the transitions ----

    /// Whether a backoff still runs at `now` (`now < login_not_before`),
    /// asking the oracle where the bound cannot tell, and narrowing it.
    fn waits(&mut self, now: Instant, oracle: &dyn Oracle) -> bool {
        let bound = &mut self.login_not_before;
        if now < bound.lo {
            return true;
        }
        if now >= bound.hi {
            return false;
        }
        let waits = match oracle.sent_login() {
            Some(sent) => !sent,
            None => now < Instant::from_millis(bound.lo.as_millis() / 2 + bound.hi.as_millis() / 2),
        };
        if waits {
            bound.lo = Instant::from_millis(now.as_millis() + 1);
        } else {
            bound.hi = now;
        }
        waits
    }

    fn idle_deadline(&self, activity: Instant) -> Option<Instant> {
        let margin = self.setup.config.expiry_margin;
        self.facts
            .idle_timeout
            .map(|idle| activity + idle.saturating_sub(margin))
    }

    fn begin_login(&mut self, now: Instant, oracle: &dyn Oracle) {
        let failures = match self.phase {
            Phase::Waiting { failures } => failures,
            _ => 0,
        };
        self.in_flight = None;
        if self.waits(now, oracle) {
            self.phase = Phase::Waiting { failures };
        } else {
            self.queue_login(0, failures, now);
        }
    }

    fn queue_login(&mut self, step: u8, failures: u32, now: Instant) {
        self.in_flight = Some(Flight {
            request: Req::Login(step),
            sent: None,
        });
        let progress = Progress {
            step,
            failures,
            sent_at: now,
        };
        match &mut self.phase {
            Phase::Active(token) => token.refresh = Some(progress),
            phase => *phase = Phase::LoggingIn(progress),
        }
    }

    /// Expires a lapsed token, or starts its refresh when it is due.
    fn check_token(&mut self, now: Instant, oracle: &dyn Oracle) {
        let Phase::Active(token) = self.phase else {
            return;
        };
        if let Some(why) = token.lapsed(now) {
            self.expire(why);
            return;
        }
        let (Some(refresh_at), None, None) = (token.refresh_at, token.refresh, self.in_flight)
        else {
            return;
        };
        let lnb = self.login_not_before;
        let definitely = now >= refresh_at.hi && now >= lnb.hi;
        let definitely_not = now < refresh_at.lo || now < lnb.lo;
        let due = if definitely {
            true
        } else if definitely_not {
            false
        } else {
            let sent = oracle
                .sent_login()
                .unwrap_or(now.as_millis() >= refresh_at.hi.as_millis().max(lnb.hi.as_millis()));
            if let Phase::Active(token) = &mut self.phase {
                if sent {
                    token.refresh_at = Some(Bound {
                        hi: refresh_at.hi.min(now),
                        ..refresh_at
                    });
                    self.login_not_before.hi = lnb.hi.min(now);
                } else if now >= lnb.hi {
                    token.refresh_at = Some(Bound {
                        lo: refresh_at.lo.max(Instant::from_millis(now.as_millis() + 1)),
                        ..refresh_at
                    });
                } else if now >= refresh_at.hi {
                    self.login_not_before.lo =
                        lnb.lo.max(Instant::from_millis(now.as_millis() + 1));
                }
            }
            sent
        };
        if due {
            self.queue_login(0, token.refresh_failures, now);
        }
    }

    fn after_login_step(&mut self, meaning: LoginMeaning, now: Instant, oracle: &dyn Oracle) {
        let (Phase::LoggingIn(progress)
        | Phase::Active(Token {
            refresh: Some(progress),
            ..
        })) = self.phase
        else {
            return;
        };
        let _ = oracle;
        match meaning {
            LoginMeaning::Next(step) => self.queue_login(step, progress.failures, now),
            LoginMeaning::LoggedIn {
                stepped_up,
                lifetime,
                expires_unix,
            } => self.activate(stepped_up, lifetime, expires_unix, progress.sent_at),
            LoginMeaning::Rejected => {
                self.in_flight = None;
                self.phase = Phase::Rejected;
                self.events.push(Ev::LoginRejected);
            }
            LoginMeaning::Retry { wait, rate_limited } => {
                self.retry_later(progress, wait, rate_limited, now);
            }
        }
    }

    fn activate(
        &mut self,
        stepped_up: bool,
        lifetime: Option<Duration>,
        expires_unix: Option<u64>,
        sent_at: Instant,
    ) {
        let config = self.setup.config;
        let lifetime = lifetime.or_else(|| {
            let sent_unix = config.unix_time_at_zero? + sent_at.as_millis() / 1000;
            expires_unix?
                .checked_sub(sent_unix)
                .map(Duration::from_secs)
        });
        let mut token = Token {
            idle_deadline: self.idle_deadline(sent_at),
            expires_at: None,
            refresh_at: None,
            refresh: None,
            refresh_failures: 0,
            step_up: if stepped_up {
                StepUpState::SteppedUp
            } else {
                StepUpState::NotNeeded
            },
        };
        if let Some(lifetime) = lifetime {
            // The margin and the refresh are at most a twentieth and a
            // tenth of the life; the refresh is spread over a window as
            // wide as its margin (Config's documentation).
            let margin = config.expiry_margin.min(lifetime / 20);
            let expires_at = sent_at + lifetime.saturating_sub(margin);
            token.expires_at = Some(expires_at);
            let ahead = config.refresh_ahead.min(lifetime / 10);
            if !ahead.is_zero() {
                token.refresh_at = Some(Bound {
                    lo: expires_at.saturating_sub(ahead * 2).max(sent_at),
                    hi: expires_at.saturating_sub(ahead).max(sent_at),
                });
            }
        }
        self.generation += 1;
        self.phase = Phase::Active(token);
        self.events.push(Ev::LoggedIn(self.generation));
    }

    /// A passing failure: exponential backoff with full jitter, never
    /// less than the server asked for; give up after the configured tries.
    fn retry_later(
        &mut self,
        progress: Progress,
        wait: Option<Duration>,
        rate_limited: bool,
        now: Instant,
    ) {
        let config = self.setup.config;
        let attempt = progress.failures.saturating_add(1);
        let server_wait = wait.or(rate_limited.then_some(config.rate_limit_wait));
        let doublings = attempt.saturating_sub(1).min(31);
        let ceiling = config
            .backoff_base
            .saturating_mul(1u32 << doublings)
            .min(config.backoff_max);
        let floor = server_wait.unwrap_or(Duration::ZERO);
        let until = Bound {
            lo: now + floor,
            hi: now + ceiling.max(floor),
        };
        self.login_not_before = until;
        let gave_up = attempt >= config.max_attempts;
        match &mut self.phase {
            Phase::Active(token) => {
                token.refresh = None;
                token.refresh_failures = attempt;
                token.refresh_at = (!gave_up).then_some(until);
            }
            phase if gave_up => *phase = Phase::LoggedOut,
            phase => *phase = Phase::Waiting { failures: attempt },
        }
        self.events.push(if gave_up {
            Ev::GaveUp
        } else {
            Ev::RetryScheduled { until, attempt }
        });
    }

    /// The token lapsed; a refresh in flight carries on as the login.
    fn expire(&mut self, why: ExpiryReason) {
        let refresh = match self.phase {
            Phase::Active(token) => token.refresh,
            _ => None,
        };
        if let Some(progress) = refresh {
            self.phase = Phase::LoggingIn(progress);
        } else {
            self.in_flight = None;
            self.phase = Phase::Expired(why);
        }
        self.events.push(Ev::Expired(why));
    }

    fn finish_logout(&mut self) {
        self.in_flight = None;
        self.phase = Phase::LoggedOut;
        self.events.push(Ev::LoggedOut);
    }

    fn stepped_up(&mut self) {
        self.step_ups += 1;
        self.set_step_up(StepUpState::SteppedUp);
        self.events.push(Ev::SteppedUp);
    }

    fn set_step_up(&mut self, step_up: StepUpState) {
        if let Phase::Active(token) = &mut self.phase {
            token.step_up = step_up;
        }
    }

    fn after_step_up(
        &mut self,
        request: Req,
        channel: Channel,
        meaning: StepUpMeaning,
        now: Instant,
    ) {
        if matches!(
            meaning,
            StepUpMeaning::CodeSent | StepUpMeaning::AwaitingApproval
        ) {
            // The server counts its pause between challenges from the one
            // it saw, which may be later than when ours was queued.
            let pause_ends = now + self.facts.resend_interval;
            self.challenge_not_before = self.challenge_not_before.max(pause_ends);
        }
        match meaning {
            StepUpMeaning::CodeSent => {
                self.set_step_up(StepUpState::CodeSent(channel));
                self.events.push(Ev::CodeSent);
            }
            StepUpMeaning::AwaitingApproval => {
                self.set_step_up(StepUpState::AwaitingApproval(channel));
                self.events.push(Ev::AwaitingApproval);
            }
            StepUpMeaning::SteppedUp => self.stepped_up(),
            StepUpMeaning::Failed(then) => {
                // A code that was never sent cannot be typed again.
                let then = match (then, request) {
                    (Then::RetryCode, Req::StartStepUp(_)) => Then::NewChallenge(None),
                    _ => then,
                };
                if then == Then::RetryCode {
                    self.set_step_up(StepUpState::CodeSent(channel));
                }
                self.fail_step_up(then, now);
            }
        }
    }

    fn fail_step_up(&mut self, then: Then, now: Instant) {
        self.events.push(Ev::StepUpFailed);
        match then {
            Then::RetryCode => {}
            Then::NewChallenge(wait) => {
                self.set_step_up(StepUpState::Needed);
                if let Some(wait) = wait {
                    self.challenge_not_before = self.challenge_not_before.max(now + wait);
                }
            }
            Then::LogInAgain => {
                if matches!(self.phase, Phase::Active(_)) {
                    self.expire(ExpiryReason::StepUpExhausted);
                }
            }
        }
    }
}
