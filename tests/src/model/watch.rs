//! Invariants 1 to 13 of `shared/DESIGN.md`, checked after every step
//! against what the session emitted: its requests, grants, events,
//! answers, timers and printed forms. The [`Watch`] keeps only what the
//! checks need (which logins are on the wire, which tokens are alive, how
//! many logins since the caller last acted, which codes the server refused
//! for the current challenge, when the next challenge may be asked for,
//! what must never be printed); what the reference model knows is used
//! only for the deadlines of the token (invariant 3), the range of a
//! backoff (invariant 6) and which request is in flight (invariant 13),
//! all computed from the design's formulas.

use core::time::Duration;
use std::collections::{BTreeMap, BTreeSet};

use authsession_core::{Instant, Level};

use super::fixture::Req;
use super::reference::Token;

/// A request of the session, as the watch records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wire {
    /// Its index among the session's requests.
    pub index: usize,
    /// Which request.
    pub request: Req,
    /// Every header value, whole (prefix and value).
    pub header_values: Vec<(String, Vec<u8>)>,
    /// The token it carries, if any.
    pub token: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// A grant, as the watch records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Granted {
    /// The level asked for.
    pub level: Level,
    /// Every header value, whole.
    pub header_values: Vec<(String, Vec<u8>)>,
    /// The token it carries, if any.
    pub token: Option<String>,
}

/// The bounds of the session's config that the invariants need.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Logins in a row before the session gives up.
    pub max_attempts: u32,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Duration,
    /// The wait after a bare `429`.
    pub rate_limit_wait: Duration,
    /// The ceiling of the backoff.
    pub backoff_max: Duration,
    /// The API's least time between two step-up challenges
    /// (`PROVIDERS.md`: "a new code only 15 s after the last").
    pub resend_interval: Duration,
}

impl Limits {
    /// The wait the session must honour for what the server asked.
    fn honoured(&self, asked: ServerWait) -> Option<Duration> {
        asked
            .retry_after
            .map(|wait| wait.min(self.max_retry_after))
            .or(asked.rate_limited.then_some(self.rate_limit_wait))
    }

    /// The longest wait the session may ever show (invariant 10).
    fn longest_wait(&self) -> Duration {
        self.backoff_max
            .max(self.max_retry_after)
            .max(self.rate_limit_wait)
    }
}

/// What a server asked of a login's retry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerWait {
    /// Its `Retry-After`, as read.
    pub retry_after: Option<Duration>,
    /// Whether it was a `429`.
    pub rate_limited: bool,
}

/// What one step did, for the invariants.
#[derive(Clone, Debug, Default)]
#[allow(clippy::struct_excessive_bools)] // One flag per thing a step may do.
pub struct StepReport {
    /// The instant of the step.
    pub now: Instant,
    /// Whether the step gave the session an instant (every input but a
    /// plain wait and `set_credentials`).
    pub told_now: bool,
    /// The caller called `login()` or `set_credentials()`.
    pub caller_asked_login: bool,
    /// The input was the caller's own (a call, a login or logout, new
    /// credentials, a step-up action), not time or a server's answer.
    pub caller_action: bool,
    /// The caller ended any backoff (`set_credentials`, or `login()` where
    /// it starts a login).
    pub backoff_reset: bool,
    /// The caller called `logout()` or `set_credentials()`: logins and
    /// the token it abandons are no longer the session's.
    pub caller_reset: bool,
    /// The step answered or failed the request of this index.
    pub answered: Option<usize>,
    /// The generation of the ticket of an application reply in this step,
    /// and whether the reply refused the token.
    pub reply: Option<(u64, bool)>,
    /// What the server asked of the retry, in an answer to the login in
    /// flight in this step.
    pub server_wait: Option<ServerWait>,
    /// The step answered an application call with a `401` about a
    /// payment's SCA.
    pub payment_sca: bool,
    /// The step answered this verify request with a refusal of its code.
    pub code_refused: Option<usize>,
    /// `handle_timeout` was called in this step.
    pub handled_timeout: bool,
    /// Requests whose deadline passed at this step's `handle_timeout`.
    pub timed_out: Vec<usize>,
    /// Every wait the session showed in this step (its state's, a
    /// backoff's, a rate limit's).
    pub waits: Vec<Instant>,
    /// The session's timer after the step.
    pub timer: Option<Instant>,
    /// The deadline of the session's request in flight after the step.
    pub in_flight_deadline: Option<Instant>,
    /// The requests the session sent.
    pub sent: Vec<Wire>,
    /// The grants it gave.
    pub grants: Vec<Granted>,
    /// The events, as `Debug` prints them, with their kind.
    pub events: Vec<(EventKind, String)>,
    /// Every other string the step printed (`Debug` of the session, errors'
    /// `Display`, refusals, verdicts).
    pub printed: Vec<String>,
    /// A token handed out in this step, and whether it is a login step's
    /// intermediate token (Weavr's auth token) rather than the session's.
    pub issued: Option<(String, bool)>,
    /// A one-time code typed in this step.
    pub code: Option<String>,
}

