//! The blocking Weavr client: push step-up approved and declined in the app.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use authsession_core::{Channel, CodePrompt, SessionState};
use authsession_sandbox::Sandbox;
use authsession_std::{Error, StepUpAnswer};

mod client_weavr_support;

use client_weavr_support::{
    Asked, build, builder, get_ok, get_stepped_up_ok, sandbox, statement, weavr_counts,
};

/// A callback that answers the push the sandbox holds, approving it or
/// not, and tells the client the same.
fn push_answerer(
    sandbox: &Arc<Sandbox>,
    asked: &Arc<Asked>,
    approve: bool,
) -> impl Fn(&CodePrompt) -> StepUpAnswer + Send + Sync + 'static {
    let (sandbox, asked) = (sandbox.clone(), asked.clone());
    move |prompt| {
        asked.note(prompt);
        let id = sandbox
            .last_weavr_push_challenge()
            .expect("a push challenge waits");
        assert!(sandbox.approve_weavr_push(&id, approve));
        if approve {
            StepUpAnswer::Approved
        } else {
            StepUpAnswer::Declined
        }
    }
}

#[test]
fn a_push_approved_in_the_app_steps_up_and_the_call_is_replayed() {
    let sandbox = Arc::new(sandbox());
    let asked = Arc::new(Asked::default());
    let client =
        build(builder(&sandbox).step_up(Channel::Authy, push_answerer(&sandbox, &asked, true)));

    get_ok(&client, &statement());

    assert_eq!(asked.channels(), [Channel::Authy]);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
    assert_eq!(sandbox.last_weavr_push_challenge(), None);
    get_stepped_up_ok(&client, &statement());
    assert_eq!(asked.count(), 1);
}

#[test]
fn a_push_declined_in_the_app_is_step_up_declined() {
    let sandbox = Arc::new(sandbox());
    let asked = Arc::new(Asked::default());
    let client = build(
        builder(&sandbox).step_up(Channel::Biometric, push_answerer(&sandbox, &asked, false)),
    );

    let error = client.get(&statement()).unwrap_err();
    assert!(matches!(error, Error::StepUpDeclined), "{error:?}");

    assert_eq!(asked.channels(), [Channel::Biometric]);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 0]);
    // The token was not stepped up.
    let error = build(builder(&sandbox)).get(&statement()).unwrap_err();
    assert!(matches!(error, Error::StepUpRequired), "{error:?}");
    assert_eq!(client.state(), SessionState::Active);
}
