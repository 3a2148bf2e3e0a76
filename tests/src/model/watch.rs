//! The nine invariants of `shared/DESIGN.md`, checked after every step
//! against what the session emitted: its requests, grants, events, answers
//! and printed forms. The [`Watch`] keeps only what the checks need (which
//! logins are on the wire, which tokens are alive, what must never be
//! printed); what the reference model knows is used only for the
//! deadlines of the token (invariant 3) and the range of a backoff
//! (invariant 6), both computed from the design's formulas.

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

/// What one step did, for the invariants.
#[derive(Clone, Debug, Default)]
pub struct StepReport {
    /// The instant of the step.
    pub now: Instant,
    /// Whether the step gave the session an instant (every input but a
    /// plain wait and `set_credentials`).
    pub told_now: bool,
    /// The caller called `login()` or `set_credentials()`.
    pub caller_asked_login: bool,
    /// The caller called `logout()` or `set_credentials()`: logins and
    /// the token it abandons are no longer the session's.
    pub caller_reset: bool,
    /// The step answered or failed the request of this index.
    pub answered: Option<usize>,
    /// The generation of the ticket of an application reply in this step,
    /// and whether the reply refused the token.
    pub reply: Option<(u64, bool)>,
    /// The wait the server asked for in an answer to a login in this step
    /// (`Retry-After`, or the config's wait after a bare `429`).
    pub server_wait: Option<core::time::Duration>,
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
}

impl Watch {
    /// A watch over a session whose credentials hold `secrets`.
    pub fn new(secrets: Vec<String>) -> Self {
        Watch {
            secrets: secrets.into_iter().collect(),
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
        if step.caller_reset {
            self.logins_on_the_wire.clear();
        }
        if let Some(index) = step.answered {
            self.logins_on_the_wire.remove(&index);
        }
        // An intermediate token (Weavr's auth token) is good for the next
        // steps of its own login only.
        if let Some((token, true)) = &step.issued {
            self.login_token = Some(token.clone());
        }
        self.check_requests(step, token_before);
        self.check_grants(step, token_before);
        self.check_events(step, backoff_ceiling);
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
            for token in self.dead_tokens.iter().chain(&self.current_token) {
                assert!(
                    !contains(&wire.body, token.as_bytes()),
                    "a token travels in a request body"
                );
            }
        }
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

    fn check_events(&mut self, step: &StepReport, backoff_ceiling: Option<core::time::Duration>) {
        let mut ended = false;
        for (kind, _) in &step.events {
            match kind {
                EventKind::LoggedIn => {
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
                    // backoff's ceiling (or the server's wait).
                    if let Some(wait) = step.server_wait {
                        assert!(
                            *until >= step.now + wait,
                            "invariant 6: a retry at {until:?}, before the server's wait of {wait:?}"
                        );
                    }
                    if let Some(ceiling) = backoff_ceiling {
                        let longest = ceiling.max(step.server_wait.unwrap_or_default());
                        assert!(
                            *until <= step.now + longest,
                            "invariant 6: a retry at {until:?} waits longer than {longest:?}"
                        );
                    }
                    self.login_not_before =
                        Some(self.login_not_before.map_or(*until, |at| at.max(*until)));
                }
                EventKind::GaveUp => {
                    if let Some(wait) = step.server_wait {
                        let until = step.now + wait;
                        self.login_not_before =
                            Some(self.login_not_before.map_or(until, |at| at.max(until)));
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