/// An event kind the watch cares about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `LoggedIn`.
    LoggedIn,
    /// `Expired`.
    Expired,
    /// `LoginRejected`.
    LoginRejected,
    /// `RetryScheduled` until then.
    RetryScheduled(Instant),
    /// `GaveUp`.
    GaveUp,
    /// `LoggedOut`.
    LoggedOut,
    /// `CodeSent`: a new challenge.
    CodeSent,
    /// `AwaitingApproval`: a new push challenge.
    AwaitingApproval,
    /// `StepUpFailed`.
    StepUpFailed,
    /// Anything else.
    Other,
}

/// The invariants' memory across steps.
#[derive(Clone, Debug, Default)]
pub struct Watch {
    /// What must never be printed: credentials, tokens, codes.
    secrets: BTreeSet<String>,
    /// Logins on the wire: sent, not answered, not abandoned by the caller.
    logins_on_the_wire: BTreeSet<usize>,
    /// A login was refused and the caller has not asked again since.
    rejected: bool,
    /// Logins started by a refused token, per generation of the ticket.
    logins_per_refused_generation: BTreeMap<u64, u32>,
    /// No login may leave before this instant.
    login_not_before: Option<Instant>,
    /// The token the session may use now.
    current_token: Option<String>,
    /// The intermediate token of the login in progress.
    login_token: Option<String>,
    /// Tokens never to be sent again (lapsed, replaced, logged out).
    dead_tokens: BTreeSet<String>,
    /// The latest instant the session was told.
    known_now: Instant,
    /// The config's bounds.
    limits: Limits,
    /// Logins (first steps) sent since the caller last acted or a login
    /// succeeded.
    logins_since_caller: u32,
    /// The code each verify request carried.
    verified_codes: BTreeMap<usize, String>,
    /// The codes the server refused for the current challenge.
    refused_codes: BTreeSet<String>,
    /// No step-up challenge may be asked for before this instant: the
    /// resend interval after the last one asked for, or the last one the
    /// server said went out.
    challenge_not_before: Instant,
}

impl Watch {
    /// A watch over a session whose credentials hold `secrets`, set up
    /// with `limits`.
    pub fn new(secrets: Vec<String>, limits: Limits) -> Self {
        Watch {
            secrets: secrets.into_iter().collect(),
            limits,
            ..Watch::default()
        }
    }

    /// Adds a string that must never be printed.
    pub fn add_secret(&mut self, secret: &str) {
        if secret.len() >= 6 {
            self.secrets.insert(secret.to_owned());
        }
    }

