//! Answers a hostile or broken server can give, and the bounds the session
//! keeps whatever they are: logins counted per call (a token that lapses on
//! arrival, a token that cannot be used), waits capped (an absurd
//! `Retry-After`), requests nobody answers, and Currencycloud's payment
//! `401`s that are not about the token. Every count is of requests the
//! session handed out, which is what a server would see.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use core::time::Duration;

use authsession_core::providers::weavr::{IdentityType, Weavr, WeavrCredentials};
use authsession_core::providers::{
    AccessKey, AccessKeyCredentials, Currencycloud, CurrencycloudCredentials,
};
use authsession_core::{
    Config, Error, ErrorKind, Event, Instant, Level, NotReady, Provider, ResponseParts, Session,
    SessionState, TokenProblem, Verdict,
};
use authsession_tests::{API_KEY, AUTH_FAILED, Harness, LOGIN_ID, LOGIN_OK, mins, secs};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// What one call cost: the logins sent, the retries the session
/// scheduled, and how the call ended.
#[derive(Debug)]
struct CallCost {
    logins: usize,
    retries_scheduled: usize,
    outcome: Result<(), String>,
}

/// Drives one application call the way a client does: authorize; if not
/// ready, send what the session queued (answered `round_trip` later with
/// `answer`) or, with nothing to send, sleep until its timer, and ask
/// again; until a grant, a refusal, or the session gives up. Bounded at
/// 100 steps.
fn one_call<P: Provider>(
    session: &mut Session<P>,
    now: &mut Instant,
    round_trip: Duration,
    answer: impl Fn(&str) -> (u16, Vec<u8>),
) -> CallCost {
    let mut cost = CallCost {
        logins: 0,
        retries_scheduled: 0,
        outcome: Err("no outcome in 100 steps".into()),
    };
    for _ in 0..100 {
        match session.authorize(Level::User, *now) {
            Ok(_) => {
                cost.outcome = Ok(());
                return cost;
            }
            Err(NotReady::Rejected) => {
                cost.outcome = Err(format!("rejected: {:?}", session.last_error()));
                return cost;
            }
            Err(_) => {}
        }
        let mut sent = false;
        while let Some(transmit) = session.poll_transmit() {
            sent = true;
            let (id, path) = (transmit.id, transmit.path.to_owned());
            cost.logins += 1;
            *now = *now + round_trip;
            let (status, body) = answer(&path);
            session.handle_response(id, &ResponseParts::new(status, &body), *now);
        }
        while let Some(event) = session.poll_event() {
            match event {
                Event::GaveUp(error) => {
                    cost.outcome = Err(format!("gave up: {error:?}"));
                    return cost;
                }
                Event::RetryScheduled { .. } => cost.retries_scheduled += 1,
                _ => {}
            }
        }
        // Nothing to send: sleep until the session's timer (a backoff).
        if !sent && let Some(at) = session.poll_timeout() {
            *now = (*now).max(at);
            session.handle_timeout(*now);
        }
    }
    cost
}

