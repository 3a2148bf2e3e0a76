//! The blocking Weavr client: 32 threads share one login and one step-up challenge.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use authsession_core::Level;
use authsession_sandbox::{Sandbox, WEAVR_OTP_CODE};
use authsession_std::StepUpAnswer;
use authsession_tests::millis;

mod client_weavr_support;

use client_weavr_support::{Asked, build, builder, sandbox, statement, weavr_counts, with_sms};

const THREADS: usize = 32;

/// `THREADS` threads call the statement at `level` at once, with a client
/// whose callback takes `pause` to answer (a person takes longer; a program
/// with the code at hand, no time): the responses' statuses.
fn statements_at_once(
    sandbox: &Sandbox,
    asked: &Arc<Asked>,
    level: Level,
    pause: Duration,
) -> Vec<u16> {
    let client = Arc::new(build(with_sms(builder(sandbox), asked, move |_| {
        thread::sleep(pause);
        StepUpAnswer::Code(WEAVR_OTP_CODE.to_owned())
    })));
    let barrier = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (client, barrier) = (client.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                client
                    .call(level, "GET", &statement(), Vec::new())
                    .map(|response| response.status().as_u16())
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|thread| {
            thread
                .join()
                .unwrap()
                .unwrap_or_else(|error| panic!("a call failed: {error:?}"))
        })
        .collect()
}

#[test]
fn thirty_two_threads_stepped_up_up_front_cause_one_login_and_one_challenge() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());

    let statuses = statements_at_once(&sandbox, &asked, Level::SteppedUp, millis(50));

    assert_eq!(statuses, [200; THREADS]);
    assert_eq!(asked.count(), 1);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
    assert_eq!(sandbox.counters().calls, THREADS as u64);
}

#[test]
fn thirty_two_threads_refused_with_step_up_required_cause_one_login_and_one_challenge() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());

    let statuses = statements_at_once(&sandbox, &asked, Level::User, millis(50));

    assert_eq!(statuses, [200; THREADS]);
    assert_eq!(asked.count(), 1);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
    assert_eq!(sandbox.counters().calls, THREADS as u64);
}

/// With a callback that answers at once, `403 STEP_UP_REQUIRED`s to calls
/// sent before the step-up arrive after it: they must not make the session
/// need step-up again (which would ask for a second challenge, refused
/// with `409 ALREADY_VERIFIED`). See
/// `a_403_to_a_call_sent_before_the_step_up_does_not_undo_it` in
/// `weavr_step_up.rs`.
#[test]
fn thirty_two_threads_with_an_instant_callback_cause_one_challenge() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());

    let statuses = statements_at_once(&sandbox, &asked, Level::User, Duration::ZERO);

    assert_eq!(statuses, [200; THREADS]);
    assert_eq!(asked.count(), 1);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
}
