//! A Weavr session, step by step as the Multi API documents it (seed
//! `001_41d0dd5883504114.txt`, `PROVIDERS.md` §2, issue 4): the `api-key`
//! on every request; a password login to an auth token, the identities,
//! and the exchange for an access token; the 5-minute idle timeout and a
//! `401`; login errors; step-up by SMS code or push, with every `409` of
//! the table, the resend rule and the challenge limits; logout. Scripted
//! with fixtures, without a network.
//!
//! The harness is local to this file: it drives a `Session<Weavr>` by the
//! crate's one rule (drain `poll_transmit` and `poll_event` after every
//! input) and keeps everything the session printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use core::time::Duration;

use authsession_core::providers::weavr::{
    ACCESS_TOKEN_PATH, IDENTITIES_PATH, Identity, IdentityType, LOGIN_PATH, LOGOUT_PATH, Weavr,
    WeavrCredentials,
};
use authsession_core::{
    ApiError, Channel, Config, Error, ErrorKind, Event, ExpiryReason, Grant, Headers, Instant,
    Level, LoginStep, Method, NotReady, RequestId, ResponseParts, Session, SessionState,
    StepUpError, StepUpRefused, StepUpState, Ticket, Transmit, Verdict,
};

// ---- fixtures ----

const API_KEY: &str = "Wv4yT0sQm8Lx2Nc6Rk9BzA==";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "s3cret-Passw0rd!";
const AUTH_TOKEN: &str = "auth.7f3c9a1e5b2d4c6f8a0b1c2d3e4f5a6b";
const ACCESS_TOKEN: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMDk4NzYiLCJpZGVudGl0eSI6IjEwOTg3NiJ9.c2lnLTE";
const NEXT_AUTH_TOKEN: &str = "auth.0b9f5d1c2e3a4f6b7c8d9e0f1a2b3c4d";
const NEXT_ACCESS_TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMDk4NzYiLCJqdGkiOiIyIn0.c2lnLTI";
/// The token of a `409` to a login with an expired password.
const TEMPORARY_TOKEN: &str = "temp.5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b";
/// The one-time code the user types (not the sandbox's, so that it is
/// found only where it leaked).
const OTP: &str = "918273";
/// The code the user types after the first was refused.
const SECOND_OTP: &str = "564738";
const CORPORATE_ID: &str = "109876";
const CONSUMER_ID: &str = "204060";
const REQUEST_REF: &str = "0e7a3c1d-5b2f-4c8e-9a6d-1f2e3d4c5b6a";

const SECRETS: [&str; 8] = [
    API_KEY,
    PASSWORD,
    AUTH_TOKEN,
    ACCESS_TOKEN,
    NEXT_AUTH_TOKEN,
    NEXT_ACCESS_TOKEN,
    TEMPORARY_TOKEN,
    OTP,
];

fn credentials() -> WeavrCredentials {
    WeavrCredentials::new(API_KEY, EMAIL, PASSWORD).unwrap()
}

fn login_ok(token: &str) -> String {
    format!(
        r#"{{"token":"{token}","tokenType":"AUTH","identity":{{"type":"CORPORATE","id":"{CORPORATE_ID}"}},"credentials":{{"type":"ROOT","id":"{CORPORATE_ID}"}}}}"#
    )
}

fn listed(kind: &str, id: &str) -> String {
    format!(r#"{{"id":{{"type":"{kind}","id":"{id}"}},"name":"Identity {id}"}}"#)
}

fn identities(entries: &[String]) -> String {
    let n = entries.len();
    format!(
        r#"{{"identities":[{}],"count":{n},"responseCount":{n}}}"#,
        entries.join(",")
    )
}

fn one_identity() -> String {
    identities(&[listed("CORPORATE", CORPORATE_ID)])
}

fn two_identities() -> String {
    identities(&[
        listed("CORPORATE", CORPORATE_ID),
        listed("CONSUMER", CONSUMER_ID),
    ])
}

fn access_ok(token: &str, status: &str) -> String {
    format!(
        r#"{{"token":"{token}","identity":{{"type":"CORPORATE","id":"{CORPORATE_ID}"}},"credentials":{{"type":"ROOT","id":"{CORPORATE_ID}"}},"status":"{status}"}}"#
    )
}

fn conflict(code: &str) -> String {
    format!(r#"{{"errorCode":"{code}"}}"#)
}

const BAD_LOGIN: &str = r#"{"message":"Bad request","syntaxErrors":{"invalidFields":[{"params":[],"fieldName":"email","error":"REQUIRED"}]}}"#;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn mins(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

fn at(since_origin: Duration) -> Instant {
    Instant::ZERO + since_origin
}

// ---- recorded outputs ----

/// A header as it goes on the wire, and whether the session marked it as
/// secret.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SeenHeader {
    name: String,
    value: String,
    sensitive: bool,
}

fn seen_headers(headers: &Headers<'_>) -> Vec<SeenHeader> {
    headers
        .iter()
        .map(|header| {
            let mut value = String::new();
            header.value.write_to(&mut value).unwrap();
            SeenHeader {
                name: header.name.to_owned(),
                value,
                sensitive: header.value.is_sensitive(),
            }
        })
        .collect()
}

fn find_header(headers: &[SeenHeader], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case(name))
        .map(|header| header.value.clone())
}

/// A request of the session's own, owned.
#[derive(Clone, Debug)]
struct Sent {
    id: RequestId,
    method: Method,
    path: String,
    headers: Vec<SeenHeader>,
    body: String,
}

impl Sent {
    fn of(transmit: &Transmit<'_>) -> Self {
        Sent {
            id: transmit.id,
            method: transmit.method,
            path: transmit.path.to_owned(),
            headers: seen_headers(&transmit.headers),
            body: String::from_utf8_lossy(transmit.body).into_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        find_header(&self.headers, name)
    }

    fn carries(&self, text: &str) -> bool {
        self.path.contains(text)
            || self.body.contains(text)
            || self.headers.iter().any(|h| h.value.contains(text))
    }

    /// Asserts the request is `method path`, with the `api-key` (marked
    /// secret) and the bearer `token` (or no `Authorization` at all).
    fn expect(&self, method: Method, path: &str, bearer: Option<&str>) {
        assert_eq!(
            (self.method, self.path.as_str()),
            (method, path),
            "{self:?}"
        );
        let api_key = self.headers.iter().find(|h| h.name == "api-key");
        assert!(
            api_key.is_some_and(|h| h.value == API_KEY && h.sensitive),
            "no api-key on {self:?}"
        );
        let expected = bearer.map(|token| format!("Bearer {token}"));
        assert_eq!(self.header("Authorization"), expected, "{path}");
        if let Some(authorization) = self.headers.iter().find(|h| h.name == "Authorization") {
            assert!(authorization.sensitive);
        }
    }
}

/// A grant, owned.
#[derive(Clone, Debug)]
struct Granted {
    headers: Vec<SeenHeader>,
    ticket: Ticket,
}

impl Granted {
    fn of(grant: &Grant<'_>) -> Self {
        Granted {
            headers: seen_headers(&grant.headers),
            ticket: grant.ticket,
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        find_header(&self.headers, name)
    }
}

/// An event, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    LoggedIn { generation: u64 },
    Expired { why: ExpiryReason },
    LoginRejected(Error),
    RetryScheduled { until: Instant, attempt: u32 },
    StepUpRequired,
    CodeSent,
    AwaitingApproval,
    SteppedUp,
    StepUpFailed(Error),
    LoggedOut,
    GaveUp(Error),
}

impl Seen {
    fn of(event: &Event<'_>) -> Self {
        match *event {
            Event::LoggedIn { generation } => Seen::LoggedIn { generation },
            Event::Expired { why } => Seen::Expired { why },
            Event::LoginRejected(error) => Seen::LoginRejected(error.clone()),
            Event::RetryScheduled { until, attempt } => Seen::RetryScheduled { until, attempt },
            Event::StepUpRequired => Seen::StepUpRequired,
            Event::CodeSent => Seen::CodeSent,
            Event::AwaitingApproval => Seen::AwaitingApproval,
            Event::SteppedUp => Seen::SteppedUp,
            Event::StepUpFailed(error) => Seen::StepUpFailed(error.clone()),
            Event::LoggedOut => Seen::LoggedOut,
            Event::GaveUp(error) => Seen::GaveUp(error.clone()),
            other => panic!("an event these tests do not know: {other:?}"),
        }
    }
}

// ---- the harness ----

/// The most outputs one input may produce before the harness calls it a
/// runaway loop.
const DRAIN_LIMIT: usize = 64;

/// A `Session<Weavr>` driven by the drain rule, with every output recorded.
struct Harness {
    session: Session<Weavr>,
    now: Instant,
    sent: Vec<Sent>,
    events: Vec<Seen>,
    all_sent: Vec<Sent>,
    /// Everything printed: `Debug` of transmits, grants, events, refusals,
    /// verdicts and the session; `Debug` and `Display` of errors.
    printed: Vec<String>,
}

impl Harness {
    fn new() -> Self {
        Self::with(Weavr::default(), Config::default())
    }

