//! The access-key JWT API, scripted against the core with the seed's
//! bodies: the login and its bare JWT, claims read without a heap, expiry
//! planned from `exp - iat` on our own clock, refresh ahead of expiry with
//! jitter, errors, and the local-only logout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use core::time::Duration;

use authsession_core::jwt::{Claims, JwtError, decode_claims};
use authsession_core::{
    Config, Error, Event, LoginStep, NotReady, SessionState, TokenProblem, Verdict,
};
use authsession_tests::access_key::{
    ACCESS_KEY, KEY_REFUSED, MISSING_SECRET, SECRET, SEED_TOKEN, credentials, jwt_living, jwt_of,
};
use authsession_tests::{Harness, Seen, at, hours, millis, secs};

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
    assert_eq!(claims.lifetime(), Some(secs(3599)));
    // The same claims as proper JSON read the same.
    let proper = jwt_of(
        r#"{"uid":"65d0f5c9","ar":["Partner","PartnerAdmin"],"realm":"Partner","iat":1691151257,"exp":1691154857}"#,
    );
    assert_eq!(decode_claims(&proper).unwrap(), claims);
}

#[test]
fn tokens_without_iat_or_exp_are_read_without_them() {
    let no_iat = decode_claims(&jwt_of(r#"{"exp":1691154857}"#)).unwrap();
    assert_eq!(
        (no_iat.issued_at, no_iat.expires_at),
        (None, Some(1_691_154_857))
    );
    assert_eq!(no_iat.lifetime(), None);
    let no_exp = decode_claims(&jwt_of(r#"{"iat":1691151257,"sub":"x"}"#)).unwrap();
    assert_eq!(no_exp.expires_at, None);
    assert_eq!(no_exp.lifetime(), None);
    let neither = decode_claims(&jwt_of(r#"{"ar":[["deep"]],"n":null,"f":1.5}"#)).unwrap();
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
    let padded = format!("{}=", jwt_of(r#"{"exp":1}"#));
    assert_eq!(decode_claims(&padded), invalid(JwtError::NotBase64Url));
    assert_eq!(decode_claims("a.b+c.d"), invalid(JwtError::NotBase64Url));
    assert_eq!(
        decode_claims(&jwt_of("hello")),
        invalid(JwtError::PayloadNotJson)
    );
    assert_eq!(
        decode_claims(&jwt_of("[1,2]")),
        invalid(JwtError::PayloadNotJson)
    );
    assert_eq!(
        decode_claims(&jwt_of(r#"{"exp":-5}"#)),
        invalid(JwtError::BadTime)
    );
    assert!(decode_claims(&jwt_of(r#"{"exp":1e400}"#)).is_err());
    let huge = jwt_of(&format!(r#"{{"pad":"{}","exp":1}}"#, "x".repeat(4000)));
    assert!(matches!(decode_claims(&huge), Err(Error::Overflow { .. })));
    let deep = jwt_of(&format!("{}{}", "[".repeat(500), "]".repeat(500)));
    assert!(decode_claims(&deep).is_err());
}

#[test]
fn the_login_body_is_the_key_pair_as_json() {
    let mut h = Harness::access_key();
    h.login();
    let login = h.take_one_sent();
    assert_eq!(login.path, "/login");
    assert_eq!(
        login.body_text(),
        format!(r#"{{"accessKey":"{ACCESS_KEY}","secret":"{SECRET}"}}"#)
    );
}

#[test]
fn the_bare_jwt_is_trimmed_and_sent_as_a_bearer_token() {
    let mut h = Harness::access_key();
    h.log_in(&format!("  {SEED_TOKEN}\r\n"));
    h.now = at(millis(1));
    assert_eq!(h.bearer(), format!("Bearer {SEED_TOKEN}"));
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
        let mut h = Harness::access_key();
        assert!(h.authorize().is_err());
        let login = h.take_one_sent();
        h.answer(&login, 201, body);
        let events = h.take_events();
        // Not retried: the server would give the same again, and each
        // login it answers is a live session.
        assert_eq!(h.state(), SessionState::Rejected, "{body}: {events:?}");
        assert!(
            events.iter().any(|e| matches!(
                e,
                Seen::LoginRejected(Error::UnusableToken(TokenProblem::NotJwt(_)))
            )),
            "{body}: {events:?}"
        );
        h.now = at(secs(60));
        assert!(h.authorize().is_err());
        assert!(h.nothing_sent(), "one login in all");
        assert_eq!(h.all_sent.len(), 1, "one login in all");
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
    let mut h = Harness::access_key_with(config);
    h.now = at(secs(5));
    h.log_in(SEED_TOKEN);
    // 3600 s, less the second of the claims' rounding and the 30 s margin.
    let lapse = at(secs(5) + secs(3569));
    assert_eq!(h.session.poll_timeout(), Some(lapse));
    h.now = lapse.saturating_sub(millis(1));
    assert_eq!(h.bearer(), format!("Bearer {SEED_TOKEN}"));
    h.now = lapse;
    assert_eq!(
        h.authorize().err(),
        Some(NotReady::LoggingIn),
        "at the planned expiry a new login goes instead of the token"
    );
    h.take_one_sent();
}

#[test]
fn a_token_without_exp_lives_until_a_401() {
    let mut h = Harness::access_key();
    h.log_in(&jwt_of(r#"{"uid":"x"}"#));
    assert_eq!(h.session.poll_timeout(), None);
    h.now = at(hours(30 * 24));
    let ticket = h.grant().ticket;
    assert_eq!(h.reply(ticket, 401, KEY_REFUSED), Verdict::Replay);
    // One login after the 401.
    h.take_one_sent();
}

#[test]
fn with_the_wall_clock_a_token_without_iat_is_planned_from_exp() {
    let config = Config {
        unix_time_at_zero: Some(1_691_151_257),
        refresh_ahead: Duration::ZERO,
        ..Config::default()
    };
    let mut h = Harness::access_key_with(config);
    h.log_in(&jwt_of(r#"{"exp":1691154857}"#));
    assert_eq!(h.session.poll_timeout(), Some(at(secs(3570))));
    // Without the wall clock, such a token lives until a 401.
    let mut h = Harness::access_key();
    h.log_in(&jwt_of(r#"{"exp":1691154857}"#));
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn the_refresh_starts_ahead_of_expiry_and_the_old_token_serves_meanwhile() {
    let mut h = Harness::access_key();
    let first = jwt_living(3600, 1);
    h.log_in(&first);
    // Expiry at 3570 s; the refresh somewhere in [3450 s, 3510 s].
    let refresh_at = h.session.poll_timeout().unwrap();
    assert!(
        (at(secs(3450))..=at(secs(3510))).contains(&refresh_at),
        "{refresh_at:?}"
    );
    assert!(h.nothing_sent());
    h.now = refresh_at;
    h.timeout();
    let refresh = h.take_one_sent();
    assert_eq!(refresh.path, "/login");
    assert_eq!(
        h.state(),
        SessionState::Refreshing {
            step: LoginStep::FIRST
        }
    );
    // While it is in flight, calls keep the current token, and no second
    // login goes.
    h.now = refresh_at + secs(1);
    assert_eq!(h.bearer(), format!("Bearer {first}"));
    assert!(h.nothing_sent());
    let second = jwt_living(3600, 2);
    h.now = refresh_at;
    h.answer(&refresh, 201, &second);
    assert!(h.take_events().contains(&Seen::LoggedIn { generation: 2 }));
    assert_eq!(h.bearer(), format!("Bearer {second}"));
}

#[test]
fn a_failed_refresh_leaves_the_old_token_serving_until_it_lapses() {
    let config = Config {
        max_attempts: 1,
        ..Config::default()
    };
    let mut h = Harness::access_key_with(config);
    let first = jwt_living(3600, 1);
    h.log_in(&first);
    h.sleep_until_timeout();
    let refresh = h.take_one_sent();
    h.answer(&refresh, 503, "");
    let events = h.take_events();
    assert!(
        events.iter().any(|e| matches!(e, Seen::GaveUp(_))),
        "{events:?}"
    );
    // The old token serves on, and no refresh is tried again before expiry.
    let lapse = at(secs(3569));
    h.now = lapse.saturating_sub(millis(1));
    assert_eq!(h.bearer(), format!("Bearer {first}"));
    assert!(h.nothing_sent());
    h.now = lapse;
    assert!(h.authorize().is_err());
    // A login when it lapses.
    h.take_one_sent();
}

#[test]
fn a_fleet_started_together_spreads_its_refreshes() {
    let refreshes: Vec<u64> = (0..100)
        .map(|seed| {
            let mut h = Harness::access_key_with(Config {
                seed,
                ..Config::default()
            });
            h.log_in(&jwt_living(3600, 1));
            h.session.poll_timeout().unwrap().as_millis()
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
        let mut h = Harness::access_key();
        h.login();
        let login = h.take_one_sent();
        h.answer(&login, status, MISSING_SECRET);
        let events = h.take_events();
        assert_eq!(h.state(), SessionState::Rejected);
        let Some(Error::Api(error)) = h.session.last_error() else {
            panic!("no API error after {events:?}")
        };
        assert_eq!(error.status, status);
        assert_eq!(error.code, "InvalidRequestFormatError");
        let field = error.field.as_ref().expect("the field error");
        assert_eq!(
            (field.field.as_str(), field.code.as_str()),
            ("secret", "required")
        );
        assert_eq!(events, [Seen::LoginRejected(Error::Api(error.clone()))]);
    }
}

#[test]
fn a_refused_key_is_rejected_with_its_reason_and_never_retried() {
    let mut h = Harness::access_key();
    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 401, KEY_REFUSED);
    let events = h.take_events();
    assert!(
        matches!(
            &events[0],
            Seen::LoginRejected(Error::Api(api)) if api.reason == "AccessKeyUnauthorized"
        ),
        "{events:?}"
    );
    let Some(Error::Api(error)) = h.session.last_error() else {
        panic!()
    };
    assert_eq!(error.reason, "AccessKeyUnauthorized");
    for hour in 1..=48 {
        h.now = at(hours(hour));
        h.timeout();
        assert_eq!(h.authorize().err(), Some(NotReady::Rejected));
        assert!(h.nothing_sent());
    }
}

#[test]
fn logout_forgets_the_token_without_a_request() {
    let mut h = Harness::access_key();
    h.log_in(SEED_TOKEN);
    h.now = at(millis(1));
    h.logout();
    assert!(h.nothing_sent());
    assert_eq!(h.take_events(), [Seen::LoggedOut]);
    assert_eq!(h.state(), SessionState::LoggedOut);
    h.now = at(millis(2));
    assert!(h.authorize().is_err());
    // The next call logs in afresh.
    h.take_one_sent();
}

#[test]
fn no_secret_in_any_debug_or_display() {
    let mut h = Harness::access_key();
    h.log_in(SEED_TOKEN);
    h.now = at(millis(1));
    h.grant();
    // Everything the session printed: its transmits, events, grant and
    // itself after every input.
    h.assert_no_secret_printed();
    let printed = format!("{:?} {:?}", h.session, credentials());
    for secret in [ACCESS_KEY, SECRET, SEED_TOKEN] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
    let event = Event::LoggedIn { generation: 1 };
    assert!(!format!("{event:?}").contains(SECRET));
}