    /// Checks one step. `token` is the reference model's view of the
    /// session's token after the step (for its deadlines); `backoff` is the
    /// allowed range of the scheduled retry's wait, if one was scheduled.
    pub fn check(
        &mut self,
        step: &StepReport,
        token_before: Option<Token>,
        backoff_ceiling: Option<core::time::Duration>,
    ) {
        if step.told_now {
            self.known_now = self.known_now.max(step.now);
        }
        if let Some((token, _)) = &step.issued {
            self.add_secret(token);
        }
        if let Some(code) = &step.code {
            self.add_secret(code);
        }
        // The caller's own resets.
        if step.caller_asked_login {
            self.rejected = false;
        }
        if step.backoff_reset {
            self.login_not_before = None;
        }
        if step.caller_action {
            self.logins_since_caller = 0;
        }
        if step.caller_reset {
            self.logins_on_the_wire.clear();
        }
        if let Some(index) = step.answered {
            self.logins_on_the_wire.remove(&index);
        }
        for index in &step.timed_out {
            self.logins_on_the_wire.remove(index);
        }
        // An intermediate token (Weavr's auth token) is good for the next
        // steps of its own login only.
        if let Some((token, true)) = &step.issued {
            self.login_token = Some(token.clone());
        }
        // Invariant 10: once refused (credentials or token), nothing is
        // sent until the caller asks.
        assert!(
            !self.rejected || step.sent.is_empty(),
            "invariant 10: {:?} sent after a refused login, the caller not asking",
            step.sent
                .iter()
                .map(|wire| wire.request)
                .collect::<Vec<_>>()
        );
        self.check_requests(step, token_before);
        self.check_grants(step, token_before);
        self.check_events(step, backoff_ceiling);
        self.check_waits(step);
        Self::check_payment_sca(step);
        Self::check_deadline(step);
        self.check_printed(step);
    }

    fn check_requests(&mut self, step: &StepReport, token_before: Option<Token>) {
        for wire in &step.sent {
            check_header_values(&wire.header_values);
            match wire.request {
                Req::Login(n) => {
                    // Invariant 1.
                    if super::known::SECOND_LOGIN_WHEN_A_REFRESHED_TOKEN_IS_REFUSED
                        && matches!(step.reply, Some((_, true)))
                    {
                        // Tolerated (finding 1): the refresh is abandoned.
                        self.logins_on_the_wire.clear();
                    }
                    self.logins_on_the_wire.insert(wire.index);
                    assert!(
                        self.logins_on_the_wire.len() <= 1,
                        "invariant 1: {} logins in flight: {:?}",
                        self.logins_on_the_wire.len(),
                        self.logins_on_the_wire
                    );
                    // Invariant 2.
                    assert!(
                        !self.rejected,
                        "invariant 2: a login was sent after a rejection without the caller asking"
                    );
                    // Invariant 6.
                    if let Some(not_before) = self.login_not_before {
                        assert!(
                            step.now >= not_before,
                            "invariant 6: a login at {:?}, before the wait ends at {not_before:?}",
                            step.now
                        );
                    }
                    // Invariant 10: a login that gives no usable token is
                    // a failure like any other, so one caller's action
                    // costs at most the configured attempts.
                    if n == 0 {
                        self.logins_since_caller += 1;
                        assert!(
                            self.logins_since_caller <= self.limits.max_attempts,
                            "invariant 10: {} logins since the caller last acted, more than the {} attempts",
                            self.logins_since_caller,
                            self.limits.max_attempts
                        );
                    }
                    // Invariant 4.
                    if let (Some((generation, true)), 0) = (step.reply, n) {
                        let count = self
                            .logins_per_refused_generation
                            .entry(generation)
                            .or_default();
                        *count += 1;
                        assert!(
                            *count <= 1,
                            "invariant 4: a second login for the refused tokens of generation {generation}"
                        );
                    }
                    // A first step carries no token; the next steps carry
                    // the intermediate token of this login.
                    if n == 0 {
                        assert_eq!(wire.token, None, "a first login step carries a token");
                        self.login_token = None;
                    } else {
                        assert!(
                            wire.token.is_some() && wire.token == self.login_token,
                            "login step {n} carries {:?}, not its login's token",
                            wire.token
                        );
                    }
                }
                Req::VerifyCode(_) if super::known::SUBMIT_CODE_SENDS_A_LAPSED_TOKEN => {
                    // Tolerated (finding 2): the deadline is not checked.
                    self.check_token_use(wire.token.as_ref(), step, None, "a code");
                }
                Req::StartStepUp(_) | Req::VerifyCode(_) | Req::Logout => {
                    self.check_token_use(wire.token.as_ref(), step, token_before, "a request");
                }
            }
            if let Req::VerifyCode(_) = wire.request {
                self.check_code(wire, step);
            }
            if let Req::StartStepUp(_) = wire.request {
                assert!(
                    step.now >= self.challenge_not_before,
                    "a challenge asked for at {:?}, before the resend interval ends at {:?}",
                    step.now,
                    self.challenge_not_before
                );
                self.pause_challenges(step.now);
            }
            for token in self.dead_tokens.iter().chain(&self.current_token) {
                assert!(
                    !contains(&wire.body, token.as_bytes()),
                    "a token travels in a request body"
                );
            }
        }
    }