    fn with(provider: Weavr, config: Config) -> Self {
        Harness {
            session: Session::with_config(provider, credentials(), config),
            now: Instant::ZERO,
            sent: Vec::new(),
            events: Vec::new(),
            all_sent: Vec::new(),
            printed: Vec::new(),
        }
    }

    /// A session logged in the usual way (one identity, none configured)
    /// at instant zero, its outputs taken.
    fn logged_in() -> Self {
        let mut h = Self::new();
        h.log_in(AUTH_TOKEN, ACCESS_TOKEN);
        h
    }

    fn drain(&mut self) {
        for _ in 0..DRAIN_LIMIT {
            let mut progressed = false;
            if let Some(transmit) = self.session.poll_transmit() {
                self.printed.push(format!("{transmit:?}"));
                let sent = Sent::of(&transmit);
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
                self.printed.push(format!("{:#?}", self.session));
                return;
            }
        }
        panic!("the session kept producing outputs past {DRAIN_LIMIT}");
    }

    // -- inputs --

    fn login(&mut self) {
        self.session.login(self.now);
        self.drain();
    }

    fn logout(&mut self) {
        self.session.logout(self.now);
        self.drain();
    }

    fn timeout(&mut self) {
        self.session.handle_timeout(self.now);
        self.drain();
    }

    fn authorize(&mut self, level: Level) -> Result<Granted, NotReady> {
        let (result, printed) = match self.session.authorize(level, self.now) {
            Ok(grant) => (Ok(Granted::of(&grant)), format!("{grant:?}")),
            Err(not_ready) => (Err(not_ready), format!("{not_ready:?}")),
        };
        self.printed.push(printed);
        self.drain();
        result
    }

    fn grant(&mut self, level: Level) -> Granted {
        self.authorize(level)
            .unwrap_or_else(|why| panic!("no grant at {level:?}: {why:?}"))
    }

    fn reply(&mut self, ticket: Ticket, status: u16, body: &str) -> Verdict {
        let response = ResponseParts::new(status, body.as_bytes());
        let verdict = self.session.handle_reply(ticket, &response, self.now);
        self.printed.push(format!("{verdict:?}"));
        self.drain();
        verdict
    }

    fn answer(&mut self, to: &Sent, status: u16, body: &str) {
        self.answer_with(to, status, &[], body);
    }

    fn answer_with(&mut self, to: &Sent, status: u16, headers: &[(&str, &[u8])], body: &str) {
        let response = ResponseParts::new(status, body.as_bytes()).with_headers(headers);
        self.session.handle_response(to.id, &response, self.now);
        self.drain();
    }

    fn start_step_up(&mut self, channel: Channel) -> Result<(), StepUpRefused> {
        let result = self.session.start_step_up(channel, self.now);
        self.printed.push(format!("{result:?}"));
        self.drain();
        result
    }

    fn submit_code(&mut self, code: &str) -> Result<(), StepUpRefused> {
        let result = self.session.submit_code(code, self.now);
        self.printed.push(format!("{result:?}"));
        self.drain();
        result
    }

    fn report_push(&mut self, approved: bool) -> Result<(), StepUpRefused> {
        let result = self.session.report_push_result(approved, self.now);
        self.printed.push(format!("{result:?}"));
        self.drain();
        result
    }

    // -- outputs --

    fn take_sent(&mut self) -> Vec<Sent> {
        core::mem::take(&mut self.sent)
    }

    fn take_one_sent(&mut self) -> Sent {
        let mut sent = self.take_sent();
        assert_eq!(sent.len(), 1, "expected one request, got {sent:#?}");
        sent.remove(0)
    }

    fn take_events(&mut self) -> Vec<Seen> {
        core::mem::take(&mut self.events)
    }

    fn state(&self) -> SessionState {
        self.session.state()
    }

    fn step_up_state(&self) -> StepUpState {
        self.session.step_up_state()
    }

    // -- whole exchanges --

    /// Logs in (a login must be queued or queueable): login, identities
    /// with one identity, exchange; expects `LoggedIn`. Takes the outputs.
    fn log_in(&mut self, auth_token: &str, access_token: &str) {
        let generation = self.session.generation();
        if self.sent.is_empty() {
            self.login();
        }
        let login = self.take_one_sent();
        login.expect(Method::Post, LOGIN_PATH, None);
        self.answer(&login, 200, &login_ok(auth_token));
        let listing = self.take_one_sent();
        listing.expect(Method::Get, IDENTITIES_PATH, Some(auth_token));
        self.answer(&listing, 200, &one_identity());
        let exchange = self.take_one_sent();
        exchange.expect(Method::Post, ACCESS_TOKEN_PATH, Some(auth_token));
        self.answer(&exchange, 200, &access_ok(access_token, "STANDARD"));
        let events = self.take_events();
        assert_eq!(
            events.last(),
            Some(&Seen::LoggedIn {
                generation: generation + 1
            }),
            "{events:?}"
        );
        assert_eq!(self.state(), SessionState::Active);
    }

    /// Starts an SMS challenge now and answers it `204`.
    fn code_sent(&mut self) {
        self.start_step_up(Channel::Sms).unwrap();
        let challenge = self.take_one_sent();
        self.answer(&challenge, 204, "");
        assert_eq!(self.take_events(), [Seen::CodeSent]);
    }

    /// A challenge on `channel` answered with `status` and `body`: the
    /// events that followed.
    fn challenge_answered(&mut self, channel: Channel, status: u16, body: &str) -> Vec<Seen> {
        self.start_step_up(channel).unwrap();
        let challenge = self.take_one_sent();
        self.answer_with(
            &challenge,
            status,
            &[("request-ref", REQUEST_REF.as_bytes())],
            body,
        );
        self.take_events()
    }

