//! The `authsession` command, run as a user runs it: exit codes, what it
//! prints, and that nothing it prints holds the API key or a token.

// Helpers of tests: a command that cannot run is a failed test.
#![allow(clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use authsession_sandbox::{
    CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Fault, Sandbox, SandboxConfig,
};

fn authsession() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_authsession"));
    command
        .env_remove("CURRENCYCLOUD_LOGIN_ID")
        .env_remove("CURRENCYCLOUD_API_KEY")
        .env_remove("AUTHSESSION_STEP_UP_CODE");
    command
}

/// `authsession call` against `base_url` as `provider`.
fn call_command(provider: &str, base_url: &str) -> Command {
    let mut command = authsession();
    command.args(["call", "--provider", provider, "--base-url", base_url]);
    command
}

fn start() -> Sandbox {
    Sandbox::start(SandboxConfig::for_tests()).expect("the sandbox starts")
}

/// `authsession call` on the sandbox's Currencycloud with the demo login.
fn call(sandbox: &Sandbox, args: &[&str]) -> Output {
    call_with_key(sandbox, CURRENCYCLOUD_API_KEY, args)
}

fn call_with_key(sandbox: &Sandbox, api_key: &str, args: &[&str]) -> Output {
    call_command("currencycloud", &sandbox.currencycloud_url())
        .args(args)
        .env("CURRENCYCLOUD_LOGIN_ID", CURRENCYCLOUD_LOGIN_ID)
        .env("CURRENCYCLOUD_API_KEY", api_key)
        .output()
        .expect("the command runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Fails if `output` holds the key, or anything shaped like a token (a run
/// of 32 or more lowercase hex digits: the sandbox's tokens are 32).
fn assert_no_secret(output: &str, api_key: &str) {
    assert!(
        !output.contains(api_key),
        "the API key was printed:\n{output}"
    );
    let mut run = 0;
    for byte in output.bytes() {
        run = if byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte) {
            run + 1
        } else {
            0
        };
        assert!(
            run < 32,
            "something shaped like a token was printed:\n{output}"
        );
    }
}

#[test]
fn demo_walks_the_whole_session_and_prints_no_secret() {
    let output = authsession().arg("demo").output().expect("the demo runs");
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "demo failed:\n{stdout}\n{stderr}");
    for milestone in [
        "logged in",
        "token expired",
        "replaying after login",
        "one login for the whole burst: yes",
        "login refused",
        "logged out",
        "=== Weavr",
        "one token exchange: yes",
        "event=CodeSent",
        "event=SteppedUp",
        "a new challenge: yes",
        "=== Access-key JWT API",
        "three logins: the first and one ahead of each expiry: yes",
        "sandbox counters",
        "demo finished",
    ] {
        assert!(stdout.contains(milestone), "no {milestone:?} in:\n{stdout}");
    }
    assert_no_secret(&stdout, CURRENCYCLOUD_API_KEY);
    assert_no_secret(&stderr, CURRENCYCLOUD_API_KEY);
}

#[test]
fn call_repeats_over_one_session_and_logs_out() {
    let sandbox = start();
    let output = call(
        &sandbox,
        &["--repeat", "3", "--verbose", "GET", "/v2/accounts/current"],
    );
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 3, "one body a line:\n{stdout}");
    assert!(stdout.lines().all(|line| line.starts_with('{')));
    assert!(
        stderr.contains("logged in"),
        "--verbose shows events:\n{stderr}"
    );
    assert!(
        stderr.contains("logged out"),
        "--verbose shows events:\n{stderr}"
    );
    assert_no_secret(&stdout, CURRENCYCLOUD_API_KEY);
    assert_no_secret(&stderr, CURRENCYCLOUD_API_KEY);
    let counters = sandbox.counters();
    assert_eq!(
        (counters.logins, counters.calls, counters.logouts),
        (1, 3, 1)
    );
}