    /// Invariant 11: a code the server refused is never sent again to the
    /// same challenge.
    fn check_code(&mut self, wire: &Wire, step: &StepReport) {
        let code = step
            .code
            .clone()
            .unwrap_or_else(|| panic!("a code was sent at {:?}, none typed", step.now));
        assert!(
            contains(&wire.body, code.as_bytes()),
            "the verify request does not carry the code typed"
        );
        assert!(
            !self.refused_codes.contains(&code),
            "invariant 11: a code the server refused was sent again to the same challenge"
        );
        self.verified_codes.insert(wire.index, code);
    }

    fn check_grants(&mut self, step: &StepReport, token_before: Option<Token>) {
        for grant in &step.grants {
            check_header_values(&grant.header_values);
            if grant.level == Level::Account {
                assert_eq!(grant.token, None, "an account-level grant carries a token");
            } else {
                self.check_token_use(grant.token.as_ref(), step, token_before, "a grant");
            }
        }
    }

    /// Invariant 3 (and 9: a token is sent whole or not at all).
    fn check_token_use(
        &self,
        token: Option<&String>,
        step: &StepReport,
        token_before: Option<Token>,
        what: &str,
    ) {
        let token = token.unwrap_or_else(|| panic!("{what} without a token"));
        assert!(
            Some(token) == self.current_token.as_ref(),
            "invariant 3: {what} carries {token:?}, not the current token {:?} (dead: {})",
            self.current_token,
            self.dead_tokens.contains(token)
        );
        assert!(
            !self.dead_tokens.contains(token),
            "invariant 3: {what} carries a dead token"
        );
        if let Some(times) = token_before {
            for deadline in [times.idle_deadline, times.expires_at]
                .into_iter()
                .flatten()
            {
                assert!(
                    self.known_now.max(step.now) < deadline,
                    "invariant 3: {what} carries a token that lapsed at {deadline:?} (the session was told {:?})",
                    self.known_now.max(step.now)
                );
            }
        }
    }

    fn check_events(&mut self, step: &StepReport, backoff_ceiling: Option<Duration>) {
        let mut ended = false;
        let honoured = step
            .server_wait
            .and_then(|asked| self.limits.honoured(asked));
        for (kind, _) in &step.events {
            match kind {
                EventKind::LoggedIn => {
                    // A token that serves: a new cycle of attempts.
                    self.logins_since_caller = 0;
                    if let Some(old) = self.current_token.take() {
                        self.dead_tokens.insert(old);
                    }
                    let Some((token, false)) = &step.issued else {
                        panic!("logged in without a token handed out in the same step");
                    };
                    self.current_token = Some(token.clone());
                    self.login_token = None;
                }
                EventKind::Expired | EventKind::LoggedOut => ended = true,
                EventKind::LoginRejected => {
                    self.rejected = true;
                    self.login_token = None;
                }
                EventKind::RetryScheduled(until) => {
                    // Invariant 6: at least the server's wait, at most the
                    // backoff's ceiling (or the server's wait); invariant
                    // 10: the server's wait is capped.
                    if let Some(wait) = honoured {
                        assert!(
                            *until >= step.now + wait,
                            "invariant 6: a retry at {until:?}, before the server's wait of {wait:?}"
                        );
                    }
                    if let Some(ceiling) = backoff_ceiling {
                        let longest = ceiling.max(honoured.unwrap_or_default());
                        assert!(
                            *until <= step.now + longest,
                            "invariant 6/10: a retry at {until:?} waits longer than {longest:?} (asked: {:?})",
                            step.server_wait
                        );
                    }
                    self.login_not_before =
                        Some(self.login_not_before.map_or(*until, |at| at.max(*until)));
                }
                EventKind::GaveUp => {
                    if let Some(wait) = honoured {
                        let until = step.now + wait;
                        self.login_not_before =
                            Some(self.login_not_before.map_or(until, |at| at.max(until)));
                    }
                }
                // A new challenge: no code is refused for it yet, and the
                // server counts its pause from it.
                EventKind::CodeSent => {
                    self.refused_codes.clear();
                    self.pause_challenges(step.now);
                }
                EventKind::AwaitingApproval => self.pause_challenges(step.now),
                // The session took the refusal of the code in flight.
                EventKind::StepUpFailed => {
                    if let Some(code) = step
                        .code_refused
                        .and_then(|index| self.verified_codes.get(&index))
                    {
                        self.refused_codes.insert(code.clone());
                    }
                }
                EventKind::Other => {}
            }
        }
        if (ended || step.caller_reset)
            && let Some(old) = self.current_token.take()
        {
            self.dead_tokens.insert(old);
        }
    }