    /// Steps up by SMS with the right code.
    fn step_up(&mut self) {
        self.code_sent();
        self.submit_code(OTP).unwrap();
        let verify = self.take_one_sent();
        self.answer(&verify, 204, "");
        assert_eq!(self.take_events(), [Seen::SteppedUp]);
        assert_eq!(self.step_up_state(), StepUpState::SteppedUp);
    }

    /// Fails if anything printed, or any request sent, shows `secret`
    /// (requests are checked only when `on_the_wire` is false).
    fn assert_never_printed(&self, secret: &str) {
        for text in &self.printed {
            assert!(!text.contains(secret), "{secret:?} printed in {text}");
        }
    }

    fn assert_no_secret_printed(&self) {
        for secret in SECRETS {
            self.assert_never_printed(secret);
        }
    }
}

/// The step-up error an event carries.
fn step_up_error(event: &Seen) -> (ApiError, StepUpError) {
    let Seen::StepUpFailed(Error::Api(api)) = event else {
        panic!("not a step-up failure from the API: {event:?}");
    };
    let ErrorKind::StepUp(code) = api.kind else {
        panic!("not a typed step-up error: {api:?}");
    };
    (api.clone(), code)
}

fn rejected_api_error(events: &[Seen]) -> ApiError {
    match events {
        [Seen::LoginRejected(Error::Api(api))] => api.clone(),
        other => panic!("expected one LoginRejected from the API, got {other:?}"),
    }
}

// ---- the account layer ----

#[test]
fn the_api_key_goes_on_every_request_including_login_and_account_calls() {
    let mut h = Harness::new();

    // An account-level call needs no login: the key alone.
    let account = h.grant(Level::Account);
    assert_eq!(account.header("api-key").as_deref(), Some(API_KEY));
    assert!(account.headers.iter().all(|header| header.sensitive));
    assert_eq!(account.header("Authorization"), None);
    assert_eq!(account.headers.len(), 1);
    assert!(h.take_sent().is_empty());
    assert_eq!(h.state(), SessionState::LoggedOut);

    // Every step of the login, a call, the step-up, the logout.
    h.log_in(AUTH_TOKEN, ACCESS_TOKEN);
    let user = h.grant(Level::User);
    assert_eq!(user.header("api-key").as_deref(), Some(API_KEY));
    let account = h.grant(Level::Account);
    assert_eq!(account.header("api-key").as_deref(), Some(API_KEY));
    assert_eq!(account.header("Authorization"), None);
    h.step_up();
    h.logout();
    let logout = h.take_one_sent();
    h.answer(&logout, 204, "");

    let paths: Vec<&str> = h.all_sent.iter().map(|sent| sent.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            LOGIN_PATH,
            IDENTITIES_PATH,
            ACCESS_TOKEN_PATH,
            "/stepup/challenges/otp/SMS",
            "/stepup/challenges/otp/SMS/verify",
            LOGOUT_PATH,
        ]
    );
    for sent in &h.all_sent {
        assert_eq!(sent.header("api-key").as_deref(), Some(API_KEY), "{sent:?}");
    }
    h.assert_no_secret_printed();
}

#[test]
fn a_401_to_an_account_call_is_fatal_and_leaves_the_session_alone() {
    let mut h = Harness::logged_in();
    let account = h.grant(Level::Account);

    let verdict = h.reply(account.ticket, 401, "");

    assert!(
        matches!(verdict, Verdict::Fatal(Error::Api(ref api)) if api.status == 401),
        "{verdict:?}"
    );
    assert_eq!(h.state(), SessionState::Active);
    assert!(h.take_sent().is_empty());
    assert!(h.take_events().is_empty());
    assert_eq!(h.session.generation(), 1);
}

// ---- the end-user layer: login, identities, exchange ----

#[test]
fn a_login_without_a_configured_identity_lists_them_and_exchanges_the_only_one() {
    let mut h = Harness::new();

    assert_eq!(h.authorize(Level::User).err(), Some(NotReady::LoggingIn));
    let login = h.take_one_sent();
    login.expect(Method::Post, LOGIN_PATH, None);
    assert_eq!(
        login.header("Content-Type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        login.body,
        format!(r#"{{"email":"{EMAIL}","password":{{"value":"{PASSWORD}"}}}}"#)
    );

    h.answer(&login, 200, &login_ok(AUTH_TOKEN));
    assert_eq!(h.state(), SessionState::LoggingIn { step: LoginStep(1) });
    let listing = h.take_one_sent();
    listing.expect(Method::Get, IDENTITIES_PATH, Some(AUTH_TOKEN));
    assert!(listing.body.is_empty());
    // The auth token is good for the login's next steps only.
    assert_eq!(h.authorize(Level::User).err(), Some(NotReady::LoggingIn));
    assert!(h.take_sent().is_empty());

    h.answer(&listing, 200, &one_identity());
    let exchange = h.take_one_sent();
    exchange.expect(Method::Post, ACCESS_TOKEN_PATH, Some(AUTH_TOKEN));
    assert_eq!(
        exchange.header("Content-Type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        exchange.body,
        format!(r#"{{"identity":{{"type":"CORPORATE","id":"{CORPORATE_ID}"}}}}"#)
    );
    assert!(h.take_events().is_empty());

    h.answer(&exchange, 200, &access_ok(ACCESS_TOKEN, "STANDARD"));
    assert_eq!(h.take_events(), [Seen::LoggedIn { generation: 1 }]);
    assert_eq!(h.state(), SessionState::Active);
    assert_eq!(
        h.session.provider().identity(),
        Some(&Identity {
            kind: IdentityType::Corporate,
            id: authsession_core::Text::new(CORPORATE_ID).unwrap(),
        })
    );
    assert_eq!(h.step_up_state(), StepUpState::NotNeeded);

    // Calls carry the access token, never the auth token.
    let user = h.grant(Level::User);
    assert_eq!(
        user.header("Authorization"),
        Some(format!("Bearer {ACCESS_TOKEN}"))
    );
    assert_eq!(user.header("api-key").as_deref(), Some(API_KEY));
    assert!(user.headers.iter().all(|header| header.sensitive));
    assert!(!h.all_sent.iter().skip(3).any(|s| s.carries(AUTH_TOKEN)));
    h.assert_no_secret_printed();
}

#[test]
fn an_empty_identity_list_falls_back_to_the_identity_of_the_login_answer() {
    let mut h = Harness::new();
    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 200, &login_ok(AUTH_TOKEN));
    let listing = h.take_one_sent();

    h.answer(&listing, 200, &identities(&[]));

    let exchange = h.take_one_sent();
    exchange.expect(Method::Post, ACCESS_TOKEN_PATH, Some(AUTH_TOKEN));
    assert!(exchange.body.contains(CORPORATE_ID));
}

#[test]
fn a_configured_identity_is_exchanged_without_listing_identities() {
    let provider = Weavr::default()
        .with_identity(IdentityType::Consumer, CONSUMER_ID)
        .unwrap();
    let mut h = Harness::with(provider, Config::default());

    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 200, &login_ok(AUTH_TOKEN));

    // The login answer names the corporate identity; the configured one wins.
    let exchange = h.take_one_sent();
    exchange.expect(Method::Post, ACCESS_TOKEN_PATH, Some(AUTH_TOKEN));
    assert_eq!(
        exchange.body,
        format!(r#"{{"identity":{{"type":"CONSUMER","id":"{CONSUMER_ID}"}}}}"#)
    );
    h.answer(&exchange, 200, &access_ok(ACCESS_TOKEN, "STANDARD"));
    assert_eq!(h.take_events(), [Seen::LoggedIn { generation: 1 }]);
    assert_eq!(
        h.session
            .provider()
            .identity()
            .map(|identity| identity.kind),
        Some(IdentityType::Consumer)
    );
    assert!(h.all_sent.iter().all(|sent| sent.path != IDENTITIES_PATH));
}

#[test]
fn several_identities_and_none_configured_are_refused_as_ambiguous() {
    let mut h = Harness::new();
    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 200, &login_ok(AUTH_TOKEN));
    let listing = h.take_one_sent();

    h.answer(&listing, 200, &two_identities());

    let events = h.take_events();
    assert_eq!(
        events,
        [Seen::LoginRejected(Error::AmbiguousIdentity { count: 2 })]
    );
    assert!(
        Error::AmbiguousIdentity { count: 2 }
            .to_string()
            .contains("configure which one")
    );
    assert_eq!(h.state(), SessionState::Rejected);
    assert!(h.take_sent().is_empty());
    // Never retried by itself, whatever the time.
    assert_eq!(h.session.poll_timeout(), None);
    h.now = at(mins(60));
    h.timeout();
    assert_eq!(h.authorize(Level::User).err(), Some(NotReady::Rejected));
    assert!(h.take_sent().is_empty());
    assert_eq!(
        h.session.last_error(),
        Some(&Error::AmbiguousIdentity { count: 2 })
    );
    h.assert_no_secret_printed();
}

#[test]
fn more_identities_than_the_list_holds_are_still_ambiguous_not_a_passing_failure() {
    let mut h = Harness::new();
    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 200, &login_ok(AUTH_TOKEN));
    let listing = h.take_one_sent();
    let many: Vec<String> = (0..12)
        .map(|n| listed("CORPORATE", &format!("1000{n}")))
        .collect();

    h.answer(&listing, 200, &identities(&many));

    assert_eq!(h.state(), SessionState::Rejected, "{:?}", h.take_events());
    assert!(
        matches!(
            h.session.last_error(),
            Some(Error::AmbiguousIdentity { count: 12 })
        ),
        "{:?}",
        h.session.last_error()
    );
}

#[test]
fn an_exchange_that_says_stepped_up_starts_stepped_up() {
    let mut h = Harness::new();
    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 200, &login_ok(AUTH_TOKEN));
    let listing = h.take_one_sent();
    h.answer(&listing, 200, &one_identity());
    let exchange = h.take_one_sent();

    h.answer(&exchange, 200, &access_ok(ACCESS_TOKEN, "STEPPED_UP"));

    assert_eq!(h.step_up_state(), StepUpState::SteppedUp);
    let granted = h.grant(Level::SteppedUp);
    assert_eq!(
        granted.header("Authorization"),
        Some(format!("Bearer {ACCESS_TOKEN}"))
    );
}

