//! Weavr step-up errors: every `409` of the table, the resend rule, the challenge limits.
//!
//! As the Multi API documents it (seed `001_41d0dd5883504114.txt`,
//! `PROVIDERS.md` §2, issue 4): each error is typed and leaves the session
//! where the table says; the limits end the token; a step-up request
//! without an answer may be tried again. Scripted with fixtures, without a
//! network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use authsession_core::providers::weavr::{LOGIN_PATH, Weavr};
use authsession_core::{
    Channel, Config, Error, ExpiryReason, Level, Method, NotReady, SessionState, StepUpError,
    StepUpRefused, StepUpState,
};
use authsession_tests::weavr::{
    ACCESS_TOKEN, AUTH_TOKEN, NEXT_ACCESS_TOKEN, NEXT_AUTH_TOKEN, OTP, REQUEST_REF, WeavrRequest,
    conflict, step_up_error,
};
use authsession_tests::{Harness, Seen, at, millis, mins, secs};

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

fn assert_after(h: &mut Harness<Weavr>, after: After, what: &str) {
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
            assert_eq!(h.authorize().err(), Some(NotReady::LoggingIn), "{what}");
            let login = h.take_one_sent();
            login.expect(Method::Post, LOGIN_PATH, None);
        }
    }
}

#[test]
fn every_409_to_a_challenge_is_a_typed_step_up_error() {
    for (code, typed) in TABLE {
        let mut h = Harness::weavr_logged_in();
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
        let mut h = Harness::weavr_logged_in();
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
    let mut h = Harness::weavr_logged_in();
    h.code_sent();
    h.submit_code("000000").unwrap();
    let verify = h.take_one_sent();
    h.answer(&verify, 409, &conflict("VERIFICATION_CODE_INVALID"));
    h.take_events();

    h.submit_code(OTP).unwrap();
    let verify = h.take_one_sent();
    assert_eq!(
        verify.body_text(),
        format!(r#"{{"verificationCode":"{OTP}"}}"#)
    );
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
    let mut h = Harness::weavr_logged_in();
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
    let mut h = Harness::weavr_with(provider, Config::default());
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
    let mut h = Harness::weavr_logged_in();
    h.now = at(secs(1));
    h.code_sent();
    let call = h.grant();
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
    let mut h = Harness::weavr_logged_in();

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
    let mut h = Harness::weavr_logged_in();
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
    h.put_back(h.all_sent.last().unwrap().clone());
    h.log_in(NEXT_AUTH_TOKEN, NEXT_ACCESS_TOKEN);
    // The new token starts without step-up.
    assert_eq!(h.step_up_state(), StepUpState::NotNeeded);
    assert_eq!(
        h.authorize_at(Level::SteppedUp).err(),
        Some(NotReady::StepUpRequired)
    );
}

#[test]
fn a_401_to_a_step_up_request_ends_the_token() {
    let mut h = Harness::weavr_logged_in();
    h.start_step_up(Channel::Sms).unwrap();
    let challenge = h.take_one_sent();
    h.answer(&challenge, 401, "");
    assert!(
        matches!(h.state(), SessionState::Expired { .. }),
        "{:?}",
        h.state()
    );
    assert_eq!(h.authorize().err(), Some(NotReady::LoggingIn));
}

#[test]
fn a_step_up_request_that_got_no_answer_can_be_tried_again() {
    let mut h = Harness::weavr_logged_in();
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
