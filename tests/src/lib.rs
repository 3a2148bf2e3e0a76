//! Shared fixtures of the authsession tests: the seeds' bodies, and a
//! [`Harness`] that drives a [`Session`] by the crate's one rule (drain
//! `poll_transmit` and `poll_event` after every input) and records every
//! output as owned values, so that a test reads like the protocol:
//!
//! ```
//! use authsession_tests::{Harness, LOGIN_OK, Seen};
//!
//! let mut h = Harness::currencycloud();
//! h.login();
//! let login = h.take_one_sent();
//! h.answer(&login, 200, LOGIN_OK);
//! assert_eq!(h.take_events(), [Seen::LoggedIn { generation: 1 }]);
//! ```

// A test fixture may fail loudly: its panics are the tests' failures.
#![allow(clippy::expect_used)]

pub mod model;
pub mod tap;

use core::time::Duration;

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::{
    Config, Error, Event, ExpiryReason, Grant, Instant, Level, Method, NotReady, RequestId,
    ResponseParts, Session, SessionState, Ticket, Transmit, Verdict,
};

// ---- Currencycloud fixtures (seed 000_55fb0fa7bc37453b, PROVIDERS.md §1) ----

/// The login id of the fixtures (the seed's is an e-mail address).
pub const LOGIN_ID: &str = "development@example.com";
/// The seed's API key.
pub const API_KEY: &str = "1f6a3e944f8c4ebdc6658d6fc1103f12ebbc33f5ed05ca3549fdbc3883556544";
/// The seed's token.
pub const TOKEN: &str = "ea6d13c7bc50feb46cf978d137bc01a2";
/// A second token, for the login after a re-login.
pub const NEXT_TOKEN: &str = "0b9f5d1c2e3a4f6b7c8d9e0f1a2b3c4d";

/// The seed's login answer, as printed there.
pub const LOGIN_OK: &str = r#"{
    "auth_token": "ea6d13c7bc50feb46cf978d137bc01a2"
}"#;
/// The answer to the re-login.
pub const NEXT_LOGIN_OK: &str = r#"{"auth_token": "0b9f5d1c2e3a4f6b7c8d9e0f1a2b3c4d"}"#;

/// The seed's `401` body: bad credentials on a login, an expired token on a
/// call.
pub const AUTH_FAILED: &str = r#"{
  "error_code": "auth_failed",
  "error_messages": {
    "username": [
      {
        "code": "invalid_supplied_credentials",
        "message": "Authentication failed with the supplied credentials",
        "params": {}
      }
    ]
  }
}"#;

/// A `400` to a login with bad input, two fields at fault (PROVIDERS.md).
pub const BAD_LOGIN_DETAILS: &str = r#"{
  "error_code": "auth_invalid_user_login_details",
  "error_messages": {
    "login_id": [
      {"code": "login_id_is_too_short", "message": "login_id can not be shorter than 1 character(s)", "params": {"minimum_length": 1}}
    ],
    "api_key": [
      {"code": "api_key_length_is_invalid", "message": "api_key should be 64 character(s) long", "params": {"length": 64}}
    ]
  }
}"#;

/// A `429` body (PROVIDERS.md).
pub const TOO_MANY_REQUESTS: &str = r#"{
  "error_code": "too_many_requests",
  "error_messages": {
    "base": [
      {"code": "too_many_requests", "message": "Too many requests have been made to the api. Please refer to the Developer Center for more information", "params": {}}
    ]
  }
}"#;

/// A `500` body.
pub const INTERNAL_SERVER_ERROR: &str = r#"{"error_code":"internal_server_error","error_messages":{"base":[{"code":"internal_server_error","message":"Internal server error","params":{}}]}}"#;

/// A `503` body.
pub const SERVICE_UNAVAILABLE: &str = r#"{"error_code":"service_unavailable","error_messages":{"base":[{"code":"service_unavailable","message":"Service unavailable","params":{}}]}}"#;

/// The logout answer.
pub const LOGOUT_OK: &str = "{}";

/// An application call's success body.
pub const BALANCES_OK: &str = r#"{"balances":[],"pagination":{"total_entries":0}}"#;

/// The credentials of the fixtures.
pub fn currencycloud_credentials() -> CurrencycloudCredentials {
    CurrencycloudCredentials::new(LOGIN_ID, API_KEY).expect("the fixture credentials are valid")
}

