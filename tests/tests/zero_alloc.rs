//! The core never touches the heap: a whole life of a session of each
//! provider (login, calls, expiry, re-login, a refused token, a failed
//! login and its retry, step-up for Weavr, logout), driven through the core
//! with `ResponseParts` fixtures, allocates nothing at all.
//!
//! The counting global allocator is `allocation_counter`'s: its
//! `#[global_allocator]` wraps `std::alloc::System` and counts, per thread,
//! the allocations made inside `measure`, so the test harness and the other
//! tests of this binary do not count. It comes from a crate because a
//! `GlobalAlloc` needs `unsafe`, which the workspace forbids in its own
//! code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use core::time::Duration;

use authsession_core::providers::access_key::{self, AccessKey, AccessKeyCredentials};
use authsession_core::providers::currencycloud::{self, Currencycloud, CurrencycloudCredentials};
use authsession_core::providers::weavr::{self, Weavr, WeavrCredentials};
use authsession_core::{
    Channel, Config, Event, ExpiryReason, Instant, Level, NotReady, Provider, RequestId,
    ResponseParts, Session, SessionState, StepUpState, Verdict,
};
use authsession_tests::{
    API_KEY, AUTH_FAILED, BALANCES_OK, LOGIN_ID, LOGIN_OK, LOGOUT_OK, NEXT_LOGIN_OK, NEXT_TOKEN,
    SERVICE_UNAVAILABLE, TOKEN, TOO_MANY_REQUESTS,
};

// ---- a driver that allocates nothing itself ----

/// An event, without the error some of them borrow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    LoggedIn(u64),
    Expired(ExpiryReason),
    LoginRejected,
    RetryScheduled,
    StepUpRequired,
    CodeSent,
    SteppedUp,
    StepUpFailed,
    LoggedOut,
}

fn seen(event: &Event<'_>) -> Seen {
    match *event {
        Event::LoggedIn { generation } => Seen::LoggedIn(generation),
        Event::Expired { why } => Seen::Expired(why),
        Event::LoginRejected(_) => Seen::LoginRejected,
        Event::RetryScheduled { .. } => Seen::RetryScheduled,
        Event::StepUpRequired => Seen::StepUpRequired,
        Event::CodeSent => Seen::CodeSent,
        Event::SteppedUp => Seen::SteppedUp,
        Event::StepUpFailed(_) => Seen::StepUpFailed,
        Event::LoggedOut => Seen::LoggedOut,
        other => panic!("unexpected event {other:?}"),
    }
}

/// A session and the caller's clock, driven by the crate's one rule.
struct Drive<P: Provider> {
    session: Session<P>,
    now: Instant,
}

impl<P: Provider> Drive<P> {
    fn new(session: Session<P>) -> Self {
        Drive {
            session,
            now: Instant::ZERO,
        }
    }

    /// The events since the last input are exactly `expected`.
    fn events(&mut self, expected: &[Seen]) {
        for want in expected {
            let event = self.session.poll_event().expect("an event");
            assert_eq!(seen(&event), *want);
        }
        assert!(self.session.poll_event().is_none());
    }

    /// One request to `path` is waiting, and no other; its id.
    fn sent(&mut self, path: &str) -> RequestId {
        let transmit = self.session.poll_transmit().expect("a request");
        assert_eq!(transmit.path, path);
        // Everything on the wire is read, as an HTTP client would.
        let header_bytes: usize = transmit.headers.iter().map(|h| h.value.len()).sum();
        assert!(header_bytes > 0 || transmit.path == access_key::LOGIN_PATH);
        let id = transmit.id;
        assert!(self.session.poll_transmit().is_none());
        id
    }

    /// Answers request `id`.
    fn answer(&mut self, id: RequestId, status: u16, body: &str) {
        let response = ResponseParts::new(status, body.as_bytes());
        self.session.handle_response(id, &response, self.now);
    }

    /// Answers the one request waiting, which must go to `path`.
    fn answer_sent(&mut self, path: &str, status: u16, body: &str) {
        let id = self.sent(path);
        self.answer(id, status, body);
    }

