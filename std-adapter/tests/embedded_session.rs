//! Runs the `embedded_session` example's device code against the sandbox:
//! a whole Currencycloud session over the core's embedded-io transport.

#[path = "../examples/embedded_session/device.rs"]
mod device;

use authsession_core::{SessionState, Verdict};
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Sandbox, SandboxConfig};

#[test]
fn a_device_logs_in_calls_and_logs_out_over_a_byte_stream() {
    let sandbox = Sandbox::start(SandboxConfig::for_tests()).unwrap();
    let report = device::run(
        sandbox.addr(),
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_LOGIN_ID,
        CURRENCYCLOUD_API_KEY,
    )
    .unwrap();

    assert_eq!(report.status, 200, "{report}");
    assert_eq!(report.verdict, Verdict::Ok);
    assert!(report.account.contains("\"id\""), "{}", report.account);
    assert_eq!(
        report.events,
        ["LoggedIn { generation: 1 }", "LoggedOut"],
        "{report}"
    );
    assert_eq!(report.final_state, SessionState::LoggedOut);
    let counters = sandbox.counters();
    assert_eq!((counters.logins, counters.logouts), (1, 1));
}

#[test]
fn refused_credentials_stop_the_device_without_a_second_try() {
    let sandbox = Sandbox::start(SandboxConfig::for_tests()).unwrap();
    let wrong_key = "0".repeat(64);
    let error = device::run(
        sandbox.addr(),
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_LOGIN_ID,
        &wrong_key,
    )
    .unwrap_err();

    assert!(error.to_string().contains("Rejected"), "{error}");
    assert_eq!(sandbox.counters().rejected_logins, 1);
}