/// The secrets of the fixtures: none of them may ever be printed.
pub const SECRETS: [&str; 4] = [API_KEY, TOKEN, NEXT_TOKEN, LOGIN_ID];

/// Fails if `text` shows any of [`SECRETS`].
pub fn assert_no_secret(text: &str) {
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "a secret was printed: {secret:?} in {text:?}"
        );
    }
}

/// `n` milliseconds.
pub const fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` seconds.
pub const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `n` minutes.
pub const fn mins(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// `n` hours.
pub const fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

/// The last millisecond before `instant`.
pub fn just_before(instant: Instant) -> Instant {
    instant.saturating_sub(millis(1))
}

// ---- recorded outputs ----

/// One header of a transmit or grant, its value in the two parts
/// [`HeaderValue::parts`](authsession_core::HeaderValue::parts) gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenHeader {
    /// The name.
    pub name: String,
    /// The fixed prefix of the value (`Bearer `), often empty.
    pub prefix: String,
    /// The rest of the value.
    pub value: String,
    /// Whether the session marked it as holding a secret.
    pub sensitive: bool,
}

impl SeenHeader {
    /// The whole value, as it goes on the wire.
    pub fn full_value(&self) -> String {
        format!("{}{}", self.prefix, self.value)
    }
}

fn seen_headers(headers: &authsession_core::Headers<'_>) -> Vec<SeenHeader> {
    headers
        .iter()
        .map(|header| {
            let [prefix, value] = header.value.parts();
            SeenHeader {
                name: header.name.to_owned(),
                prefix: prefix.to_owned(),
                value: value.to_owned(),
                sensitive: header.value.is_sensitive(),
            }
        })
        .collect()
}

fn header_value(headers: &[SeenHeader], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case(name))
        .map(SeenHeader::full_value)
}

/// A request the session handed out, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// Its id.
    pub id: RequestId,
    /// Its method.
    pub method: Method,
    /// Its path.
    pub path: String,
    /// Its headers.
    pub headers: Vec<SeenHeader>,
    /// Its body.
    pub body: Vec<u8>,
    /// What `Debug` printed of the transmit.
    pub debug: String,
}

impl Sent {
    fn of(transmit: &Transmit<'_>) -> Self {
        Sent {
            id: transmit.id,
            method: transmit.method,
            path: transmit.path.to_owned(),
            headers: seen_headers(&transmit.headers),
            body: transmit.body.to_vec(),
            debug: format!("{transmit:?}"),
        }
    }

    /// The whole value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        header_value(&self.headers, name)
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether `text` appears anywhere on the wire in this request.
    pub fn carries(&self, text: &str) -> bool {
        self.path.contains(text)
            || self.headers.iter().any(|h| h.full_value().contains(text))
            || self.body_text().contains(text)
    }
}

/// A grant the session gave, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Granted {
    /// The headers to add to the call.
    pub headers: Vec<SeenHeader>,
    /// The receipt to hand back with the reply.
    pub ticket: Ticket,
    /// What `Debug` printed of the grant.
    pub debug: String,
}

impl Granted {
    fn of(grant: &Grant<'_>) -> Self {
        Granted {
            headers: seen_headers(&grant.headers),
            ticket: grant.ticket,
            debug: format!("{grant:?}"),
        }
    }

    /// The whole value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        header_value(&self.headers, name)
    }
}

/// An event, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// [`Event::LoggedIn`]
    LoggedIn {
        /// The token's generation.
        generation: u64,
    },
    /// [`Event::Expired`]
    Expired {
        /// Why.
        why: ExpiryReason,
    },
    /// [`Event::LoginRejected`]
    LoginRejected(Error),
    /// [`Event::RetryScheduled`]
    RetryScheduled {
        /// When.
        until: Instant,
        /// Failures in a row.
        attempt: u32,
    },
    /// [`Event::LoggedOut`]
    LoggedOut,
    /// [`Event::GaveUp`]
    GaveUp(Error),
    /// [`Event::StepUpFailed`]
    StepUpFailed(Error),
    /// Any other step-up event (Currencycloud has none), as `Debug` shows it.
    StepUp(String),
}

impl Seen {
    fn of(event: &Event<'_>) -> Self {
        match *event {
            Event::LoggedIn { generation } => Seen::LoggedIn { generation },
            Event::Expired { why } => Seen::Expired { why },
            Event::LoginRejected(error) => Seen::LoginRejected(error.clone()),
            Event::RetryScheduled { until, attempt } => Seen::RetryScheduled { until, attempt },
            Event::LoggedOut => Seen::LoggedOut,
            Event::GaveUp(error) => Seen::GaveUp(error.clone()),
            Event::StepUpFailed(error) => Seen::StepUpFailed(error.clone()),
            // StepUpRequired, CodeSent, AwaitingApproval, SteppedUp.
            _ => Seen::StepUp(format!("{event:?}")),
        }
    }
}

// ---- the harness ----

/// The most outputs one input may produce before the harness calls it a
/// runaway loop.
const DRAIN_LIMIT: usize = 64;

/// A session driven by the drain rule, with every output recorded.
#[derive(Debug)]
pub struct Harness {
    /// The session under test.
    pub session: Session<Currencycloud>,
    /// The caller's clock; every input is given this instant.
    pub now: Instant,
    sent: Vec<Sent>,
    events: Vec<Seen>,
    /// Every request ever sent, for checks over a whole test.
    pub all_sent: Vec<Sent>,
    /// Every grant ever given.
    pub all_grants: Vec<Granted>,
    /// Everything the session's outputs printed (`Debug` of transmits,
    /// grants, events, refusals; `Debug` and `Display` of errors).
    pub printed: Vec<String>,
}

impl Harness {
    /// A logged-out Currencycloud session with the fixture credentials and
    /// the default config, at instant zero.
    pub fn currencycloud() -> Self {
        Self::with_config(Config::default())
    }

    /// The same with `config`.
    pub fn with_config(config: Config) -> Self {
        Self::with_session(Session::with_config(
            Currencycloud::default(),
            currencycloud_credentials(),
            config,
        ))
    }

    /// A harness around `session`.
    pub fn with_session(session: Session<Currencycloud>) -> Self {
        Harness {
            session,
            now: Instant::ZERO,
            sent: Vec::new(),
            events: Vec::new(),
            all_sent: Vec::new(),
            all_grants: Vec::new(),
            printed: Vec::new(),
        }
    }

    /// A session that has logged in with the seed's token at instant zero,
    /// its outputs taken.
    pub fn logged_in() -> Self {
        let mut h = Self::currencycloud();
        h.log_in_with(LOGIN_OK);
        h
    }

    // -- time --

    /// Lets `duration` pass (no input).
    pub fn advance(&mut self, duration: Duration) {
        self.now = self.now + duration;
    }

    /// Sets the clock to `duration` after the origin.
    pub fn set_time(&mut self, since_origin: Duration) {
        self.now = Instant::ZERO + since_origin;
    }

    /// Sets the clock to `instant`.
    pub fn set_now(&mut self, instant: Instant) {
        self.now = instant;
    }

    // -- inputs, each followed by a drain --

    /// `Session::login`.
    pub fn login(&mut self) {
        self.session.login(self.now);
        self.drain();
    }

    /// `Session::logout`.
    pub fn logout(&mut self) {
        self.session.logout(self.now);
        self.drain();
    }

    /// `Session::set_credentials`.
    pub fn set_credentials(&mut self, credentials: CurrencycloudCredentials) {
        self.session.set_credentials(credentials);
        self.drain();
    }

    /// `Session::handle_timeout` at the current instant.
    pub fn timeout(&mut self) {
        self.session.handle_timeout(self.now);
        self.drain();
    }

    /// Moves the clock to `poll_timeout` (which must be set) and calls
    /// `handle_timeout` there.
    pub fn sleep_until_timeout(&mut self) {
        let deadline = self
            .session
            .poll_timeout()
            .expect("the session has a timer set");
        assert!(deadline >= self.now, "a timer in the past: {deadline:?}");
        self.now = deadline;
        self.timeout();
    }

    /// `Session::authorize` at `level`, owned.
    pub fn authorize_at(&mut self, level: Level) -> Result<Granted, NotReady> {
        let result = self
            .session
            .authorize(level, self.now)
            .map(|g| Granted::of(&g));
        match &result {
            Ok(granted) => {
                self.printed.push(granted.debug.clone());
                self.all_grants.push(granted.clone());
            }
            Err(not_ready) => self.printed.push(format!("{not_ready:?}")),
        }
        self.drain();
        result
    }

    /// `Session::authorize` for a call that needs the user's token.
    pub fn authorize(&mut self) -> Result<Granted, NotReady> {
        self.authorize_at(Level::User)
    }

    /// A grant that must be given.
    pub fn grant(&mut self) -> Granted {
        match self.authorize() {
            Ok(granted) => granted,
            Err(why) => panic!("no grant: {why:?} in {:?}", self.session.state()),
        }
    }

    /// `Session::handle_reply` of an application call's answer.
    pub fn reply(&mut self, ticket: Ticket, status: u16, body: &str) -> Verdict {
        self.reply_with(ticket, &ResponseParts::new(status, body.as_bytes()))
    }

    /// `Session::handle_reply` of any response.
    pub fn reply_with(&mut self, ticket: Ticket, response: &ResponseParts<'_>) -> Verdict {
        let verdict = self.session.handle_reply(ticket, response, self.now);
        self.printed.push(format!("{verdict:?}"));
        self.drain();
        verdict
    }

    /// `Session::handle_response` to request `to` with `status` and `body`.
    pub fn answer(&mut self, to: &Sent, status: u16, body: &str) {
        self.answer_id(to.id, &ResponseParts::new(status, body.as_bytes()));
    }

    /// `Session::handle_response` to request `id` with any response.
    pub fn answer_id(&mut self, id: RequestId, response: &ResponseParts<'_>) {
        self.session.handle_response(id, response, self.now);
        self.drain();
    }

    /// `Session::handle_failure` of request `to`.
    pub fn fail(&mut self, to: &Sent) {
        self.fail_id(to.id);
    }

    /// `Session::handle_failure` of request `id`.
    pub fn fail_id(&mut self, id: RequestId) {
        self.session.handle_failure(id, self.now);
        self.drain();
    }

    /// Logs in from any state that can: asks, expects one login request,
    /// answers it with `200` and `body`, and expects `LoggedIn`. Takes the
    /// outputs.
    pub fn log_in_with(&mut self, body: &str) {
        let before = self.session.generation();
        if self.sent.is_empty() {
            self.login();
        }
        let login = self.take_one_sent();
        assert_eq!(login.path, "/v2/authenticate/api");
        self.answer(&login, 200, body);
        let events = self.take_events();
        assert_eq!(
            events.last(),
            Some(&Seen::LoggedIn {
                generation: before + 1
            })
        );
        assert_eq!(self.session.state(), SessionState::Active);
    }

    /// The rule: drains transmits and events until both are empty.
    pub fn drain(&mut self) {
        for _ in 0..DRAIN_LIMIT {
            let mut progressed = false;
            if let Some(transmit) = self.session.poll_transmit() {
                let sent = Sent::of(&transmit);
                self.printed.push(sent.debug.clone());
                self.sent.push(sent.clone());
                self.all_sent.push(sent);
                progressed = true;
            }
            if let Some(event) = self.session.poll_event() {
                self.printed.push(format!("{event:?}"));
                let seen = Seen::of(&event);
                if let Seen::LoginRejected(error)
                | Seen::GaveUp(error)
                | Seen::StepUpFailed(error) = &seen
                {
                    self.printed.push(format!("{error:?}"));
                    self.printed.push(format!("{error}"));
                }
                self.events.push(seen);
                progressed = true;
            }
            if !progressed {
                self.printed.push(format!("{:?}", self.session));
                return;
            }
        }
        panic!("the session kept producing outputs past {DRAIN_LIMIT}");
    }

    // -- outputs --

    /// The requests sent since the last take.
    pub fn take_sent(&mut self) -> Vec<Sent> {
        core::mem::take(&mut self.sent)
    }

    /// Exactly one request was sent since the last take: that one.
    pub fn take_one_sent(&mut self) -> Sent {
        let mut sent = self.take_sent();
        assert_eq!(sent.len(), 1, "expected one request, got {sent:#?}");
        sent.remove(0)
    }

    /// Whether no request was sent since the last take.
    pub fn nothing_sent(&self) -> bool {
        self.sent.is_empty()
    }

    /// The events since the last take.
    pub fn take_events(&mut self) -> Vec<Seen> {
        core::mem::take(&mut self.events)
    }

    /// The state of the session.
    pub fn state(&self) -> SessionState {
        self.session.state()
    }
}