fn jwt(iat: u64, exp: u64) -> Vec<u8> {
    let payload = format!(r#"{{"uid":"u-1","iat":{iat},"exp":{exp}}}"#);
    format!(
        "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.{}.c2ln",
        URL_SAFE_NO_PAD.encode(payload)
    )
    .into_bytes()
}

fn access_key_session(config: Config) -> Session<AccessKey> {
    let credentials = AccessKeyCredentials::new("access-key-1", "secret-1").unwrap();
    Session::with_config(AccessKey, credentials, config)
}

fn currencycloud_session(provider: Currencycloud, config: Config) -> Session<Currencycloud> {
    let credentials = CurrencycloudCredentials::new(LOGIN_ID, API_KEY).unwrap();
    Session::with_config(provider, credentials, config)
}

// ---- a token that lapses on arrival ----

/// A login whose token cannot serve a call is a failed attempt: one call
/// costs `max_attempts` logins, each but the first after a scheduled
/// backoff, then gives up.
fn assert_lapsed_on_arrival_backs_off(cost: &CallCost, session_error: Option<&Error>) {
    let attempts = Config::default().max_attempts as usize;
    assert_eq!(cost.logins, attempts, "{cost:?}");
    assert_eq!(cost.retries_scheduled, attempts - 1, "{cost:?}");
    assert!(cost.outcome.as_ref().unwrap_err().starts_with("gave up"));
    assert_eq!(session_error, Some(&Error::TokenLapsedOnArrival));
}

#[test]
fn a_jwt_whose_exp_equals_its_iat_backs_off_instead_of_storming() {
    let mut session = access_key_session(Config::default());
    let mut now = Instant::ZERO;
    let cost = one_call(&mut session, &mut now, Duration::from_millis(5), |_| {
        (201, jwt(1_700_000_000, 1_700_000_000))
    });
    assert_lapsed_on_arrival_backs_off(&cost, session.last_error());
}

#[test]
fn a_jwt_shorter_than_the_login_round_trip_backs_off() {
    let mut session = access_key_session(Config::default());
    let mut now = Instant::ZERO;
    // Two seconds of claims (one usable), a round trip of one and a half.
    let cost = one_call(&mut session, &mut now, Duration::from_millis(1500), |_| {
        (201, jwt(1_700_000_000, 1_700_000_002))
    });
    assert_lapsed_on_arrival_backs_off(&cost, session.last_error());
}

#[test]
fn an_idle_timeout_shorter_than_the_round_trip_backs_off() {
    let provider = Currencycloud::with_idle_timeout(Duration::from_millis(20));
    let mut session = currencycloud_session(provider, Config::default());
    let mut now = Instant::ZERO;
    let cost = one_call(&mut session, &mut now, Duration::from_millis(15), |_| {
        (200, LOGIN_OK.as_bytes().to_vec())
    });
    assert_lapsed_on_arrival_backs_off(&cost, session.last_error());
}

#[test]
fn a_short_idle_timeout_keeps_most_of_its_time_despite_the_default_margin() {
    // 300 ms idle with the default 30 s margin: the margin shrinks to half
    // the idle timeout, so one login serves calls for 150 ms after it was
    // sent, and every call moves that deadline.
    let provider = Currencycloud::with_idle_timeout(Duration::from_millis(300));
    let mut session = currencycloud_session(provider, Config::default());
    let mut now = Instant::ZERO;
    let cost = one_call(&mut session, &mut now, Duration::from_millis(5), |_| {
        (200, LOGIN_OK.as_bytes().to_vec())
    });
    assert_eq!((cost.logins, cost.outcome), (1, Ok(())));
    // 20 calls 100 ms apart, one login.
    for _ in 0..20 {
        now = now + Duration::from_millis(100);
        assert!(session.authorize(Level::User, now).is_ok());
    }
    assert!(session.poll_transmit().is_none());
    assert_eq!(session.generation(), 1);
}

// ---- a successful login with a token that cannot be used ----

#[test]
fn an_unusable_token_ends_the_login_after_one_try() {
    let cases: [(&[u8], TokenProblem); 5] = [
        (br#"{"auth_token":""}"#, TokenProblem::Empty),
        (br#"{"auth_token":"ab cd"}"#, TokenProblem::NotHeaderSafe),
        (br#"{"auth_token":"ab\u0000cd"}"#, TokenProblem::Escaped),
        (br#"{"auth_token":"ab\r\ncd"}"#, TokenProblem::Escaped),
        (
            br#"{"auth_token":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"}"#,
            TokenProblem::TooLong { capacity: 64 },
        ),
    ];
    for (body, problem) in cases {
        let mut session = currencycloud_session(Currencycloud::default(), Config::default());
        let mut now = Instant::ZERO;
        let mut logins = 0;
        // Three calls, an hour apart: still the one login.
        for _ in 0..3 {
            logins += one_call(&mut session, &mut now, Duration::from_millis(5), |_| {
                (200, body.to_vec())
            })
            .logins;
            now = now + mins(60);
            session.handle_timeout(now);
        }
        assert_eq!(logins, 1, "{problem:?}");
        assert_eq!(session.state(), SessionState::Rejected);
        assert_eq!(session.last_error(), Some(&Error::UnusableToken(problem)));
        // The caller's own login tries once more.
        session.login(now);
        assert!(session.poll_transmit().is_some());
    }
}

#[test]
fn a_login_answer_that_is_not_a_jwt_costs_one_login() {
    for body in ["", "not-a-jwt", "a.b", "a.b.c d", "a.b\r\n.c"] {
        let mut session = access_key_session(Config::default());
        let mut now = Instant::ZERO;
        let cost = one_call(&mut session, &mut now, Duration::from_millis(5), |_| {
            (201, body.as_bytes().to_vec())
        });
        assert_eq!(cost.logins, 1, "{body:?}: {cost:?}");
        assert!(
            matches!(session.last_error(), Some(Error::UnusableToken(_))),
            "{body:?}: {:?}",
            session.last_error()
        );
    }
}

#[test]
fn a_weavr_exchange_with_an_unusable_token_costs_one_login() {
    let credentials = WeavrCredentials::new("weavr-key", "ada@example.com", "pw").unwrap();
    let provider = Weavr::default()
        .with_identity(IdentityType::Corporate, "109876")
        .unwrap();
    let mut session = Session::new(provider, credentials);
    let mut now = Instant::ZERO;
    let mut paths = Vec::new();
    for _ in 0..3 {
        let cost = one_call(&mut session, &mut now, Duration::from_millis(5), |path| {
            if path == "/login_with_password" {
                (200, br#"{"token":"auth-1","tokenType":"AUTH"}"#.to_vec())
            } else {
                (
                    200,
                    br#"{"token":"access one","status":"STANDARD"}"#.to_vec(),
                )
            }
        });
        paths.push(cost.logins);
        now = now + mins(10);
    }
    // The password login and the exchange, once; no call after retries.
    assert_eq!(paths, [2, 0, 0]);
    assert_eq!(
        session.last_error(),
        Some(&Error::UnusableToken(TokenProblem::NotHeaderSafe))
    );
}

// ---- an absurd Retry-After ----

fn absurd_503() -> ResponseParts<'static> {
    ResponseParts::new(503, b"").with_headers(&[("Retry-After", b"31536000000")])
}

#[test]
fn retry_after_is_capped_and_new_credentials_or_login_end_the_wait() {
    let mut session = currencycloud_session(Currencycloud::default(), Config::default());
    let now = Instant::ZERO;
    session.login(now);
    let login = session.poll_transmit().unwrap().id;
    session.handle_response(login, &absurd_503(), now);
    let SessionState::Waiting { until, .. } = session.state() else {
        panic!("{:?}", session.state());
    };
    assert_eq!(until, now + Config::default().max_retry_after);

    // New credentials: the next call logs in at once.
    session.set_credentials(CurrencycloudCredentials::new(LOGIN_ID, API_KEY).unwrap());
    assert_eq!(
        session.authorize(Level::User, now).err(),
        Some(NotReady::LoggingIn)
    );
    let login = session.poll_transmit().unwrap().id;
    session.handle_response(login, &absurd_503(), now);

    // An explicit login: at once too.
    session.login(now);
    let login = session.poll_transmit().unwrap().id;
    session.handle_response(login, &ResponseParts::new(200, LOGIN_OK.as_bytes()), now);
    assert!(session.authorize(Level::User, now).is_ok());
}

#[test]
fn an_absurd_retry_after_on_a_call_is_capped_too() {
    let mut h = Harness::logged_in();
    let ticket = h.grant().ticket;
    let reply = ResponseParts::new(429, b"").with_headers(&[("Retry-After", b"31536000000")]);
    assert_eq!(
        h.reply_with(ticket, &reply),
        Verdict::RateLimited {
            until: h.now + mins(5)
        }
    );
}

// ---- a request nobody answers ----

#[test]
fn a_login_nobody_answers_fails_at_its_deadline_and_its_late_answer_is_ignored() {
    let mut session = currencycloud_session(Currencycloud::default(), Config::default());
    let start = Instant::ZERO;
    session.login(start);
    let lost = session.poll_transmit().unwrap().id;
    let deadline = start + Config::default().request_timeout;
    assert_eq!(session.poll_timeout(), Some(deadline));

    session.handle_timeout(deadline);
    assert!(matches!(session.state(), SessionState::Waiting { .. }));
    assert_eq!(session.last_error(), Some(&Error::Timeout));
    // The late answer changes nothing; the retry goes after the backoff.
    session.handle_response(
        lost,
        &ResponseParts::new(200, LOGIN_OK.as_bytes()),
        deadline,
    );
    assert_eq!(session.generation(), 0);
    let retry_at = session.poll_timeout().unwrap();
    session.handle_timeout(retry_at);
    assert!(session.poll_transmit().is_some());
}

#[test]
fn a_logout_nobody_answers_ends_logged_out() {
    let mut h = Harness::logged_in();
    h.logout();
    h.take_one_sent();
    assert_eq!(h.state(), SessionState::LoggingOut);
    let deadline = h.session.poll_timeout().unwrap();
    assert_eq!(deadline, h.now + secs(60));
    h.set_now(deadline);
    h.timeout();
    assert_eq!(h.state(), SessionState::LoggedOut);
}

// ---- Currencycloud's payment 401s ----

#[test]
fn a_payment_sca_401_is_the_calls_error_and_the_token_stays() {
    let bodies = [
        r#"{"error_code":"sca_check_failed","error_messages":{"x-sca-id":[{"code":"sca_required","message":"SCA required","params":{}}]}}"#,
        r#"{"error_code":"sca_required","error_messages":{}}"#,
        r#"{"error_code":"sca_check_failed","error_messages":{"x-sca-token":[{"code":"x-sca-token","message":"x-sca-token has expired","params":{}}]}}"#,
    ];
    for body in bodies {
        let mut h = Harness::logged_in();
        let ticket = h.grant().ticket;
        let verdict = h.reply(ticket, 401, body);
        let Verdict::Fatal(Error::Api(api)) = verdict else {
            panic!("{body}: {verdict:?}");
        };
        assert!(matches!(api.kind, ErrorKind::PaymentSca(_)), "{body}");
        // No login, and the token still serves.
        assert!(h.nothing_sent(), "{body}");
        h.grant();
        assert_eq!(h.session.generation(), 1);
    }
}

#[test]
fn only_the_tokens_own_refusal_expires_it() {
    for body in [AUTH_FAILED, "", r#"{"error_code":"something_new"}"#] {
        let mut h = Harness::logged_in();
        let ticket = h.grant().ticket;
        assert_eq!(h.reply(ticket, 401, body), Verdict::Replay, "{body}");
        assert_eq!(h.take_one_sent().path, "/v2/authenticate/api", "{body}");
    }
}