#[test]
fn a_refused_key_exits_1_with_one_line_naming_status_and_code() {
    let sandbox = start();
    let wrong_key = "0123456789abcdef".repeat(4);
    let output = call_with_key(
        &sandbox,
        &wrong_key,
        &["--verbose", "GET", "/v2/accounts/current"],
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    let error_line = stderr
        .lines()
        .find(|line| line.starts_with("error:"))
        .expect("an error line");
    assert!(
        error_line.contains("401") && error_line.contains("auth_failed"),
        "{error_line}"
    );
    assert_no_secret(&stderr, &wrong_key);
    assert_no_secret(&text(&output.stdout), &wrong_key);
    assert_eq!(sandbox.counters().rejected_logins, 1);
}

#[test]
fn an_error_answer_exits_1_naming_the_status_and_the_api_code() {
    let sandbox = start();
    let output = call(&sandbox, &["GET", "/v2/no/such/thing"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("404") && stderr.contains("not_found"),
        "{stderr}"
    );
    assert_eq!(
        text(&output.stdout).lines().count(),
        1,
        "the body is still printed"
    );
}

#[test]
fn a_503_on_login_is_retried_and_the_call_succeeds() {
    let sandbox = start();
    sandbox.inject(Fault::StatusRetryAfter(503, 0), 1);
    let output = call(&sandbox, &["GET", "/v2/accounts/current"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(sandbox.counters().logins, 1);
}

#[test]
fn missing_credentials_and_bad_urls_exit_2() {
    let output = call_command("currencycloud", "https://api.example.com")
        .args(["GET", "/v2/accounts/current"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("CURRENCYCLOUD_LOGIN_ID"));

    let sandbox = start();
    let output = call_command("currencycloud", "http://api.example.com")
        .args(["GET", "/v2/accounts/current"])
        .env("CURRENCYCLOUD_LOGIN_ID", CURRENCYCLOUD_LOGIN_ID)
        .env("CURRENCYCLOUD_API_KEY", CURRENCYCLOUD_API_KEY)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("https://"));
    assert_eq!(
        sandbox.counters().logins + sandbox.counters().rejected_logins,
        0
    );

    let output = authsession()
        .args(["call", "--provider", "nope"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_path_to_another_origin_exits_2_before_any_login() {
    let sandbox = start();
    let output = call(&sandbox, &["GET", "http://127.0.0.2:1/v2/accounts/current"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("origin"), "{stderr}");
    assert_eq!(sandbox.counters().logins, 0);
}

#[test]
fn a_connection_dropped_during_the_call_exits_1_naming_the_transport() {
    let sandbox = start();
    // The login is served; the call's connection is closed unanswered.
    sandbox.inject(Fault::Delay(Duration::ZERO), 1);
    sandbox.inject(Fault::Drop, 1);
    let output = call(&sandbox, &["GET", "/v2/accounts/current"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let error_line = stderr
        .lines()
        .find(|line| line.starts_with("error:"))
        .expect("an error line");
    assert!(
        error_line.contains("no answer from the API"),
        "{error_line}"
    );
    assert_no_secret(&stderr, CURRENCYCLOUD_API_KEY);
    assert_eq!(sandbox.counters().logins, 1);
}

#[test]
fn sandbox_mode_prints_its_urls_and_test_credentials() {
    let mut child = authsession()
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--idle-timeout-ms",
            "500",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while Instant::now() < deadline && seen.len() < 13 {
        match lines.next() {
            Some(Ok(line)) => seen.push(line),
            _ => break,
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let printed = seen.join("\n");
    assert!(
        printed.contains("Currencycloud  http://127.0.0.1:"),
        "{printed}"
    );
    assert!(printed.contains("CURRENCYCLOUD_LOGIN_ID="), "{printed}");
    assert!(
        printed.contains("Weavr          http://127.0.0.1:"),
        "{printed}"
    );
    assert!(printed.contains("WEAVR_EMAIL="), "{printed}");
    assert!(
        printed.contains("access-key API http://127.0.0.1:"),
        "{printed}"
    );
}

/// `authsession call` on the sandbox's Weavr statement, which needs
/// step-up, with `code` given as the environment's step-up code if any.
fn weavr_statement_call(sandbox: &Sandbox, code: Option<&str>, args: &[&str]) -> Output {
    use authsession_sandbox::{
        WEAVR_API_KEY, WEAVR_CORPORATE_ID, WEAVR_EMAIL, WEAVR_MANAGED_ACCOUNT_ID, WEAVR_PASSWORD,
    };
    let statement = format!("/managed_accounts/{WEAVR_MANAGED_ACCOUNT_ID}/statement");
    let mut command = call_command("weavr", &sandbox.weavr_url());
    command
        .args(["--identity", &format!("CORPORATE:{WEAVR_CORPORATE_ID}")])
        .args(args)
        .args(["GET", &statement])
        .env("WEAVR_API_KEY", WEAVR_API_KEY)
        .env("WEAVR_EMAIL", WEAVR_EMAIL)
        .env("WEAVR_PASSWORD", WEAVR_PASSWORD);
    if let Some(code) = code {
        command.env("AUTHSESSION_STEP_UP_CODE", code);
    }
    command.output().expect("the command runs")
}

#[test]
fn weavr_call_steps_up_with_the_given_code_and_prints_no_secret() {
    use authsession_sandbox::{WEAVR_API_KEY, WEAVR_OTP_CODE, WEAVR_PASSWORD};
    let sandbox = start();
    let output = weavr_statement_call(
        &sandbox,
        None,
        &["--step-up-code", WEAVR_OTP_CODE, "--verbose"],
    );
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("SteppedUp"), "{stderr}");
    for secret in [WEAVR_API_KEY, WEAVR_PASSWORD, WEAVR_OTP_CODE] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} printed"
        );
    }
    let counters = sandbox.counters();
    assert_eq!(
        (counters.weavr_challenges, counters.weavr_verifications),
        (1, 1)
    );
    assert_eq!(counters.logouts, 1);
}

#[test]
fn a_step_up_code_from_the_environment_serves_one_verification() {
    use authsession_sandbox::WEAVR_OTP_CODE;
    let sandbox = start();
    let right = weavr_statement_call(&sandbox, Some(WEAVR_OTP_CODE), &[]);
    assert!(right.status.success(), "{}", text(&right.stderr));

    // A wrong code is checked once, and the command ends with the API's
    // reason in one line.
    let wrong = weavr_statement_call(&sandbox, Some("000000"), &[]);
    let stderr = text(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("VERIFICATION_CODE_INVALID"), "{stderr}");
    assert!(!stderr.contains("000000"), "{stderr}");
    let counters = sandbox.counters();
    assert_eq!(counters.weavr_codes_checked, 2);
    assert_eq!(counters.weavr_verifications, 1);
}

#[test]
fn access_key_call_takes_its_pair_from_the_environment_and_prints_no_secret() {
    use authsession_sandbox::{ACCESS_KEY_ID, ACCESS_KEY_SECRET};

    let sandbox = start();
    let run = |secret: &str| {
        call_command("access-key", &sandbox.access_key_url())
            .args(["--repeat", "3", "--verbose", "GET", "/partners/me"])
            .env("AUTHSESSION_ACCESS_KEY", ACCESS_KEY_ID)
            .env("AUTHSESSION_SECRET", secret)
            .output()
            .expect("the command runs")
    };

    let output = run(ACCESS_KEY_SECRET);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 3, "one body a line:\n{stdout}");
    assert!(stdout.lines().all(|line| line.starts_with('{')), "{stdout}");
    assert!(stderr.contains("logged in"), "{stderr}");
    // No logout endpoint: the token is forgotten locally.
    assert!(stderr.contains("logged out"), "{stderr}");
    for printed in [&stdout, &stderr] {
        assert_no_secret(printed, ACCESS_KEY_ID);
        assert!(
            !printed.contains(ACCESS_KEY_SECRET),
            "the secret was printed"
        );
        // The JWT's header, base64url: no token was printed.
        assert!(
            !printed.contains("eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9"),
            "a token was printed"
        );
    }
    let counters = sandbox.counters();
    assert_eq!(
        (counters.access_key_logins, counters.calls, counters.logouts),
        (1, 3, 0)
    );

    let refused = run("not-the-secret");
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    let error_line = stderr
        .lines()
        .find(|line| line.starts_with("error:"))
        .expect("an error line");
    assert!(error_line.contains("AccessKeyUnauthorized"), "{error_line}");
    assert!(!stderr.contains("not-the-secret"), "the secret was printed");
    assert_eq!(sandbox.counters().rejected_logins, 1, "tried once");

    let missing = call_command("access-key", &sandbox.access_key_url())
        .args(["GET", "/partners/me"])
        .env_remove("AUTHSESSION_ACCESS_KEY")
        .env_remove("AUTHSESSION_SECRET")
        .output()
        .expect("the command runs");
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("AUTHSESSION_ACCESS_KEY"));
}

/// `authsession call ... --form ... POST /v2/payments/create` on the
/// sandbox's Currencycloud, paying `amount` EUR.
fn payment_call(sandbox: &Sandbox, amount: &str, args: &[&str], code: Option<&str>) -> Output {
    let amount = format!("amount={amount}");
    let mut command = call_command("currencycloud", &sandbox.currencycloud_url());
    command
        .args(args)
        .args(["--form", "currency=EUR"])
        .args([
            "--form",
            "beneficiary_id=b9e1a0a8-0b6f-4b7e-9d7c-2b8e3c1f5a10",
        ])
        .args(["--form", &amount, "--form", "reason=Invoice 42"])
        .args(["POST", "/v2/payments/create"])
        .env("CURRENCYCLOUD_LOGIN_ID", CURRENCYCLOUD_LOGIN_ID)
        .env("CURRENCYCLOUD_API_KEY", CURRENCYCLOUD_API_KEY);
    if let Some(code) = code {
        command.env("AUTHSESSION_STEP_UP_CODE", code);
    }
    command.output().expect("the command runs")
}

#[test]
fn a_payment_with_sca_prints_the_created_payment_as_its_one_line() {
    use authsession_sandbox::CURRENCYCLOUD_SCA_CODE;
    let sandbox = start();
    let output = payment_call(
        &sandbox,
        "250.00",
        &[
            "--payment-sca",
            "--step-up-code",
            CURRENCYCLOUD_SCA_CODE,
            "--verbose",
        ],
        None,
    );
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains(r#""status":"ready_to_send""#), "{stdout}");
    assert!(stdout.contains(r#""reason":"Invoice 42""#), "{stdout}");
    for printed in [&stdout, &stderr] {
        assert_no_secret(printed, CURRENCYCLOUD_API_KEY);
        assert!(
            !printed.contains(CURRENCYCLOUD_SCA_CODE),
            "the code was printed"
        );
    }
    let counters = sandbox.counters();
    assert_eq!(
        (
            counters.payment_validations,
            counters.payment_sms_sent,
            counters.payment_codes_checked,
            counters.payments_created
        ),
        (1, 1, 1, 1)
    );
    assert_eq!((counters.logins, counters.logouts), (1, 1));
}

#[test]
fn a_refused_payment_code_exits_1_naming_the_apis_code_and_is_checked_once() {
    let sandbox = start();
    let output = payment_call(&sandbox, "250.00", &["--payment-sca"], Some("000000"));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("sca_check_failed"), "{stderr}");
    assert!(!stderr.contains("000000"), "{stderr}");
    assert!(output.stdout.is_empty());
    let counters = sandbox.counters();
    assert_eq!(counters.payment_codes_checked, 1);
    assert_eq!(counters.payments_created, 0);
    assert_eq!(counters.logins, 1);
}

#[test]
fn a_form_body_goes_as_multipart_and_a_small_payment_needs_no_code() {
    let sandbox = start();
    let plain = payment_call(&sandbox, "20.00", &[], None);
    assert!(plain.status.success(), "{}", text(&plain.stderr));
    let with_sca = payment_call(&sandbox, "20.00", &["--payment-sca"], None);
    assert!(with_sca.status.success(), "{}", text(&with_sca.stderr));
    let counters = sandbox.counters();
    assert_eq!(counters.payments_created, 2);
    assert_eq!(counters.payment_validations, 1);
    assert_eq!(counters.payment_sms_sent, 0);

    let bare_big = payment_call(&sandbox, "250.00", &[], None);
    assert_eq!(bare_big.status.code(), Some(1));
    assert!(text(&bare_big.stderr).contains("sca_check_failed"));
}

#[test]
fn payment_sca_on_another_api_and_a_malformed_form_field_exit_2() {
    let sandbox = start();
    let output = call_command("weavr", &sandbox.weavr_url())
        .args(["--payment-sca", "POST", "/payments"])
        .output()
        .expect("the command runs");
    assert_eq!(output.status.code(), Some(2));
    let output = call(
        &sandbox,
        &["--form", "no-equals-sign", "POST", "/v2/payments/create"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert_eq!(sandbox.counters().logins, 0);
}