// ---- lifetime ----

#[test]
fn five_idle_minutes_expire_the_token_and_one_login_follows() {
    // Without a margin, the deadline is exactly the API's 5 minutes.
    let config = Config {
        expiry_margin: Duration::ZERO,
        ..Config::default()
    };
    let mut h = Harness::with(Weavr::default(), config);
    h.log_in(AUTH_TOKEN, ACCESS_TOKEN);
    h.now = at(secs(60));
    h.grant(Level::User);
    assert_eq!(h.session.poll_timeout(), Some(at(secs(60) + mins(5))));

    h.now = at(secs(60) + mins(5)).saturating_sub(millis(1));
    h.timeout();
    assert_eq!(h.state(), SessionState::Active);
    h.now = at(secs(60) + mins(5));
    h.timeout();

    assert_eq!(
        h.take_events(),
        [Seen::Expired {
            why: ExpiryReason::Idle
        }]
    );
    assert_eq!(
        h.state(),
        SessionState::Expired {
            why: ExpiryReason::Idle
        }
    );
    assert!(h.take_sent().is_empty());
    // Three calls meet the lapsed token: one login.
    for _ in 0..3 {
        assert_eq!(h.authorize(Level::User).err(), Some(NotReady::LoggingIn));
    }
    h.log_in(NEXT_AUTH_TOKEN, NEXT_ACCESS_TOKEN);
    assert_eq!(
        h.grant(Level::User).header("Authorization"),
        Some(format!("Bearer {NEXT_ACCESS_TOKEN}"))
    );
    assert_eq!(h.session.generation(), 2);
}

#[test]
fn the_default_margin_lapses_the_token_thirty_seconds_before_the_server_would() {
    let mut h = Harness::logged_in();
    h.grant(Level::User);
    assert_eq!(h.session.poll_timeout(), Some(at(secs(270))));
}

#[test]
fn a_401_expires_the_token_and_one_login_serves_every_refused_call() {
    let mut h = Harness::logged_in();
    let first = h.grant(Level::User);
    let second = h.grant(Level::User);

    assert_eq!(h.reply(first.ticket, 401, ""), Verdict::Replay);
    assert_eq!(
        h.take_events(),
        [Seen::Expired {
            why: ExpiryReason::Refused
        }]
    );
    let login = h.take_one_sent();
    login.expect(Method::Post, LOGIN_PATH, None);
    assert_eq!(h.reply(second.ticket, 401, ""), Verdict::Replay);
    assert!(h.take_sent().is_empty());

    h.sent.push(login);
    h.log_in(NEXT_AUTH_TOKEN, NEXT_ACCESS_TOKEN);
    let again = h.grant(Level::User);
    assert_eq!(
        again.header("Authorization"),
        Some(format!("Bearer {NEXT_ACCESS_TOKEN}"))
    );
    // A late 401 under the old token changes nothing.
    assert_eq!(h.reply(first.ticket, 401, ""), Verdict::Replay);
    assert!(h.take_sent().is_empty());
    assert_eq!(h.state(), SessionState::Active);
}

// ---- login errors ----

/// A fresh session whose login was answered `status` with `headers` and
/// `body`: its events.
fn login_answered(status: u16, headers: &[(&str, &[u8])], body: &str) -> (Harness, Vec<Seen>) {
    let mut h = Harness::new();
    h.login();
    let login = h.take_one_sent();
    h.answer_with(&login, status, headers, body);
    let events = h.take_events();
    (h, events)
}

/// Asserts a refused session stays refused: no timer, no request, calls
/// refused.
fn assert_stays_rejected(h: &mut Harness) {
    assert_eq!(h.state(), SessionState::Rejected);
    assert!(h.take_sent().is_empty());
    assert_eq!(h.session.poll_timeout(), None);
    h.now = h.now + mins(31);
    h.timeout();
    assert_eq!(h.authorize(Level::User).err(), Some(NotReady::Rejected));
    assert!(h.take_sent().is_empty());
}

