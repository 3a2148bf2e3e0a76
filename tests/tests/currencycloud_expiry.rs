//! Currencycloud expiry: the idle timeout, the `401` replay, late and stray answers.
//!
//! As the API documents it (seed `000_55fb0fa7bc37453b`, `PROVIDERS.md`
//! §1): the token lapses after 30 idle minutes (less the margin) or at a
//! `401`, one login follows for every call that met it, and answers to
//! requests the session no longer waits for change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use core::time::Duration;

use authsession_core::providers::currencycloud::LOGIN_PATH;
use authsession_core::{
    Config, ExpiryReason, Instant, NotReady, RequestId, ResponseParts, SessionState, Verdict,
};
use authsession_tests::currencycloud::LOGGING_IN;
use authsession_tests::{
    AUTH_FAILED, Harness, LOGIN_OK, LOGOUT_OK, NEXT_LOGIN_OK, NEXT_TOKEN, Seen, TOKEN,
    TOO_MANY_REQUESTS, just_before, mins, secs,
};

/// Currencycloud's idle timeout.
const IDLE: Duration = mins(30);

fn refused() -> Seen {
    Seen::Expired {
        why: ExpiryReason::Refused,
    }
}

fn idle() -> Seen {
    Seen::Expired {
        why: ExpiryReason::Idle,
    }
}

// ---- idle expiry → re-login ----

#[test]
fn the_token_is_handed_out_until_just_before_the_idle_deadline() {
    let margin = mins(2);
    let mut h = Harness::with_config(Config {
        expiry_margin: margin,
        ..Config::default()
    });
    h.log_in_with(LOGIN_OK);
    assert_eq!(
        h.session.poll_timeout(),
        Some(Instant::ZERO + IDLE.saturating_sub(margin))
    );

    h.set_now(just_before(Instant::ZERO + IDLE.saturating_sub(margin)));

    assert_eq!(h.grant().header("X-Auth-Token").as_deref(), Some(TOKEN));
    assert!(h.nothing_sent());
}

#[test]
fn a_call_at_30_minutes_less_the_margin_gets_no_token_and_queues_one_login() {
    let margin = mins(2);
    let mut h = Harness::with_config(Config {
        expiry_margin: margin,
        ..Config::default()
    });
    h.log_in_with(LOGIN_OK);
    h.set_time(IDLE.saturating_sub(margin));

    assert_eq!(h.authorize(), Err(NotReady::LoggingIn));
    assert_eq!(h.authorize(), Err(NotReady::LoggingIn));

    assert_eq!(h.take_events(), [idle()]);
    assert_eq!(h.take_one_sent().path, LOGIN_PATH);
    assert_eq!(h.state(), LOGGING_IN);
}

#[test]
fn the_login_after_an_idle_expiry_hands_out_the_new_token() {
    let mut h = Harness::logged_in();
    h.advance(IDLE);
    assert_eq!(h.authorize(), Err(NotReady::LoggingIn));
    h.take_events();

    h.log_in_with(NEXT_LOGIN_OK);

    let call = h.grant();
    assert_eq!(call.header("X-Auth-Token").as_deref(), Some(NEXT_TOKEN));
    assert_eq!(call.ticket.generation(), 2);
}

