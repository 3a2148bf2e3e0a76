//! The access-key JWT API, scripted against the core with the seed's
//! bodies: the login and its bare JWT, claims read without a heap, expiry
//! planned from `exp - iat` on our own clock, refresh ahead of expiry with
//! jitter, errors, and the local-only logout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use authsession_core::jwt::{Claims, JwtError, decode_claims};
use authsession_core::providers::{AccessKey, AccessKeyCredentials};
use authsession_core::{
    Config, Error, Event, Instant, Level, NotReady, RequestId, ResponseParts, Session,
    SessionState, Verdict,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const ACCESS_KEY: &str = "986d8167a9b9a15e37db4ab4ad50877b01347a94";
const SECRET: &str = "79bPqahzbeYuIgyod1GBjsBy38wN7KuBBNNmN/emwjFCuAfq";

/// The token exactly as the vendor's page prints it. Its payload is not
/// quite JSON: the first key, `uid`, lacks its opening quote.
const SEED_TOKEN: &str = "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyB1aWQiOiI2NWQwZjVjOS03ZmIwLTQ1NWMtOTAzNi05ZTcyZjBhOGQwZjYiLCJhciI6WyJQYXJ0bmVyIiwiUGFydG5lckFkbWluIl0sImFrIjoiNDU3NzFlYTEtYjAxMi00YjgwLThiYTQtNDk4OTFjNWQ4ZDQ3IiwicmVhbG0iOiJQYXJ0bmVyIiwiY2EiOiIwZWE3MDAwMS0wZjU4LTQ0YTItODBhZC05NTM2MzNmZjJjYzciLCJjaWQiOiIyOTI2MzczOS0yY2Y4LTQ4M2QtYWYxNS02MTUxZGM4NDQ4YjQiLCJkb21haW4iOiIvcGFydG5lcnMtaW50IiwiaWF0IjoxNjkxMTUxMjU3LCJleHAiOjE2OTExNTQ4NTd9.wBdfxnNYap0_M-omZUmnor7lB6c3ooVK2AENYtsIcfLzofW5bvkYgQzhaVABtJsU";

/// The seed's 400 body.
const MISSING_SECRET: &str = r#"{"statusCode":"Error","error":{"name":"InvalidRequestFormatError","message":"The request body is invalid. See error object `details` property for more info","details":[{"path":"","code":"required","message":"must have required property 'secret'","info":{"missingProperty":"secret"}}]}}"#;

/// The seed's 401 body.
const KEY_REFUSED: &str = r#"{"statusCode":"Error","error":{"message":"Service was unable to complete your request.","name":"AuthenticationError","code":"AuthenticationError","details":{"reason":"AccessKeyUnauthorized"}}}"#;

/// A token with this JSON as its payload.
fn token_with(payload: &str) -> String {
    format!(
        "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(payload)
    )
}

fn token_living(seconds: u64, tag: u32) -> String {
    token_with(&format!(
        r#"{{"uid":"u-{tag}","iat":1691151257,"exp":{}}}"#,
        1_691_151_257 + seconds
    ))
}

fn session(config: Config) -> Session<AccessKey> {
    let credentials = AccessKeyCredentials::new(ACCESS_KEY, SECRET).unwrap();
    Session::with_config(AccessKey, credentials, config)
}

/// Takes the one request the session wants sent, with its path and body.
fn take_request(session: &mut Session<AccessKey>) -> Option<(RequestId, String, String)> {
    let transmit = session.poll_transmit()?;
    let id = transmit.id;
    let path = transmit.path.to_owned();
    let body = String::from_utf8(transmit.body.to_vec()).unwrap();
    assert!(session.poll_transmit().is_none(), "one request at a time");
    Some((id, path, body))
}

fn drain_events(session: &mut Session<AccessKey>) -> Vec<String> {
    let mut events = Vec::new();
    while let Some(event) = session.poll_event() {
        events.push(format!("{event:?}"));
        assert!(events.len() < 32, "runaway events");
    }
    events
}

/// Logs in at `now` with `token` as the 201 body.
fn log_in(session: &mut Session<AccessKey>, now: Instant, token: &str) {
    assert!(session.authorize(Level::User, now).is_err());
    let (id, path, _) = take_request(session).expect("a login");
    assert_eq!(path, "/login");
    session.handle_response(id, &ResponseParts::new(201, token.as_bytes()), now);
    drain_events(session);
    assert_eq!(session.state(), SessionState::Active);
}

fn bearer(session: &mut Session<AccessKey>, now: Instant) -> Option<String> {
    let grant = session.authorize(Level::User, now).ok()?;
    let [prefix, value] = grant.headers.get("Authorization")?.parts();
    Some(format!("{prefix}{value}"))
}

fn at(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

#[test]
fn the_seed_token_is_read_and_lives_an_hour() {
    let claims = decode_claims(SEED_TOKEN).unwrap();
    assert_eq!(
        claims,
        Claims {
            issued_at: Some(1_691_151_257),
            expires_at: Some(1_691_154_857),
        }
    );
    // An hour, less the second lost to whole-second claims.
    assert_eq!(claims.lifetime(), Some(Duration::from_secs(3599)));
    // The same claims as proper JSON read the same.
    let proper = token_with(
        r#"{"uid":"65d0f5c9","ar":["Partner","PartnerAdmin"],"realm":"Partner","iat":1691151257,"exp":1691154857}"#,
    );
    assert_eq!(decode_claims(&proper).unwrap(), claims);
}

#[test]
fn tokens_without_iat_or_exp_are_read_without_them() {
    let no_iat = decode_claims(&token_with(r#"{"exp":1691154857}"#)).unwrap();
    assert_eq!(
        (no_iat.issued_at, no_iat.expires_at),
        (None, Some(1_691_154_857))
    );
    assert_eq!(no_iat.lifetime(), None);
    let no_exp = decode_claims(&token_with(r#"{"iat":1691151257,"sub":"x"}"#)).unwrap();
    assert_eq!(no_exp.expires_at, None);
    assert_eq!(no_exp.lifetime(), None);
    let neither = decode_claims(&token_with(r#"{"ar":[["deep"]],"n":null,"f":1.5}"#)).unwrap();
    assert_eq!(neither, Claims::default());
}

#[test]
fn malformed_tokens_are_typed_errors() {
    let invalid = |problem| Err(Error::InvalidJwt(problem));
    assert_eq!(decode_claims("a.b"), invalid(JwtError::NotThreeParts));
    assert_eq!(decode_claims("a.b.c.d"), invalid(JwtError::NotThreeParts));
    assert_eq!(decode_claims("a..c"), invalid(JwtError::NotThreeParts));
    assert_eq!(decode_claims(""), invalid(JwtError::NotThreeParts));
    // Padding is not base64url as JWTs write it.
    let padded = format!("{}=", token_with(r#"{"exp":1}"#));
    assert_eq!(decode_claims(&padded), invalid(JwtError::NotBase64Url));
    assert_eq!(decode_claims("a.b+c.d"), invalid(JwtError::NotBase64Url));
    assert_eq!(
        decode_claims(&token_with("hello")),
        invalid(JwtError::PayloadNotJson)
    );
    assert_eq!(
        decode_claims(&token_with("[1,2]")),
        invalid(JwtError::PayloadNotJson)
    );
    assert_eq!(
        decode_claims(&token_with(r#"{"exp":-5}"#)),
        invalid(JwtError::BadTime)
    );
    assert!(decode_claims(&token_with(r#"{"exp":1e400}"#)).is_err());
    let huge = token_with(&format!(r#"{{"pad":"{}","exp":1}}"#, "x".repeat(4000)));
    assert!(matches!(decode_claims(&huge), Err(Error::Overflow { .. })));
    let deep = token_with(&format!("{}{}", "[".repeat(500), "]".repeat(500)));
    assert!(decode_claims(&deep).is_err());
}

#[test]
fn the_login_body_is_the_key_pair_as_json() {
    let mut session = session(Config::default());
    session.login(at(0));
    let (_, path, body) = take_request(&mut session).unwrap();
    assert_eq!(path, "/login");
    assert_eq!(
        body,
        format!(r#"{{"accessKey":"{ACCESS_KEY}","secret":"{SECRET}"}}"#)
    );
}

#[test]
fn the_bare_jwt_is_trimmed_and_sent_as_a_bearer_token() {
    let mut session = session(Config::default());
    log_in(&mut session, at(0), &format!("  {SEED_TOKEN}\r\n"));
    assert_eq!(
        bearer(&mut session, at(1)).unwrap(),
        format!("Bearer {SEED_TOKEN}")
    );
}

#[test]
fn a_login_answer_that_is_not_a_jwt_is_never_used() {
    for body in [
        "not a token",
        "a.b",
        "a.b.c d",
        "{\"token\":\"x\"}",
        "a.b\u{1}.c",
    ] {
        let mut session = session(Config::default());
        assert!(session.authorize(Level::User, at(0)).is_err());
        let (id, _, _) = take_request(&mut session).unwrap();
        session.handle_response(id, &ResponseParts::new(201, body.as_bytes()), at(0));
        let events = drain_events(&mut session);
        // Not retried: the server would give the same again, and each
        // login it answers is a live session.
        assert_eq!(
            session.state(),
            SessionState::Rejected,
            "{body}: {events:?}"
        );
        assert!(
            events
                .iter()
                .any(|e| e.starts_with("LoginRejected(UnusableToken(NotJwt(")),
            "{body}: {events:?}"
        );
        assert!(bearer(&mut session, at(60_000)).is_none());
        assert!(take_request(&mut session).is_none(), "one login in all");
    }
}

#[test]
fn expiry_is_planned_from_exp_minus_iat_on_our_own_clock() {
    // The server's clock says 2023; ours starts at zero. Only the lifetime
    // counts, from the instant the login was sent.
    let config = Config {
        refresh_ahead: Duration::ZERO,
        ..Config::default()
    };
    let mut session = session(config);
    log_in(&mut session, at(5_000), SEED_TOKEN);
    // 3600 s, less the second of the claims' rounding and the 30 s margin.
    let lapse = 5_000 + 3_569_000;
    assert_eq!(session.poll_timeout(), Some(at(lapse)));
    assert!(bearer(&mut session, at(lapse - 1)).is_some());
    assert_eq!(
        session.authorize(Level::User, at(lapse)).err(),
        Some(NotReady::LoggingIn),
        "at the planned expiry a new login goes instead of the token"
    );
    assert!(take_request(&mut session).is_some());
}

#[test]
fn a_token_without_exp_lives_until_a_401() {
    let mut session = session(Config::default());
    log_in(&mut session, at(0), &token_with(r#"{"uid":"x"}"#));
    assert_eq!(session.poll_timeout(), None);
    let far = at(30 * 24 * 3_600_000);
    let ticket = session.authorize(Level::User, far).unwrap().ticket;
    assert_eq!(
        session.handle_reply(
            ticket,
            &ResponseParts::new(401, KEY_REFUSED.as_bytes()),
            far
        ),
        Verdict::Replay
    );
    assert!(
        take_request(&mut session).is_some(),
        "one login after the 401"
    );
}

#[test]
fn with_the_wall_clock_a_token_without_iat_is_planned_from_exp() {
    let config = Config {
        unix_time_at_zero: Some(1_691_151_257),
        refresh_ahead: Duration::ZERO,
        ..Config::default()
    };
    let mut session = session(config);
    log_in(&mut session, at(0), &token_with(r#"{"exp":1691154857}"#));
    assert_eq!(session.poll_timeout(), Some(at(3_570_000)));
    // Without the wall clock, such a token lives until a 401.
    let mut session = self::session(Config::default());
    log_in(&mut session, at(0), &token_with(r#"{"exp":1691154857}"#));
    assert_eq!(session.poll_timeout(), None);
}

#[test]
fn the_refresh_starts_ahead_of_expiry_and_the_old_token_serves_meanwhile() {
    let mut session = session(Config::default());
    let first = token_living(3600, 1);
    log_in(&mut session, at(0), &first);
    // Expiry at 3570 s; the refresh somewhere in [3450 s, 3510 s].
    let refresh_at = session.poll_timeout().unwrap();
    assert!(
        (3_450_000..=3_510_000).contains(&refresh_at.as_millis()),
        "{refresh_at:?}"
    );
    assert!(take_request(&mut session).is_none());
    session.handle_timeout(refresh_at);
    let (id, path, _) = take_request(&mut session).expect("the refresh login");
    assert_eq!(path, "/login");
    assert_eq!(
        session.state(),
        SessionState::Refreshing {
            step: authsession_core::LoginStep::FIRST
        }
    );
    // While it is in flight, calls keep the current token, and no second
    // login goes.
    assert_eq!(
        bearer(&mut session, refresh_at + Duration::from_secs(1)).unwrap(),
        format!("Bearer {first}")
    );
    assert!(take_request(&mut session).is_none());
    let second = token_living(3600, 2);
    session.handle_response(id, &ResponseParts::new(201, second.as_bytes()), refresh_at);
    assert!(
        drain_events(&mut session)
            .iter()
            .any(|e| e.contains("LoggedIn { generation: 2 }"))
    );
    assert_eq!(
        bearer(&mut session, refresh_at).unwrap(),
        format!("Bearer {second}")
    );
}

#[test]
fn a_failed_refresh_leaves_the_old_token_serving_until_it_lapses() {
    let config = Config {
        max_attempts: 1,
        ..Config::default()
    };
    let mut session = session(config);
    let first = token_living(3600, 1);
    log_in(&mut session, at(0), &first);
    let refresh_at = session.poll_timeout().unwrap();
    session.handle_timeout(refresh_at);
    let (id, _, _) = take_request(&mut session).unwrap();
    session.handle_response(id, &ResponseParts::new(503, b""), refresh_at);
    let events = drain_events(&mut session);
    assert!(events.iter().any(|e| e.starts_with("GaveUp")), "{events:?}");
    // The old token serves on, and no refresh is tried again before expiry.
    let lapse = at(3_569_000);
    assert_eq!(
        bearer(&mut session, at(3_568_999)).unwrap(),
        format!("Bearer {first}")
    );
    assert!(take_request(&mut session).is_none());
    assert!(session.authorize(Level::User, lapse).is_err());
    assert!(
        take_request(&mut session).is_some(),
        "a login when it lapses"
    );
}

#[test]
fn a_fleet_started_together_spreads_its_refreshes() {
    let refreshes: Vec<u64> = (0..100)
        .map(|seed| {
            let mut session = session(Config {
                seed,
                ..Config::default()
            });
            log_in(&mut session, at(0), &token_living(3600, 1));
            session.poll_timeout().unwrap().as_millis()
        })
        .collect();
    let earliest = refreshes.iter().min().unwrap();
    let latest = refreshes.iter().max().unwrap();
    assert!(
        latest - earliest > 45_000,
        "spread over {} ms",
        latest - earliest
    );
    assert!(*earliest >= 3_449_000 && *latest <= 3_509_000);
}

#[test]
fn a_bad_request_lists_the_missing_properties() {
    for status in [400, 422] {
        let mut session = session(Config::default());
        session.login(at(0));
        let (id, _, _) = take_request(&mut session).unwrap();
        session.handle_response(
            id,
            &ResponseParts::new(status, MISSING_SECRET.as_bytes()),
            at(0),
        );
        drain_events(&mut session);
        assert_eq!(session.state(), SessionState::Rejected);
        let Some(Error::Api(error)) = session.last_error() else {
            panic!()
        };
        assert_eq!(error.status, status);
        assert_eq!(error.code, "InvalidRequestFormatError");
        let field = error.field.as_ref().expect("the field error");
        assert_eq!(
            (field.field.as_str(), field.code.as_str()),
            ("secret", "required")
        );
    }
}

#[test]
fn a_refused_key_is_rejected_with_its_reason_and_never_retried() {
    let mut session = session(Config::default());
    session.login(at(0));
    let (id, _, _) = take_request(&mut session).unwrap();
    session.handle_response(id, &ResponseParts::new(401, KEY_REFUSED.as_bytes()), at(0));
    let events = drain_events(&mut session);
    assert!(events[0].contains("AccessKeyUnauthorized"), "{events:?}");
    let Some(Error::Api(error)) = session.last_error() else {
        panic!()
    };
    assert_eq!(error.reason, "AccessKeyUnauthorized");
    for hour in 1..=48 {
        let now = at(hour * 3_600_000);
        session.handle_timeout(now);
        assert_eq!(
            session.authorize(Level::User, now).err(),
            Some(NotReady::Rejected)
        );
        assert!(take_request(&mut session).is_none());
    }
}

#[test]
fn logout_forgets_the_token_without_a_request() {
    let mut session = session(Config::default());
    log_in(&mut session, at(0), SEED_TOKEN);
    session.logout(at(1));
    assert!(take_request(&mut session).is_none());
    assert_eq!(drain_events(&mut session), ["LoggedOut"]);
    assert_eq!(session.state(), SessionState::LoggedOut);
    assert!(session.authorize(Level::User, at(2)).is_err());
    assert!(
        take_request(&mut session).is_some(),
        "the next call logs in afresh"
    );
}

#[test]
fn no_secret_in_any_debug_or_display() {
    let mut session = session(Config::default());
    log_in(&mut session, at(0), SEED_TOKEN);
    let grant = format!("{:?}", session.authorize(Level::User, at(1)).unwrap());
    let printed = format!(
        "{session:?} {:?} {grant}",
        AccessKeyCredentials::new(ACCESS_KEY, SECRET).unwrap(),
    );
    for secret in [ACCESS_KEY, SECRET, SEED_TOKEN] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
    let event = Event::LoggedIn { generation: 1 };
    assert!(!format!("{event:?}").contains(SECRET));
}