#[test]
fn a_400_with_syntax_errors_is_rejected_with_its_fields() {
    let headers: &[(&str, &[u8])] = &[("request-ref", REQUEST_REF.as_bytes())];
    let (mut h, events) = login_answered(400, headers, BAD_LOGIN);

    let api = rejected_api_error(&events);
    assert_eq!(api.status, 400);
    assert_eq!(api.message, "Bad request");
    assert_eq!(api.request_id, REQUEST_REF);
    assert_eq!(api.fields.len(), 1);
    assert_eq!(api.fields[0].field, "email");
    assert_eq!(api.fields[0].code, "REQUIRED");
    assert_eq!(api.kind, ErrorKind::Other);
    let shown = Error::Api(api).to_string();
    assert!(shown.contains("email: REQUIRED"), "{shown}");
    assert!(shown.contains(REQUEST_REF), "{shown}");
    assert_stays_rejected(&mut h);
}

#[test]
fn a_401_without_a_body_is_rejected() {
    let (mut h, events) = login_answered(401, &[], "");

    let api = rejected_api_error(&events);
    assert_eq!(api.status, 401);
    assert!(api.code.is_empty() && api.message.is_empty());
    assert_stays_rejected(&mut h);
}

#[test]
fn a_403_for_wrong_credentials_is_rejected() {
    let (mut h, events) = login_answered(403, &[], r#"{"errorCode":"INVALID_CREDENTIALS"}"#);

    let api = rejected_api_error(&events);
    assert_eq!(api.status, 403);
    assert_eq!(api.code, "INVALID_CREDENTIALS");
    assert_eq!(api.kind, ErrorKind::Other);
    assert_stays_rejected(&mut h);
    h.assert_no_secret_printed();
}

#[test]
fn an_error_at_the_exchange_is_rejected_like_one_at_the_login() {
    let mut h = Harness::new();
    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 200, &login_ok(AUTH_TOKEN));
    let listing = h.take_one_sent();
    h.answer(&listing, 200, &one_identity());
    let exchange = h.take_one_sent();

    h.answer(&exchange, 403, "");

    let api = rejected_api_error(&h.take_events());
    assert_eq!(api.status, 403);
    assert_stays_rejected(&mut h);
}