#[test]
fn the_idle_timer_at_poll_timeout_expires_the_token_without_sending_anything() {
    let mut h = Harness::logged_in();
    let deadline = Instant::ZERO + (IDLE.saturating_sub(Config::default().expiry_margin));
    assert_eq!(h.session.poll_timeout(), Some(deadline));

    h.set_now(just_before(deadline));
    h.timeout();
    assert_eq!(h.state(), SessionState::Active);
    assert!(h.take_events().is_empty());

    h.sleep_until_timeout();

    assert_eq!(h.now, deadline);
    assert_eq!(h.take_events(), [idle()]);
    assert_eq!(
        h.state(),
        SessionState::Expired {
            why: ExpiryReason::Idle
        }
    );
    assert!(h.nothing_sent());
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn a_call_after_the_idle_timer_fired_queues_one_login() {
    let mut h = Harness::logged_in();
    h.sleep_until_timeout();
    h.take_events();

    assert_eq!(h.authorize(), Err(NotReady::LoggingIn));

    assert_eq!(h.take_one_sent().path, LOGIN_PATH);
    assert!(h.take_events().is_empty());
}

#[test]
fn every_call_moves_the_idle_deadline() {
    let mut h = Harness::logged_in();
    let idle_less_margin = IDLE.saturating_sub(Config::default().expiry_margin);

    // A call every 20 minutes for ten hours keeps the one token alive.
    for minute in (20..=600).step_by(20) {
        h.set_time(mins(minute));
        assert_eq!(h.grant().header("X-Auth-Token").as_deref(), Some(TOKEN));
        assert_eq!(h.session.poll_timeout(), Some(h.now + idle_less_margin));
        h.timeout();
    }

    assert_eq!(h.all_sent.len(), 1);
    assert!(h.take_events().is_empty());
    assert_eq!(h.session.generation(), 1);
}

#[test]
fn the_idle_clock_starts_when_the_login_is_sent_not_when_it_is_answered() {
    let mut h = Harness::currencycloud();
    h.login();
    let login = h.take_one_sent();
    h.set_time(secs(20));

    h.answer(&login, 200, LOGIN_OK);

    let idle_less_margin = IDLE.saturating_sub(Config::default().expiry_margin);
    assert_eq!(
        h.session.poll_timeout(),
        Some(Instant::ZERO + idle_less_margin)
    );
}

// ---- 401 replay ----

#[test]
fn a_401_under_the_current_token_replays_and_queues_one_login() {
    let mut h = Harness::logged_in();
    let call = h.grant();

    assert_eq!(h.reply(call.ticket, 401, AUTH_FAILED), Verdict::Replay);

    assert_eq!(h.take_events(), [refused()]);
    assert_eq!(h.take_one_sent().path, LOGIN_PATH);
    assert_eq!(h.state(), LOGGING_IN);
}

#[test]
fn while_the_re_login_is_in_flight_calls_wait_and_send_nothing() {
    let mut h = Harness::logged_in();
    let call = h.grant();
    h.reply(call.ticket, 401, AUTH_FAILED);
    h.take_one_sent();

    for _ in 0..10 {
        assert_eq!(h.authorize(), Err(NotReady::LoggingIn));
    }

    assert!(h.nothing_sent());
}

#[test]
fn after_the_re_login_a_401_of_the_old_token_replays_without_another_login() {
    let mut h = Harness::logged_in();
    let old_call = h.grant();
    h.reply(old_call.ticket, 401, AUTH_FAILED);
    h.take_events();
    h.log_in_with(NEXT_LOGIN_OK);

    assert_eq!(h.reply(old_call.ticket, 401, AUTH_FAILED), Verdict::Replay);

    assert!(h.nothing_sent());
    assert!(h.take_events().is_empty());
    assert_eq!(h.state(), SessionState::Active);
    let replayed = h.grant();
    assert_eq!(replayed.header("X-Auth-Token").as_deref(), Some(NEXT_TOKEN));
    assert_eq!(replayed.ticket.generation(), 2);
}

#[test]
fn a_burst_of_ten_401s_from_one_generation_sends_exactly_one_login() {
    let mut h = Harness::logged_in();
    let calls: Vec<_> = (0..10).map(|_| h.grant()).collect();

    for call in &calls {
        assert_eq!(h.reply(call.ticket, 401, AUTH_FAILED), Verdict::Replay);
    }

    assert_eq!(h.take_sent().len(), 1);
    assert_eq!(h.take_events(), [refused()]);
}

#[test]
fn a_burst_of_401s_split_around_the_re_login_still_sends_one_login() {
    let mut h = Harness::logged_in();
    let calls: Vec<_> = (0..10).map(|_| h.grant()).collect();
    for call in &calls[..5] {
        assert_eq!(h.reply(call.ticket, 401, AUTH_FAILED), Verdict::Replay);
    }
    h.take_events();
    h.log_in_with(NEXT_LOGIN_OK);

    for call in &calls[5..] {
        assert_eq!(h.reply(call.ticket, 401, AUTH_FAILED), Verdict::Replay);
    }

    let logins = h.all_sent.iter().filter(|sent| sent.path == LOGIN_PATH);
    assert_eq!(logins.count(), 2, "the first login and one re-login");
    assert!(h.take_events().is_empty());
    assert_eq!(h.state(), SessionState::Active);
}

// ---- late and stray answers ----

#[test]
fn a_login_answer_arriving_after_logout_is_ignored() {
    let mut h = Harness::currencycloud();
    h.login();
    let login = h.take_one_sent();
    h.logout();
    assert_eq!(h.take_events(), [Seen::LoggedOut]);
    assert!(h.nothing_sent(), "no token, so nothing to close");

    h.answer(&login, 200, LOGIN_OK);

    assert_eq!(h.state(), SessionState::LoggedOut);
    assert!(h.take_events().is_empty());
    assert_eq!(h.session.generation(), 0);
    assert_eq!(
        h.authorize(),
        Err(NotReady::LoggingIn),
        "no token to hand out"
    );
    assert!(h.all_grants.is_empty());
}

#[test]
fn a_late_answer_to_an_earlier_login_changes_nothing() {
    let mut h = Harness::currencycloud();
    h.login();
    let first = h.take_one_sent();
    h.logout();
    h.login();
    let second = h.take_one_sent();
    assert_ne!(first.id, second.id);
    h.take_events();

    h.answer(&first, 200, LOGIN_OK);
    h.answer(&first, 401, AUTH_FAILED);
    h.answer(&first, 429, TOO_MANY_REQUESTS);
    h.fail(&first);

    assert_eq!(h.state(), LOGGING_IN);
    assert!(h.take_events().is_empty());
    assert!(h.nothing_sent());
    h.answer(&second, 200, NEXT_LOGIN_OK);
    assert_eq!(h.take_events(), [Seen::LoggedIn { generation: 1 }]);
    assert_eq!(
        h.grant().header("X-Auth-Token").as_deref(),
        Some(NEXT_TOKEN)
    );
}

#[test]
fn answers_with_a_wrong_or_old_request_id_change_nothing() {
    let mut h = Harness::currencycloud();
    h.login();
    let login = h.take_one_sent();
    h.answer(&login, 200, LOGIN_OK);
    h.take_events();

    h.answer(&login, 401, AUTH_FAILED);
    h.fail(&login);
    h.answer_id(
        RequestId(9_999),
        &ResponseParts::new(401, AUTH_FAILED.as_bytes()),
    );
    h.fail_id(RequestId(u64::MAX));

    assert_eq!(h.state(), SessionState::Active);
    assert!(h.take_events().is_empty());
    assert!(h.nothing_sent());
    assert_eq!(h.grant().header("X-Auth-Token").as_deref(), Some(TOKEN));
}

#[test]
fn a_late_answer_to_the_logout_does_not_touch_the_next_session() {
    let mut h = Harness::logged_in();
    h.logout();
    let close = h.take_one_sent();
    h.fail(&close);
    h.take_events();
    h.log_in_with(NEXT_LOGIN_OK);

    h.answer(&close, 200, LOGOUT_OK);

    assert_eq!(h.state(), SessionState::Active);
    assert!(h.take_events().is_empty());
    assert_eq!(
        h.grant().header("X-Auth-Token").as_deref(),
        Some(NEXT_TOKEN)
    );
}
