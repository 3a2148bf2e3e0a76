//! What the model tests found in the core, each as the shortest sequence
//! that shows it, written against the session's own API. A test is ignored
//! while its finding is open (see `authsession_tests::model::known`); both
//! are fixed, so both run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use core::time::Duration;

use authsession_core::providers::access_key::{AccessKey, AccessKeyCredentials};
use authsession_core::providers::weavr::IdentityType;
use authsession_core::providers::{Weavr, WeavrCredentials};
use authsession_core::{
    Channel, Instant, Level, Provider, ResponseParts, Session, SessionState, StepUpState,
};
use authsession_tests::model::providers::{JWT_ISSUED_AT, jwt};

/// Answers the request in flight with `status` and `body`.
fn answer<P: Provider>(session: &mut Session<P>, status: u16, body: &[u8], now: Instant) {
    let id = session.poll_transmit().expect("a request in flight").id;
    session.handle_response(id, &ResponseParts::new(status, body), now);
    while session.poll_event().is_some() {}
}

/// Finding 1 (`known::SECOND_LOGIN_WHEN_A_REFRESHED_TOKEN_IS_REFUSED`),
/// invariant 1: at most one login in flight, whatever arrives.
#[test]
fn a_refused_token_during_a_refresh_sends_no_second_login() {
    let credentials = AccessKeyCredentials::new(
        "986d8167a9b9a15e37db4ab4ad50877b01347a94",
        "79bPqahzbeYuIgyod1GBjsBy38wN7KuBBNNmN/emwjFCuAfq",
    )
    .unwrap();
    let mut session = Session::new(AccessKey, credentials);
    let start = Instant::ZERO;
    session.login(start);
    // A token of one hour.
    let token = jwt(1, Some(JWT_ISSUED_AT), Some(JWT_ISSUED_AT + 3600));
    answer(&mut session, 201, token.as_bytes(), start);
    let ticket = session.authorize(Level::User, start).unwrap().ticket;

    // The refresh, ahead of expiry, goes while the token keeps serving.
    let refresh_at = session.poll_timeout().unwrap();
    session.handle_timeout(refresh_at);
    let refresh = session.poll_transmit().expect("the refresh login").id;
    assert_eq!(
        session.state(),
        SessionState::Refreshing {
            step: authsession_core::LoginStep::FIRST
        }
    );

    // A call sent under the token comes back 401 before the refresh answers.
    session.handle_reply(ticket, &ResponseParts::new(401, b""), refresh_at);

    let second = session.poll_transmit().map(|transmit| transmit.id);
    assert_eq!(
        second, None,
        "a second login went out while the refresh {refresh:?} is in flight"
    );
}

/// Finding 2 (`known::SUBMIT_CODE_SENDS_A_LAPSED_TOKEN`), invariant 3: no
/// request carries a token the session knows
/// has lapsed.
#[test]
fn a_code_typed_after_the_idle_deadline_is_not_sent_with_the_lapsed_token() {
    let credentials =
        WeavrCredentials::new("Wv4yT0sQm8Lx2Nc6Rk9BzA==", "ada@example.com", "Pa55-word!").unwrap();
    let provider = Weavr::default()
        .with_identity(IdentityType::Corporate, "110138374263767072")
        .unwrap();
    let mut session = Session::new(provider, credentials);
    let start = Instant::ZERO;
    session.login(start);
    answer(
        &mut session,
        200,
        br#"{"token":"eyJ0eXAiOiJBVVRIIn0.auth.sig"}"#,
        start,
    );
    answer(
        &mut session,
        200,
        br#"{"token":"eyJ0eXAiOiJKV1QifQ.access.sig","status":"STANDARD"}"#,
        start,
    );
    session.start_step_up(Channel::Sms, start).unwrap();
    answer(&mut session, 204, b"", start);
    assert_eq!(session.step_up_state(), StepUpState::CodeSent(Channel::Sms));

    // The user types the code six minutes later; the token was idle for
    // five (less the 30 s margin), and the caller's timer has not fired yet.
    let late = start + Duration::from_secs(6 * 60);
    let _ = session.submit_code("123456", late);

    let carried = session.poll_transmit().and_then(|transmit| {
        transmit
            .headers
            .get("Authorization")
            .map(|value| value.parts()[1].to_owned())
    });
    assert_eq!(carried, None, "the code went out with the lapsed token");
}