    /// A call at `level` that gets `status` and `body`; `header` must carry
    /// `value`.
    fn call(
        &mut self,
        level: Level,
        header: &str,
        value: &str,
        status: u16,
        body: &str,
    ) -> Verdict {
        let grant = self.session.authorize(level, self.now).expect("a grant");
        let carried = grant.headers.get(header).expect("the header").parts();
        assert_eq!(carried[1], value);
        let ticket = grant.ticket;
        let response = ResponseParts::new(status, body.as_bytes());
        self.session.handle_reply(ticket, &response, self.now)
    }

    /// A call that is refused locally for `why`.
    fn not_ready(&mut self, level: Level, why: NotReady) {
        assert_eq!(self.session.authorize(level, self.now).err(), Some(why));
    }

    /// Moves the clock to the session's timer and lets it fire.
    fn sleep_until_timeout(&mut self) {
        self.now = self.session.poll_timeout().expect("a timer");
        self.session.handle_timeout(self.now);
    }

    fn advance(&mut self, duration: Duration) {
        self.now = self.now + duration;
    }
}

/// Runs `life` counting the allocations of this thread, and asserts there
/// were none.
fn allocates_nothing(life: impl FnOnce()) {
    let counted = allocation_counter::measure(life);
    assert_eq!(counted.count_total, 0, "{counted:?}");
    assert_eq!(counted.bytes_total, 0, "{counted:?}");
}

#[test]
fn the_allocator_counts() {
    let counted = allocation_counter::measure(|| {
        drop(std::hint::black_box(Box::new(7u8)));
    });
    assert_eq!(counted.count_total, 1);
}

// ---- Currencycloud ----

#[test]
fn a_currencycloud_session_allocates_nothing() {
    allocates_nothing(|| {
        let credentials = CurrencycloudCredentials::new(LOGIN_ID, API_KEY).unwrap();
        let mut d = Drive::new(Session::new(Currencycloud::default(), credentials));
        let user = Level::User;

        // Login on the first call.
        d.not_ready(user, NotReady::LoggingIn);
        d.answer_sent(currencycloud::LOGIN_PATH, 200, LOGIN_OK);
        d.events(&[Seen::LoggedIn(1)]);

        // Calls, one of them slowed down.
        for _ in 0..3 {
            assert_eq!(
                d.call(user, "X-Auth-Token", TOKEN, 200, BALANCES_OK),
                Verdict::Ok
            );
        }
        let slowed = d.call(user, "X-Auth-Token", TOKEN, 429, TOO_MANY_REQUESTS);
        assert!(matches!(slowed, Verdict::RateLimited { .. }));

        // The token is refused; the login that follows fails once, then
        // succeeds after the backoff.
        let refused = d.call(user, "X-Auth-Token", TOKEN, 401, AUTH_FAILED);
        assert_eq!(refused, Verdict::Replay);
        d.answer_sent(currencycloud::LOGIN_PATH, 503, SERVICE_UNAVAILABLE);
        d.events(&[Seen::Expired(ExpiryReason::Refused), Seen::RetryScheduled]);
        d.sleep_until_timeout();
        d.answer_sent(currencycloud::LOGIN_PATH, 200, NEXT_LOGIN_OK);
        d.events(&[Seen::LoggedIn(2)]);
        assert_eq!(
            d.call(user, "X-Auth-Token", NEXT_TOKEN, 200, BALANCES_OK),
            Verdict::Ok
        );

        // Idle expiry, and a login again on the next call.
        d.sleep_until_timeout();
        d.events(&[Seen::Expired(ExpiryReason::Idle)]);
        d.not_ready(user, NotReady::LoggingIn);
        d.answer_sent(currencycloud::LOGIN_PATH, 200, LOGIN_OK);
        d.events(&[Seen::LoggedIn(3)]);
        assert_eq!(
            d.call(user, "X-Auth-Token", TOKEN, 200, BALANCES_OK),
            Verdict::Ok
        );

        // Logout.
        d.session.logout(d.now);
        d.answer_sent(currencycloud::LOGOUT_PATH, 200, LOGOUT_OK);
        d.events(&[Seen::LoggedOut]);

        // A refused login, and an explicit login after it.
        d.session.login(d.now);
        d.answer_sent(currencycloud::LOGIN_PATH, 401, AUTH_FAILED);
        d.events(&[Seen::LoginRejected]);
        assert!(d.session.last_error().is_some());
        d.not_ready(user, NotReady::Rejected);
        d.session.login(d.now);
        d.answer_sent(currencycloud::LOGIN_PATH, 200, LOGIN_OK);
        d.events(&[Seen::LoggedIn(4)]);
        d.session.logout(d.now);
        d.answer_sent(currencycloud::LOGOUT_PATH, 200, LOGOUT_OK);
        d.events(&[Seen::LoggedOut]);
        assert_eq!(d.session.state(), SessionState::LoggedOut);
    });
}