#[test]
fn a_409_password_expired_is_rejected_and_its_token_goes_nowhere() {
    let body = format!(r#"{{"token":"{TEMPORARY_TOKEN}"}}"#);
    let (mut h, events) = login_answered(409, &[], &body);

    let api = rejected_api_error(&events);
    assert_eq!(api.status, 409);
    assert_eq!(api.kind, ErrorKind::PasswordExpired);
    assert_stays_rejected(&mut h);

    // An explicit login tries again; neither it nor anything else carries
    // the temporary token.
    h.login();
    let login = h.take_one_sent();
    login.expect(Method::Post, LOGIN_PATH, None);
    h.answer(&login, 409, &body);
    assert_eq!(h.state(), SessionState::Rejected);
    assert!(h.all_sent.iter().all(|sent| !sent.carries(TEMPORARY_TOKEN)));
    assert_eq!(
        h.authorize(Level::Account)
            .map(|g| g.header("Authorization"))
            .ok(),
        Some(None)
    );
    assert!(!format!("{:?}", h.session.last_error()).contains(TEMPORARY_TOKEN));
    h.assert_no_secret_printed();
}

#[test]
fn a_423_is_rejected_as_locked_with_the_thirty_minute_hint() {
    let (mut h, events) = login_answered(423, &[], "");

    let api = rejected_api_error(&events);
    assert_eq!(api.status, 423);
    assert_eq!(
        api.kind,
        ErrorKind::Locked {
            retry_after: mins(30)
        }
    );
    assert_stays_rejected(&mut h);

    // A Retry-After, when the server gives one, says better.
    let (_, events) = login_answered(423, &[("Retry-After", b"600")], "");
    assert_eq!(
        rejected_api_error(&events).kind,
        ErrorKind::Locked {
            retry_after: secs(600)
        }
    );
}

#[test]
fn a_429_on_login_waits_what_the_server_asks_then_logs_in() {
    let (mut h, events) = login_answered(
        429,
        &[("Retry-After", b"7"), ("x-ratelimit-limit", b"100")],
        r#"{"message":"Too many requests"}"#,
    );

    let [Seen::RetryScheduled { until, attempt: 1 }] = events[..] else {
        panic!("{events:?}");
    };
    assert!(until >= at(secs(7)), "{until:?}");
    assert_eq!(h.state(), SessionState::Waiting { until, attempt: 1 });
    assert!(matches!(
        h.authorize(Level::User),
        Err(NotReady::Backoff { .. })
    ));
    h.now = until.saturating_sub(millis(1));
    h.timeout();
    assert!(h.take_sent().is_empty());

    h.now = until;
    h.timeout();
    h.log_in(AUTH_TOKEN, ACCESS_TOKEN);
}

#[test]
fn a_429_without_retry_after_waits_the_configured_rate_limit_wait() {
    let (_, events) = login_answered(429, &[], r#"{"message":"Too many requests"}"#);
    let [Seen::RetryScheduled { until, attempt: 1 }] = events[..] else {
        panic!("{events:?}");
    };
    assert!(until >= at(Config::default().rate_limit_wait), "{until:?}");
}

#[test]
fn a_5xx_at_any_step_backs_off_and_starts_the_login_again() {
    for status in [500, 502, 503, 504] {
        let mut h = Harness::new();
        h.login();
        let login = h.take_one_sent();
        h.answer(&login, 200, &login_ok(AUTH_TOKEN));
        let listing = h.take_one_sent();
        h.answer(&listing, 200, &one_identity());
        let exchange = h.take_one_sent();

        h.answer(&exchange, status, r#"{"message":"Service unavailable"}"#);

        let events = h.take_events();
        let [Seen::RetryScheduled { until, attempt: 1 }] = events[..] else {
            panic!("{status}: {events:?}");
        };
        // Within the first backoff ceiling (1 s by default).
        assert!(until <= at(secs(1)), "{status}: {until:?}");
        assert!(h.take_sent().is_empty());
        h.now = until;
        h.timeout();
        h.log_in(NEXT_AUTH_TOKEN, NEXT_ACCESS_TOKEN);
    }
}

// ---- step-up: when it is needed ----

#[test]
fn a_stepped_up_call_before_step_up_says_so_once_and_sends_nothing() {
    let mut h = Harness::logged_in();

    assert_eq!(
        h.authorize(Level::SteppedUp).err(),
        Some(NotReady::StepUpRequired)
    );
    assert_eq!(h.take_events(), [Seen::StepUpRequired]);
    assert_eq!(h.step_up_state(), StepUpState::Needed);
    assert!(h.take_sent().is_empty());

    assert_eq!(
        h.authorize(Level::SteppedUp).err(),
        Some(NotReady::StepUpRequired)
    );
    assert!(h.take_events().is_empty());
    // User calls still go meanwhile.
    h.grant(Level::User);
}

#[test]
fn a_stepped_up_call_before_any_login_logs_in_first() {
    let mut h = Harness::new();
    assert_eq!(
        h.authorize(Level::SteppedUp).err(),
        Some(NotReady::LoggingIn)
    );
    h.log_in(AUTH_TOKEN, ACCESS_TOKEN);
    assert_eq!(
        h.authorize(Level::SteppedUp).err(),
        Some(NotReady::StepUpRequired)
    );
}

#[test]
fn a_403_step_up_required_in_error_code_or_in_message_means_step_up() {
    for body in [
        r#"{"errorCode":"STEP_UP_REQUIRED"}"#,
        r#"{"message":"STEP_UP_REQUIRED"}"#,
    ] {
        let mut h = Harness::logged_in();
        let user = h.grant(Level::User);

        assert_eq!(h.reply(user.ticket, 403, body), Verdict::StepUp, "{body}");
        assert_eq!(h.take_events(), [Seen::StepUpRequired], "{body}");
        assert_eq!(h.step_up_state(), StepUpState::Needed);
        assert!(h.take_sent().is_empty());
        // A second refusal says nothing new.
        let user = h.grant(Level::User);
        assert_eq!(h.reply(user.ticket, 403, body), Verdict::StepUp);
        assert!(h.take_events().is_empty());
        assert_eq!(h.state(), SessionState::Active);
    }
}

#[test]
fn other_403s_are_the_applications_business() {
    for body in [
        r#"{"errorCode":"ACCESS_TOKEN_REQUIRED"}"#,
        r#"{"errorCode":"INSUFFICIENT_PERMISSIONS"}"#,
        r#"{"message":"Forbidden"}"#,
        "",
    ] {
        let mut h = Harness::logged_in();
        let user = h.grant(Level::User);
        assert_eq!(h.reply(user.ticket, 403, body), Verdict::Ok, "{body}");
        assert!(h.take_events().is_empty());
        assert_eq!(h.step_up_state(), StepUpState::NotNeeded);
    }
}

#[test]
fn a_403_step_up_required_after_step_up_means_step_up_again() {
    let mut h = Harness::logged_in();
    h.step_up();
    let call = h.grant(Level::SteppedUp);

    assert_eq!(
        h.reply(call.ticket, 403, r#"{"errorCode":"STEP_UP_REQUIRED"}"#),
        Verdict::StepUp
    );
    assert_eq!(h.take_events(), [Seen::StepUpRequired]);
    assert_eq!(h.step_up_state(), StepUpState::Needed);
}

/// A `403` to a call sent before the current step-up is stale (the server
/// judged the token before it was stepped up): it must not undo the
/// step-up, or a new challenge would get `409 ALREADY_VERIFIED`. The ticket
/// carries the step-ups the session had passed, as it carries the
/// generation for a late 401.
#[test]
fn a_403_to_a_call_sent_before_the_step_up_does_not_undo_it() {
    let mut h = Harness::logged_in();
    let early = h.grant(Level::User);
    h.step_up();

    let verdict = h.reply(early.ticket, 403, r#"{"errorCode":"STEP_UP_REQUIRED"}"#);

    // Sent again, it will pass.
    assert_eq!(verdict, Verdict::StepUp);
    assert_eq!(h.step_up_state(), StepUpState::SteppedUp);
    assert!(h.take_events().is_empty());
}

// ---- step-up: SMS and push ----

#[test]
fn an_sms_step_up_sends_the_code_and_steps_up_the_same_token() {
    let mut h = Harness::logged_in();
    h.authorize(Level::SteppedUp).unwrap_err();
    h.take_events();

    h.start_step_up(Channel::Sms).unwrap();
    assert_eq!(h.step_up_state(), StepUpState::Requested(Channel::Sms));
    let challenge = h.take_one_sent();
    challenge.expect(
        Method::Post,
        "/stepup/challenges/otp/SMS",
        Some(ACCESS_TOKEN),
    );
    assert!(challenge.body.is_empty());
    assert_eq!(
        h.authorize(Level::SteppedUp).err(),
        Some(NotReady::SteppingUp)
    );
    assert_eq!(
        h.start_step_up(Channel::Sms),
        Err(StepUpRefused::InProgress)
    );
    assert_eq!(h.submit_code(OTP), Err(StepUpRefused::NothingToAnswer));

    h.answer(&challenge, 204, "");
    assert_eq!(h.take_events(), [Seen::CodeSent]);
    assert_eq!(h.step_up_state(), StepUpState::CodeSent(Channel::Sms));
    assert!(h.take_sent().is_empty());

    h.submit_code(OTP).unwrap();
    assert_eq!(h.step_up_state(), StepUpState::Verifying(Channel::Sms));
    let verify = h.take_one_sent();
    verify.expect(
        Method::Post,
        "/stepup/challenges/otp/SMS/verify",
        Some(ACCESS_TOKEN),
    );
    assert_eq!(
        verify.header("Content-Type").as_deref(),
        Some("application/json")
    );
    assert_eq!(verify.body, format!(r#"{{"verificationCode":"{OTP}"}}"#));

    h.answer(&verify, 204, "");
    assert_eq!(h.take_events(), [Seen::SteppedUp]);
    assert_eq!(h.step_up_state(), StepUpState::SteppedUp);
    // The same token, the same generation: no new login.
    let call = h.grant(Level::SteppedUp);
    assert_eq!(
        call.header("Authorization"),
        Some(format!("Bearer {ACCESS_TOKEN}"))
    );
    assert_eq!(call.ticket.generation(), 1);
    assert_eq!(call.ticket.level(), Level::SteppedUp);
    assert_eq!(h.session.generation(), 1);
    assert!(h.take_sent().is_empty());
    assert_eq!(
        h.start_step_up(Channel::Sms),
        Err(StepUpRefused::AlreadySteppedUp)
    );
    h.assert_no_secret_printed();
}

#[test]
fn a_malformed_code_is_refused_before_anything_is_sent() {
    let mut h = Harness::logged_in();
    h.code_sent();
    for code in ["", "91 8273", "918273\n", "12345678901234567", "9182-73"] {
        assert_eq!(
            h.submit_code(code),
            Err(StepUpRefused::InvalidCode),
            "{code:?}"
        );
    }
    assert!(h.take_sent().is_empty());
    assert_eq!(h.step_up_state(), StepUpState::CodeSent(Channel::Sms));
    h.assert_never_printed("91 8273");
}

#[test]
fn a_push_step_up_waits_for_the_approval_the_application_reports() {
    let mut h = Harness::logged_in();

    h.start_step_up(Channel::Authy).unwrap();
    let challenge = h.take_one_sent();
    challenge.expect(
        Method::Post,
        "/stepup/challenges/push/AUTHY",
        Some(ACCESS_TOKEN),
    );
    assert!(challenge.body.is_empty());
    h.answer(&challenge, 200, r#"{"id":"110138374263767555"}"#);
    assert_eq!(h.take_events(), [Seen::AwaitingApproval]);
    assert_eq!(
        h.step_up_state(),
        StepUpState::AwaitingApproval(Channel::Authy)
    );
    assert_eq!(
        h.authorize(Level::SteppedUp).err(),
        Some(NotReady::SteppingUp)
    );
    // No code for a push.
    assert_eq!(h.submit_code(OTP), Err(StepUpRefused::NothingToAnswer));

    h.report_push(true).unwrap();
    assert_eq!(h.take_events(), [Seen::SteppedUp]);
    assert_eq!(h.step_up_state(), StepUpState::SteppedUp);
    assert!(h.take_sent().is_empty());
    h.grant(Level::SteppedUp);
    assert_eq!(h.report_push(true), Err(StepUpRefused::NothingToAnswer));
}

#[test]
fn a_declined_push_is_a_typed_failure_and_step_up_is_needed_again() {
    let mut h = Harness::logged_in();
    assert_eq!(h.report_push(false), Err(StepUpRefused::NothingToAnswer));

    h.start_step_up(Channel::Biometric).unwrap();
    let challenge = h.take_one_sent();
    challenge.expect(
        Method::Post,
        "/stepup/challenges/push/BIOMETRIC",
        Some(ACCESS_TOKEN),
    );
    h.answer(&challenge, 200, r#"{"id":"42"}"#);
    assert_eq!(h.take_events(), [Seen::AwaitingApproval]);

    h.report_push(false).unwrap();

    let events = h.take_events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(step_up_error(&events[0]).1, StepUpError::Declined);
    assert_eq!(h.step_up_state(), StepUpState::Needed);
    assert!(h.take_sent().is_empty());
    assert_eq!(
        h.authorize(Level::SteppedUp).err(),
        Some(NotReady::StepUpRequired)
    );
}

// ---- step-up: the errors of the table ----

/// Where the session stands after a failed step-up request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    /// The challenge stands: the code may be typed again.
    RetryCode,
    /// A new challenge is needed.
    Needed,
    /// The token is gone; a new login is needed.
    LogInAgain,
}

const TABLE: [(&str, StepUpError); 9] = [
    ("RETRY_IN_15SEC", StepUpError::RetryIn15Sec),
    (
        "CHALLENGE_LIMIT_EXCEEDED",
        StepUpError::ChallengeLimitExceeded,
    ),
    (
        "VERIFICATION_CODE_INVALID",
        StepUpError::VerificationCodeInvalid,
    ),
    (
        "VERIFICATION_CODE_EXPIRED",
        StepUpError::VerificationCodeExpired,
    ),
    (
        "ONE_CHALLENGE_LIMIT_REMAINING",
        StepUpError::OneChallengeLimitRemaining,
    ),
    ("STATE_INVALID", StepUpError::StateInvalid),
    ("ALREADY_VERIFIED", StepUpError::AlreadyVerified),
    ("CHANNEL_NOT_REGISTERED", StepUpError::ChannelNotRegistered),
    ("CHANNEL_NOT_SUPPORTED", StepUpError::ChannelNotSupported),
];

fn assert_after(h: &mut Harness, after: After, what: &str) {
    match after {
        After::RetryCode => {
            assert_eq!(
                h.step_up_state(),
                StepUpState::CodeSent(Channel::Sms),
                "{what}"
            );
        }
        After::Needed => {
            assert_eq!(h.step_up_state(), StepUpState::Needed, "{what}");
            assert_eq!(h.state(), SessionState::Active, "{what}");
        }
        After::LogInAgain => {
            assert_eq!(
                h.state(),
                SessionState::Expired {
                    why: ExpiryReason::StepUpExhausted
                },
                "{what}"
            );
            // The next call logs in afresh, without the old token.
            assert_eq!(
                h.authorize(Level::User).err(),
                Some(NotReady::LoggingIn),
                "{what}"
            );
            let login = h.take_one_sent();
            login.expect(Method::Post, LOGIN_PATH, None);
        }
    }
}

#[test]
fn every_409_to_a_challenge_is_a_typed_step_up_error() {
    for (code, typed) in TABLE {
        let mut h = Harness::logged_in();
        let events = h.challenge_answered(Channel::Sms, 409, &conflict(code));

        let (api, found) = step_up_error(&events[0]);
        assert_eq!(found, typed, "{code}");
        assert_eq!((api.status, api.code.as_str()), (409, code));
        assert_eq!(api.request_id, REQUEST_REF);
        let after = match typed {
            StepUpError::ChallengeLimitExceeded => After::LogInAgain,
            _ => After::Needed,
        };
        if after == After::LogInAgain {
            assert_eq!(
                events[1..],
                [Seen::Expired {
                    why: ExpiryReason::StepUpExhausted
                }],
                "{code}"
            );
        } else {
            assert_eq!(events.len(), 1, "{code}: {events:?}");
        }
        assert_after(&mut h, after, code);
        h.assert_no_secret_printed();
    }
}

#[test]
fn every_409_to_a_code_is_a_typed_step_up_error() {
    for (code, typed) in TABLE {
        let mut h = Harness::logged_in();
        h.code_sent();
        h.submit_code(OTP).unwrap();
        let verify = h.take_one_sent();
        h.answer(&verify, 409, &conflict(code));
        let events = h.take_events();

        let (api, found) = step_up_error(&events[0]);
        assert_eq!(found, typed, "{code}");
        assert_eq!(api.code, code);
        let after = match typed {
            // A wrong code: the challenge stands (the second says it is
            // the last try).
            StepUpError::VerificationCodeInvalid | StepUpError::OneChallengeLimitRemaining => {
                After::RetryCode
            }
            StepUpError::ChallengeLimitExceeded => After::LogInAgain,
            _ => After::Needed,
        };
        assert_after(&mut h, after, code);
        h.assert_no_secret_printed();
    }
}

#[test]
fn a_wrong_code_may_be_typed_again_without_a_new_challenge() {
    let mut h = Harness::logged_in();
    h.code_sent();
    h.submit_code("000000").unwrap();
    let verify = h.take_one_sent();
    h.answer(&verify, 409, &conflict("VERIFICATION_CODE_INVALID"));
    h.take_events();

    h.submit_code(OTP).unwrap();
    let verify = h.take_one_sent();
    assert_eq!(verify.body, format!(r#"{{"verificationCode":"{OTP}"}}"#));
    h.answer(&verify, 204, "");
    assert_eq!(h.take_events(), [Seen::SteppedUp]);
    let challenges = h
        .all_sent
        .iter()
        .filter(|sent| sent.path == "/stepup/challenges/otp/SMS")
        .count();
    assert_eq!(challenges, 1);
}

#[test]
fn retry_in_15sec_is_honoured_by_the_session() {
    let mut h = Harness::logged_in();
    h.now = at(secs(10));
    h.code_sent();

    // A resend before 15 s is refused locally, nothing sent.
    h.now = at(secs(25)).saturating_sub(millis(1));
    assert_eq!(
        h.start_step_up(Channel::Sms),
        Err(StepUpRefused::TooSoon {
            until: at(secs(25))
        })
    );
    assert!(h.take_sent().is_empty());

    // At 15 s it goes; the server still says too soon: 15 s more.
    h.now = at(secs(25));
    let events = h.challenge_answered(Channel::Sms, 409, &conflict("RETRY_IN_15SEC"));
    assert_eq!(step_up_error(&events[0]).1, StepUpError::RetryIn15Sec);
    assert_eq!(h.step_up_state(), StepUpState::Needed);
    h.now = at(secs(40)).saturating_sub(millis(1));
    assert_eq!(
        h.start_step_up(Channel::Sms),
        Err(StepUpRefused::TooSoon {
            until: at(secs(40))
        })
    );
    assert!(h.take_sent().is_empty());
    h.now = at(secs(40));
    h.code_sent();
}

/// After the server's `409 RETRY_IN_15SEC` the session waits the resend
/// interval the provider was given (`with_timers`), not a fixed 15 s.
#[test]
fn the_resend_interval_follows_the_timers_given() {
    let provider = Weavr::default().with_timers(mins(5), secs(2));
    let mut h = Harness::with(provider, Config::default());
    h.log_in(AUTH_TOKEN, ACCESS_TOKEN);
    h.code_sent();

    h.now = at(millis(1999));
    assert_eq!(
        h.start_step_up(Channel::Sms),
        Err(StepUpRefused::TooSoon { until: at(secs(2)) })
    );
    h.now = at(secs(2));
    let events = h.challenge_answered(Channel::Sms, 409, &conflict("RETRY_IN_15SEC"));
    assert_eq!(step_up_error(&events[0]).1, StepUpError::RetryIn15Sec);

    // The server's "retry in 15 s" is this API's resend interval, which
    // these timers say is 2 s.
    assert_eq!(
        h.start_step_up(Channel::Sms),
        Err(StepUpRefused::TooSoon { until: at(secs(4)) })
    );
}

#[test]
fn the_resend_rule_outlives_a_new_login() {
    let mut h = Harness::logged_in();
    h.now = at(secs(1));
    h.code_sent();
    let call = h.grant(Level::User);
    h.reply(call.ticket, 401, "");
    h.log_in(NEXT_AUTH_TOKEN, NEXT_ACCESS_TOKEN);

    assert_eq!(
        h.start_step_up(Channel::Sms),
        Err(StepUpRefused::TooSoon {
            until: at(secs(16))
        })
    );
}

#[test]
fn challenge_limit_exceeded_ends_the_token_and_asks_for_a_new_login() {
    let mut h = Harness::logged_in();

    let events = h.challenge_answered(Channel::Sms, 409, &conflict("CHALLENGE_LIMIT_EXCEEDED"));

    assert_eq!(
        step_up_error(&events[0]).1,
        StepUpError::ChallengeLimitExceeded
    );
    assert_eq!(
        events[1..],
        [Seen::Expired {
            why: ExpiryReason::StepUpExhausted
        }]
    );
    assert_eq!(
        h.start_step_up(Channel::Sms),
        Err(StepUpRefused::NotLoggedIn)
    );
    assert_after(&mut h, After::LogInAgain, "CHALLENGE_LIMIT_EXCEEDED");
    let sent = h.all_sent.last().unwrap();
    assert!(!sent.carries(ACCESS_TOKEN));
}

#[test]
fn the_400_after_two_resends_ends_the_token_and_asks_for_a_new_login() {
    let mut h = Harness::logged_in();
    h.code_sent();
    h.now = at(secs(15));
    h.code_sent();
    h.now = at(secs(30));

    let events = h.challenge_answered(Channel::Sms, 400, r#"{"errorCode":"INVALID_REQUEST"}"#);

    let (api, typed) = step_up_error(&events[0]);
    assert_eq!(typed, StepUpError::ResendLimit);
    assert_eq!((api.status, api.code.as_str()), (400, "INVALID_REQUEST"));
    assert_eq!(
        events[1..],
        [Seen::Expired {
            why: ExpiryReason::StepUpExhausted
        }]
    );
    assert_after(&mut h, After::LogInAgain, "400 INVALID_REQUEST");
    h.sent.push(h.all_sent.last().unwrap().clone());
    h.log_in(NEXT_AUTH_TOKEN, NEXT_ACCESS_TOKEN);
    // The new token starts without step-up.
    assert_eq!(h.step_up_state(), StepUpState::NotNeeded);
    assert_eq!(
        h.authorize(Level::SteppedUp).err(),
        Some(NotReady::StepUpRequired)
    );
}

#[test]
fn a_401_to_a_step_up_request_ends_the_token() {
    let mut h = Harness::logged_in();
    h.start_step_up(Channel::Sms).unwrap();
    let challenge = h.take_one_sent();
    h.answer(&challenge, 401, "");
    assert!(
        matches!(h.state(), SessionState::Expired { .. }),
        "{:?}",
        h.state()
    );
    assert_eq!(h.authorize(Level::User).err(), Some(NotReady::LoggingIn));
}

#[test]
fn a_step_up_request_that_got_no_answer_can_be_tried_again() {
    let mut h = Harness::logged_in();
    h.start_step_up(Channel::Sms).unwrap();
    let challenge = h.take_one_sent();
    h.session.handle_failure(challenge.id, h.now);
    h.drain();
    assert!(matches!(
        h.take_events()[..],
        [Seen::StepUpFailed(Error::Transport)]
    ));
    assert_eq!(h.step_up_state(), StepUpState::Needed);

    h.now = at(secs(15));
    h.code_sent();
    h.submit_code(OTP).unwrap();
    let verify = h.take_one_sent();
    h.session.handle_failure(verify.id, h.now);
    h.drain();
    h.take_events();
    // The code still stands.
    assert_eq!(h.step_up_state(), StepUpState::CodeSent(Channel::Sms));
    h.submit_code(OTP).unwrap();
    let verify = h.take_one_sent();
    h.answer(&verify, 204, "");
    assert_eq!(h.take_events(), [Seen::SteppedUp]);
}

// ---- secrets ----

#[test]
fn the_one_time_code_is_never_printed() {
    let mut h = Harness::logged_in();
    h.code_sent();
    h.submit_code(OTP).unwrap();
    // While the code sits in the request buffer.
    let verify = h.take_one_sent();
    assert!(verify.carries(OTP));
    h.printed.push(format!("{:?}", h.session));
    h.answer(&verify, 409, &conflict("VERIFICATION_CODE_INVALID"));
    h.submit_code(SECOND_OTP).unwrap();
    let verify = h.take_one_sent();
    h.answer(&verify, 204, "");
    h.grant(Level::SteppedUp);
    h.logout();

    h.assert_never_printed(OTP);
    h.assert_never_printed(SECOND_OTP);
    h.assert_no_secret_printed();
    let printed = h.printed.join("\n");
    assert!(printed.contains("SteppedUp"), "the harness saw nothing");
}

// ---- logout ----

#[test]
fn logout_posts_to_logout_and_takes_204_or_200_with_a_url() {
    for (status, body) in [
        (204, ""),
        (200, r#"{"url":"https://auth.example.com/logged-out"}"#),
    ] {
        let mut h = Harness::logged_in();
        h.step_up();

        h.logout();
        assert_eq!(h.state(), SessionState::LoggingOut);
        let logout = h.take_one_sent();
        logout.expect(Method::Post, LOGOUT_PATH, Some(ACCESS_TOKEN));
        assert!(logout.body.is_empty());
        assert_eq!(h.authorize(Level::User).err(), Some(NotReady::LoggingOut));

        h.answer(&logout, status, body);
        assert_eq!(h.take_events(), [Seen::LoggedOut], "{status}");
        assert_eq!(h.state(), SessionState::LoggedOut);
        // The next call logs in afresh, and the new token is not stepped up.
        assert_eq!(h.authorize(Level::User).err(), Some(NotReady::LoggingIn));
        h.log_in(NEXT_AUTH_TOKEN, NEXT_ACCESS_TOKEN);
        assert_eq!(h.step_up_state(), StepUpState::NotNeeded);
        assert!(!h.all_sent.iter().skip(6).any(|s| s.carries(ACCESS_TOKEN)));
    }
}

#[test]
fn a_token_that_idled_out_is_not_sent_to_log_out() {
    let mut h = Harness::logged_in();
    h.now = at(mins(5));
    h.logout();
    assert!(h.take_sent().is_empty());
    assert_eq!(h.state(), SessionState::LoggedOut);
}
