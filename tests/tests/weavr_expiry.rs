//! Weavr expiry: the 5-minute idle timeout, a `401`, and logout.
//!
//! As the Multi API documents it (seed `001_41d0dd5883504114.txt`,
//! `PROVIDERS.md` §2, issue 4): the token lapses after 5 idle minutes (less
//! the margin) or at a `401`, one login follows, and logout ends it.
//! Scripted with fixtures, without a network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use core::time::Duration;

use authsession_core::providers::weavr::{LOGIN_PATH, LOGOUT_PATH, Weavr};
use authsession_core::{
    Config, ExpiryReason, Method, NotReady, SessionState, StepUpState, Verdict,
};
use authsession_tests::weavr::{
    ACCESS_TOKEN, AUTH_TOKEN, NEXT_ACCESS_TOKEN, NEXT_AUTH_TOKEN, WeavrRequest,
};
use authsession_tests::{Harness, Seen, at, millis, mins, secs};

// ---- lifetime ----

#[test]
fn five_idle_minutes_expire_the_token_and_one_login_follows() {
    // Without a margin, the deadline is exactly the API's 5 minutes.
    let config = Config {
        expiry_margin: Duration::ZERO,
        ..Config::default()
    };
    let mut h = Harness::weavr_with(Weavr::default(), config);
    h.log_in(AUTH_TOKEN, ACCESS_TOKEN);
    h.now = at(secs(60));
    h.grant();
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
        assert_eq!(h.authorize().err(), Some(NotReady::LoggingIn));
    }
    h.log_in(NEXT_AUTH_TOKEN, NEXT_ACCESS_TOKEN);
    assert_eq!(
        h.grant().header("Authorization"),
        Some(format!("Bearer {NEXT_ACCESS_TOKEN}"))
    );
    assert_eq!(h.session.generation(), 2);
}

#[test]
fn the_default_margin_lapses_the_token_thirty_seconds_before_the_server_would() {
    let mut h = Harness::weavr_logged_in();
    h.grant();
    assert_eq!(h.session.poll_timeout(), Some(at(secs(270))));
}

#[test]
fn a_401_expires_the_token_and_one_login_serves_every_refused_call() {
    let mut h = Harness::weavr_logged_in();
    let first = h.grant();
    let second = h.grant();

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

    h.put_back(login);
    h.log_in(NEXT_AUTH_TOKEN, NEXT_ACCESS_TOKEN);
    let again = h.grant();
    assert_eq!(
        again.header("Authorization"),
        Some(format!("Bearer {NEXT_ACCESS_TOKEN}"))
    );
    // A late 401 under the old token changes nothing.
    assert_eq!(h.reply(first.ticket, 401, ""), Verdict::Replay);
    assert!(h.take_sent().is_empty());
    assert_eq!(h.state(), SessionState::Active);
}

// ---- logout ----

#[test]
fn logout_posts_to_logout_and_takes_204_or_200_with_a_url() {
    for (status, body) in [
        (204, ""),
        (200, r#"{"url":"https://auth.example.com/logged-out"}"#),
    ] {
        let mut h = Harness::weavr_logged_in();
        h.step_up();

        h.logout();
        assert_eq!(h.state(), SessionState::LoggingOut);
        let logout = h.take_one_sent();
        logout.expect(Method::Post, LOGOUT_PATH, Some(ACCESS_TOKEN));
        assert!(logout.body.is_empty());
        assert_eq!(h.authorize().err(), Some(NotReady::LoggingOut));

        h.answer(&logout, status, body);
        assert_eq!(h.take_events(), [Seen::LoggedOut], "{status}");
        assert_eq!(h.state(), SessionState::LoggedOut);
        // The next call logs in afresh, and the new token is not stepped up.
        assert_eq!(h.authorize().err(), Some(NotReady::LoggingIn));
        h.log_in(NEXT_AUTH_TOKEN, NEXT_ACCESS_TOKEN);
        assert_eq!(h.step_up_state(), StepUpState::NotNeeded);
        assert!(!h.all_sent.iter().skip(6).any(|s| s.carries(ACCESS_TOKEN)));
    }
}

#[test]
fn a_token_that_idled_out_is_not_sent_to_log_out() {
    let mut h = Harness::weavr_logged_in();
    h.now = at(mins(5));
    h.logout();
    assert!(h.take_sent().is_empty());
    assert_eq!(h.state(), SessionState::LoggedOut);
}