// ---- Weavr ----

const WEAVR_API_KEY: &str = "Wv4yT0sQm8Lx2Nc6Rk9BzA==";
const ACCESS_TOKEN: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMDk4NzYiLCJpZGVudGl0eSI6IjEwOTg3NiJ9.c2lnLTE";
const WEAVR_LOGIN_OK: &str = r#"{"token":"auth.7f3c9a1e5b2d4c6f8a0b1c2d3e4f5a6b","tokenType":"AUTH","identity":{"type":"CORPORATE","id":"109876"},"credentials":{"type":"ROOT","id":"109876"}}"#;
const IDENTITIES: &str = r#"{"identities":[{"id":{"type":"CORPORATE","id":"109876"},"name":"Identity 109876"}],"count":1,"responseCount":1}"#;
const ACCESS_OK: &str = r#"{"token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMDk4NzYiLCJpZGVudGl0eSI6IjEwOTg3NiJ9.c2lnLTE","identity":{"type":"CORPORATE","id":"109876"},"credentials":{"type":"ROOT","id":"109876"},"status":"STANDARD"}"#;
const ACCOUNTS_OK: &str = r#"{"accounts":[],"count":0,"responseCount":0}"#;

/// Weavr's three login steps (no identity configured), answered.
fn weavr_login(d: &mut Drive<Weavr>) {
    d.answer_sent(weavr::LOGIN_PATH, 200, WEAVR_LOGIN_OK);
    d.answer_sent(weavr::IDENTITIES_PATH, 200, IDENTITIES);
    d.answer_sent(weavr::ACCESS_TOKEN_PATH, 200, ACCESS_OK);
}

