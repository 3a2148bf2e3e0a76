//! Weavr step-up: when a call needs it, and passing it by SMS code or by push.
//!
//! As the Multi API documents it (seed `001_41d0dd5883504114.txt`,
//! `PROVIDERS.md` §2, issue 4): a stepped-up level or a `403
//! STEP_UP_REQUIRED` asks for it; an SMS challenge and its code, or a push
//! the application reports, pass it. Scripted with fixtures, without a
//! network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use authsession_core::{
    Channel, Level, Method, NotReady, SessionState, StepUpError, StepUpRefused, StepUpState,
    Verdict,
};
use authsession_tests::weavr::{ACCESS_TOKEN, AUTH_TOKEN, OTP, WeavrRequest, step_up_error};
use authsession_tests::{Harness, Seen};

// ---- step-up: when it is needed ----

#[test]
fn a_stepped_up_call_before_step_up_says_so_once_and_sends_nothing() {
    let mut h = Harness::weavr_logged_in();

    assert_eq!(
        h.authorize_at(Level::SteppedUp).err(),
        Some(NotReady::StepUpRequired)
    );
    assert_eq!(h.take_events(), [Seen::StepUpRequired]);
    assert_eq!(h.step_up_state(), StepUpState::Needed);
    assert!(h.take_sent().is_empty());

    assert_eq!(
        h.authorize_at(Level::SteppedUp).err(),
        Some(NotReady::StepUpRequired)
    );
    assert!(h.take_events().is_empty());
    // User calls still go meanwhile.
    h.grant();
}

#[test]
fn a_stepped_up_call_before_any_login_logs_in_first() {
    let mut h = Harness::weavr();
    assert_eq!(
        h.authorize_at(Level::SteppedUp).err(),
        Some(NotReady::LoggingIn)
    );
    h.log_in(AUTH_TOKEN, ACCESS_TOKEN);
    assert_eq!(
        h.authorize_at(Level::SteppedUp).err(),
        Some(NotReady::StepUpRequired)
    );
}

#[test]
fn a_403_step_up_required_in_error_code_or_in_message_means_step_up() {
    for body in [
        r#"{"errorCode":"STEP_UP_REQUIRED"}"#,
        r#"{"message":"STEP_UP_REQUIRED"}"#,
    ] {
        let mut h = Harness::weavr_logged_in();
        let user = h.grant();

        assert_eq!(h.reply(user.ticket, 403, body), Verdict::StepUp, "{body}");
        assert_eq!(h.take_events(), [Seen::StepUpRequired], "{body}");
        assert_eq!(h.step_up_state(), StepUpState::Needed);
        assert!(h.take_sent().is_empty());
        // A second refusal says nothing new.
        let user = h.grant();
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
        let mut h = Harness::weavr_logged_in();
        let user = h.grant();
        assert_eq!(h.reply(user.ticket, 403, body), Verdict::Ok, "{body}");
        assert!(h.take_events().is_empty());
        assert_eq!(h.step_up_state(), StepUpState::NotNeeded);
    }
}

#[test]
fn a_403_step_up_required_after_step_up_means_step_up_again() {
    let mut h = Harness::weavr_logged_in();
    h.step_up();
    let call = h.grant_at(Level::SteppedUp);

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
    let mut h = Harness::weavr_logged_in();
    let early = h.grant();
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
    let mut h = Harness::weavr_logged_in();
    h.authorize_at(Level::SteppedUp).unwrap_err();
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
        h.authorize_at(Level::SteppedUp).err(),
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
    assert_eq!(
        verify.body_text(),
        format!(r#"{{"verificationCode":"{OTP}"}}"#)
    );

    h.answer(&verify, 204, "");
    assert_eq!(h.take_events(), [Seen::SteppedUp]);
    assert_eq!(h.step_up_state(), StepUpState::SteppedUp);
    // The same token, the same generation: no new login.
    let call = h.grant_at(Level::SteppedUp);
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
    let mut h = Harness::weavr_logged_in();
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
    let mut h = Harness::weavr_logged_in();

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
        h.authorize_at(Level::SteppedUp).err(),
        Some(NotReady::SteppingUp)
    );
    // No code for a push.
    assert_eq!(h.submit_code(OTP), Err(StepUpRefused::NothingToAnswer));

    h.report_push(true).unwrap();
    assert_eq!(h.take_events(), [Seen::SteppedUp]);
    assert_eq!(h.step_up_state(), StepUpState::SteppedUp);
    assert!(h.take_sent().is_empty());
    h.grant_at(Level::SteppedUp);
    assert_eq!(h.report_push(true), Err(StepUpRefused::NothingToAnswer));
}

#[test]
fn a_declined_push_is_a_typed_failure_and_step_up_is_needed_again() {
    let mut h = Harness::weavr_logged_in();
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
        h.authorize_at(Level::SteppedUp).err(),
        Some(NotReady::StepUpRequired)
    );
}