    /// A challenge asked for, or gone out, at `at`: none before the resend
    /// interval is over.
    fn pause_challenges(&mut self, at: Instant) {
        self.challenge_not_before = self
            .challenge_not_before
            .max(at + self.limits.resend_interval);
    }

    /// Invariant 10: no wait the session shows is longer than the longest
    /// the config allows (the backoff's ceiling, the cap on `Retry-After`,
    /// the wait after a bare `429`), counted from when it was set, which is
    /// no later than now.
    fn check_waits(&self, step: &StepReport) {
        let longest = self.limits.longest_wait();
        for until in &step.waits {
            assert!(
                *until <= step.now + longest,
                "invariant 10: a wait until {until:?} at {:?}, longer than {longest:?}",
                step.now
            );
        }
    }

    /// Invariant 12: a `401` about a payment's SCA neither logs in nor
    /// expires the token.
    fn check_payment_sca(step: &StepReport) {
        if !step.payment_sca {
            return;
        }
        assert!(
            step.sent.is_empty(),
            "invariant 12: a payment's SCA 401 sent {:?}",
            step.sent
                .iter()
                .map(|wire| wire.request)
                .collect::<Vec<_>>()
        );
        assert!(
            step.events
                .iter()
                .all(|(kind, _)| !matches!(kind, EventKind::Expired | EventKind::LoggedIn)),
            "invariant 12: a payment's SCA 401 ended the token: {:?}",
            step.events
        );
    }

    /// Invariant 13: while a request is in flight the session has a timer,
    /// no later than the request's deadline; after `handle_timeout`, no
    /// request in flight is past its deadline.
    fn check_deadline(step: &StepReport) {
        let Some(deadline) = step.in_flight_deadline else {
            return;
        };
        assert!(
            step.timer.is_some_and(|timer| timer <= deadline),
            "invariant 13: a request in flight until {deadline:?}, the timer {:?}",
            step.timer
        );
        assert!(
            !step.handled_timeout || step.now < deadline,
            "invariant 13: a request past its deadline {deadline:?} is still in flight at {:?}",
            step.now
        );
    }

    /// Invariant 7.
    fn check_printed(&self, step: &StepReport) {
        let printed = step
            .printed
            .iter()
            .chain(step.events.iter().map(|(_, text)| text));
        for text in printed {
            for secret in &self.secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "invariant 7: a secret was printed: {secret:?} in {text}"
                );
            }
        }
    }
}

/// Invariant 8: no control character (nor anything but visible ASCII and
/// the space) in a header value.
fn check_header_values(values: &[(String, Vec<u8>)]) {
    for (name, value) in values {
        assert!(
            value.iter().all(|byte| (0x20..=0x7e).contains(byte)),
            "invariant 8: header {name} holds a byte that is not printable ASCII"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}