#[test]
fn a_weavr_session_with_step_up_allocates_nothing() {
    allocates_nothing(|| {
        let credentials =
            WeavrCredentials::new(WEAVR_API_KEY, "ada@example.com", "s3cret-Passw0rd!").unwrap();
        let mut d = Drive::new(Session::new(Weavr::default(), credentials));
        let (user, bearer) = (Level::User, "Authorization");

        d.not_ready(user, NotReady::LoggingIn);
        weavr_login(&mut d);
        d.events(&[Seen::LoggedIn(1)]);
        assert_eq!(d.session.provider().identity().unwrap().id, "109876");
        for _ in 0..3 {
            assert_eq!(
                d.call(user, bearer, ACCESS_TOKEN, 200, ACCOUNTS_OK),
                Verdict::Ok
            );
        }

        // A call needs step-up: a challenge by SMS, a wrong code, the
        // right one.
        let step_up = r#"{"errorCode":"STEP_UP_REQUIRED"}"#;
        assert_eq!(
            d.call(user, bearer, ACCESS_TOKEN, 403, step_up),
            Verdict::StepUp
        );
        d.events(&[Seen::StepUpRequired]);
        d.not_ready(Level::SteppedUp, NotReady::StepUpRequired);
        d.session.start_step_up(Channel::Sms, d.now).unwrap();
        d.answer_sent(
            "/stepup/challenges/otp/SMS",
            200,
            r#"{"id":"110138374263767555"}"#,
        );
        d.events(&[Seen::CodeSent]);
        d.session.submit_code("000000", d.now).unwrap();
        let invalid = r#"{"errorCode":"VERIFICATION_CODE_INVALID"}"#;
        d.answer_sent("/stepup/challenges/otp/SMS/verify", 409, invalid);
        d.events(&[Seen::StepUpFailed]);
        assert_eq!(
            d.session.step_up_state(),
            StepUpState::CodeSent(Channel::Sms)
        );
        d.session.submit_code("918273", d.now).unwrap();
        d.answer_sent("/stepup/challenges/otp/SMS/verify", 204, "");
        d.events(&[Seen::SteppedUp]);
        let stepped_up = d.call(Level::SteppedUp, bearer, ACCESS_TOKEN, 200, ACCOUNTS_OK);
        assert_eq!(stepped_up, Verdict::Ok);

        // Idle expiry; the next call logs in again, all three steps.
        d.sleep_until_timeout();
        d.events(&[Seen::Expired(ExpiryReason::Idle)]);
        d.not_ready(user, NotReady::LoggingIn);
        weavr_login(&mut d);
        d.events(&[Seen::LoggedIn(2)]);
        assert_eq!(d.session.step_up_state(), StepUpState::NotNeeded);

        // A refused token, a re-login, then logout.
        assert_eq!(d.call(user, bearer, ACCESS_TOKEN, 401, ""), Verdict::Replay);
        d.events(&[Seen::Expired(ExpiryReason::Refused)]);
        weavr_login(&mut d);
        d.events(&[Seen::LoggedIn(3)]);
        assert_eq!(
            d.call(user, bearer, ACCESS_TOKEN, 200, ACCOUNTS_OK),
            Verdict::Ok
        );
        d.session.logout(d.now);
        d.answer_sent(weavr::LOGOUT_PATH, 204, "");
        d.events(&[Seen::LoggedOut]);
        assert_eq!(d.session.state(), SessionState::LoggedOut);
    });
}

// ---- the access-key API ----

/// The JWT of seed `002_39cc3a60aa172f9f`, exactly as printed: `iat`
/// 1691151257, `exp` an hour later, in a payload whose first key lacks its
/// opening quote (`{ uid":`), which the core reads all the same.
const SEED_JWT: &str = "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyB1aWQiOiI2NWQwZjVjOS03ZmIwLTQ1NWMtOTAzNi05ZTcyZjBhOGQwZjYiLCJhciI6WyJQYXJ0bmVyIiwiUGFydG5lckFkbWluIl0sImFrIjoiNDU3NzFlYTEtYjAxMi00YjgwLThiYTQtNDk4OTFjNWQ4ZDQ3IiwicmVhbG0iOiJQYXJ0bmVyIiwiY2EiOiIwZWE3MDAwMS0wZjU4LTQ0YTItODBhZC05NTM2MzNmZjJjYzciLCJjaWQiOiIyOTI2MzczOS0yY2Y4LTQ4M2QtYWYxNS02MTUxZGM4NDQ4YjQiLCJkb21haW4iOiIvcGFydG5lcnMtaW50IiwiaWF0IjoxNjkxMTUxMjU3LCJleHAiOjE2OTExNTQ4NTd9.wBdfxnNYap0_M-omZUmnor7lB6c3ooVK2AENYtsIcfLzofW5bvkYgQzhaVABtJsU";
/// The same token with the quote put back (`eyB1aWQi` → `eyJ1aWQi`), its
/// payload JSON, as the sandbox's tokens are.
const JWT: &str = "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyJ1aWQiOiI2NWQwZjVjOS03ZmIwLTQ1NWMtOTAzNi05ZTcyZjBhOGQwZjYiLCJhciI6WyJQYXJ0bmVyIiwiUGFydG5lckFkbWluIl0sImFrIjoiNDU3NzFlYTEtYjAxMi00YjgwLThiYTQtNDk4OTFjNWQ4ZDQ3IiwicmVhbG0iOiJQYXJ0bmVyIiwiY2EiOiIwZWE3MDAwMS0wZjU4LTQ0YTItODBhZC05NTM2MzNmZjJjYzciLCJjaWQiOiIyOTI2MzczOS0yY2Y4LTQ4M2QtYWYxNS02MTUxZGM4NDQ4YjQiLCJkb21haW4iOiIvcGFydG5lcnMtaW50IiwiaWF0IjoxNjkxMTUxMjU3LCJleHAiOjE2OTExNTQ4NTd9.wBdfxnNYap0_M-omZUmnor7lB6c3ooVK2AENYtsIcfLzofW5bvkYgQzhaVABtJsU";
const SERVER_ERROR: &str = r#"{"statusCode":"Error","error":{"message":"Internal server error","name":"InternalServerError"}}"#;
const BAD_KEY: &str = r#"{"statusCode":"Error","error":{"message":"Service was unable to complete your request.","name":"AuthenticationError","code":"AuthenticationError","details":{"reason":"AccessKeyUnauthorized"}}}"#;

#[test]
fn an_access_key_session_allocates_nothing() {
    allocates_nothing(|| {
        let credentials = AccessKeyCredentials::new(
            "986d8167a9b9a15e37db4ab4ad50877b01347a94",
            "79bPqahzbeYuIgyod1GBjsBy38wN7KuBBNNmN/emwjFCuAfq",
        )
        .unwrap();
        // The refresh below is left unanswered until the token lapses,
        // which is later than the default deadline of a request.
        let config = Config {
            request_timeout: core::time::Duration::from_secs(3600),
            ..Config::default()
        };
        let mut d = Drive::new(Session::with_config(AccessKey, credentials, config));
        let (user, bearer) = (Level::User, "Authorization");

        d.not_ready(user, NotReady::LoggingIn);
        d.answer_sent(access_key::LOGIN_PATH, 201, SEED_JWT);
        d.events(&[Seen::LoggedIn(1)]);
        for _ in 0..3 {
            assert_eq!(d.call(user, bearer, SEED_JWT, 200, "{}"), Verdict::Ok);
        }

        // Ahead of `exp`, a refresh login while the token keeps serving.
        d.sleep_until_timeout();
        let refresh = d.sent(access_key::LOGIN_PATH);
        assert_eq!(d.call(user, bearer, SEED_JWT, 200, "{}"), Verdict::Ok);
        d.answer(refresh, 201, JWT);
        d.events(&[Seen::LoggedIn(2)]);

        // A refresh that is not answered before `exp`: the token lapses,
        // and the login in flight brings the next one.
        d.sleep_until_timeout();
        let late = d.sent(access_key::LOGIN_PATH);
        d.sleep_until_timeout();
        d.events(&[Seen::Expired(ExpiryReason::Lifetime)]);
        d.not_ready(user, NotReady::LoggingIn);
        d.answer(late, 201, SEED_JWT);
        d.events(&[Seen::LoggedIn(3)]);

        // A refused token; the login after it fails once and is retried
        // after a backoff.
        assert_eq!(d.call(user, bearer, SEED_JWT, 401, ""), Verdict::Replay);
        d.answer_sent(access_key::LOGIN_PATH, 500, SERVER_ERROR);
        d.events(&[Seen::Expired(ExpiryReason::Refused), Seen::RetryScheduled]);
        d.sleep_until_timeout();
        d.answer_sent(access_key::LOGIN_PATH, 201, JWT);
        d.events(&[Seen::LoggedIn(4)]);
        assert_eq!(d.call(user, bearer, JWT, 200, "{}"), Verdict::Ok);

        // Logout forgets the token locally: the API has no endpoint.
        d.session.logout(d.now);
        assert!(d.session.poll_transmit().is_none());
        d.events(&[Seen::LoggedOut]);

        // A refused key is not retried.
        d.advance(Duration::from_secs(1));
        d.session.login(d.now);
        d.answer_sent(access_key::LOGIN_PATH, 401, BAD_KEY);
        d.events(&[Seen::LoginRejected]);
        d.not_ready(user, NotReady::Rejected);
    });
}
