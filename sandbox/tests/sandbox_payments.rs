//! Currencycloud's SCA for API payments in the sandbox, seen from the wire:
//! `POST /v2/payments/validate` and `POST /v2/payments/create` with a raw
//! HTTP/1.1 client, checked by status, headers, body and counters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod raw_http;

use std::fmt::Write as _;
use std::thread;
use std::time::Duration;

use authsession_sandbox::{
    CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_SCA_CODE, Counters, Sandbox,
    SandboxConfig,
};
use raw_http::{Answer, request};
use serde_json::{Value, json};

const VALIDATE: &str = "/v2/payments/validate";
const CREATE: &str = "/v2/payments/create";
const BENEFICIARY: &str = "5b2c9f0e-8d1a-4c3b-9e7f-0a1b2c3d4e5f";
const WRONG_CODE: &str = "000000";
/// A UUID that no challenge has.
const UNKNOWN_ID: &str = "00000000-0000-4000-8000-000000000000";

/// A config whose tokens outlive the tests' sleeps.
fn config() -> SandboxConfig {
    SandboxConfig {
        idle_timeout: Duration::from_secs(60),
        ..SandboxConfig::for_tests()
    }
}

fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).unwrap()
}

fn login_as(sandbox: &Sandbox, login_id: &str, api_key: &str) -> String {
    let body = format!(
        "login_id={}&api_key={api_key}",
        login_id.replace('@', "%40")
    );
    let answer = request(
        sandbox,
        "POST",
        "/v2/authenticate/api",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["auth_token"].as_str().unwrap().to_owned()
}

fn login(sandbox: &Sandbox) -> String {
    login_as(sandbox, CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY)
}

/// A payment's form fields.
fn payment(amount: &str) -> Vec<(&'static str, String)> {
    vec![
        ("currency", "EUR".to_owned()),
        ("beneficiary_id", BENEFICIARY.to_owned()),
        ("amount", amount.to_owned()),
        ("reason", "Invoice 42".to_owned()),
        ("reference", "INV-42".to_owned()),
    ]
}

fn urlencoded(fields: &[(&str, String)]) -> String {
    let pairs: Vec<String> = fields
        .iter()
        .map(|(name, value)| format!("{name}={}", value.replace(' ', "+")))
        .collect();
    pairs.join("&")
}

fn multipart(fields: &[(&str, String)], boundary: &str) -> String {
    let mut body = String::new();
    for (name, value) in fields {
        let _ = write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        );
    }
    let _ = write!(body, "--{boundary}--\r\n");
    body
}

/// `POST path` with an urlencoded form, the token (if any) and `headers`.
fn post(
    sandbox: &Sandbox,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    fields: &[(&str, String)],
) -> Answer {
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend(token.map(|token| ("X-Auth-Token", token)));
    all.extend_from_slice(headers);
    request(sandbox, "POST", path, &all, urlencoded(fields).as_bytes())
}

/// A validate with `x-sca-opt-in: true`.
fn validate(sandbox: &Sandbox, token: &str, fields: &[(&str, String)]) -> Answer {
    post(
        sandbox,
        VALIDATE,
        Some(token),
        &[("x-sca-opt-in", "true")],
        fields,
    )
}

/// A validate that must start an SMS challenge: its `x-sca-id`.
fn sms_challenge(sandbox: &Sandbox, token: &str, fields: &[(&str, String)]) -> String {
    let answer = validate(sandbox, token, fields);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("x-sca-type"), Some("SMS"));
    assert_eq!(answer.header("x-sca-required"), Some("true"));
    answer.header("x-sca-id").unwrap().to_owned()
}

/// A create with `x-sca-opt-in: true`, the challenge and the code.
fn create(
    sandbox: &Sandbox,
    token: &str,
    sca_id: &str,
    code: Option<&str>,
    fields: &[(&str, String)],
) -> Answer {
    let mut headers = vec![("x-sca-opt-in", "true"), ("x-sca-id", sca_id)];
    headers.extend(code.map(|code| ("x-sca-token", code)));
    post(sandbox, CREATE, Some(token), &headers, fields)
}

/// Currencycloud's error shape with one entry, under `field`.
fn shape(error_code: &str, field: &str, code: &str, message: &str) -> Value {
    let entry = json!({ "code": code, "message": message, "params": {} });
    json!({ "error_code": error_code, "error_messages": { field: [entry] } })
}

/// A create with the right code.
fn pay(sandbox: &Sandbox, token: &str, sca_id: &str, fields: &[(&str, String)]) -> Answer {
    create(sandbox, token, sca_id, Some(CURRENCYCLOUD_SCA_CODE), fields)
}

fn error(code: &str, field: &str, message: &str) -> Value {
    shape(code, field, code, message)
}

fn sca_failed(field: &str, code: &str, message: &str) -> Value {
    shape("sca_check_failed", field, code, message)
}

fn token_refused(message: &str) -> Value {
    sca_failed("x-sca-token", "x-sca-token", message)
}

fn assert_answer(answer: &Answer, status: u16, body: &Value) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(&answer.json(), body);
    assert!(answer.header("X-Request-Id").is_some());
}

fn assert_uuid(text: &str) {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|group| group.len()).collect();
    assert_eq!(lengths, [8, 4, 4, 4, 12], "{text}");
    assert!(
        groups
            .iter()
            .all(|group| group.bytes().all(|b| b.is_ascii_hexdigit())),
        "{text}"
    );
}

fn assert_payment(answer: &Answer, amount: &str) {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert_uuid(body["id"].as_str().unwrap());
    assert_eq!(body["amount"], amount);
    assert_eq!(body["currency"], "EUR");
    assert_eq!(body["beneficiary_id"], BENEFICIARY);
    assert_eq!(body["reason"], "Invoice 42");
    assert_eq!(body["reference"], "INV-42");
    assert_eq!(body["status"], "ready_to_send");
}

fn sca_counters(sandbox: &Sandbox) -> (u64, u64, u64, u64) {
    let counters = sandbox.counters();
    (
        counters.payment_validations,
        counters.payment_sms_sent,
        counters.payment_codes_checked,
        counters.payments_created,
    )
}

#[test]
fn below_the_threshold_the_challenge_is_none_and_needs_no_code() {
    let sandbox = start(config());
    let token = login(&sandbox);
    let plain = post(&sandbox, VALIDATE, Some(&token), &[], &payment("5000"));
    assert_answer(&plain, 200, &json!({ "validation_result": "success" }));
    for header in ["x-sca-id", "x-sca-type", "x-sca-required"] {
        assert_eq!(plain.header(header), None, "no opt-in, no {header}");
    }

    let answer = validate(&sandbox, &token, &payment("99.99"));
    assert_answer(&answer, 200, &json!({ "validation_result": "success" }));
    assert_eq!(answer.header("x-sca-type"), Some("NONE"));
    assert_eq!(answer.header("x-sca-required"), Some("false"));
    let sca_id = answer.header("x-sca-id").unwrap();
    assert_uuid(sca_id);
    assert_payment(
        &create(&sandbox, &token, sca_id, None, &payment("99.99")),
        "99.99",
    );
    let bare = post(&sandbox, CREATE, Some(&token), &[], &payment("12"));
    assert_payment(&bare, "12");
    assert_eq!(sca_counters(&sandbox), (2, 0, 0, 2));
    assert_eq!(sandbox.counters().calls, 4);
}

#[test]
fn an_sms_challenge_takes_the_code_with_the_fields_in_any_order() {
    let sandbox = start(config());
    let token = login(&sandbox);
    let answer = post(
        &sandbox,
        VALIDATE,
        Some(&token),
        &[
            ("x-sca-opt-in", "true"),
            ("x-sca-to-authenticated-user", "true"),
        ],
        &payment("100"),
    );
    assert_answer(&answer, 200, &json!({ "validation_result": "success" }));
    assert_eq!(answer.header("x-sca-type"), Some("SMS"));
    assert_eq!(answer.header("x-sca-required"), Some("true"));
    let sca_id = answer.header("x-sca-id").unwrap();
    assert_uuid(sca_id);

    // The same payment as a multipart form, its fields in another order.
    let mut fields = payment("100");
    fields.reverse();
    let boundary = "----payment-boundary";
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let created = request(
        &sandbox,
        "POST",
        CREATE,
        &[
            ("Content-Type", &content_type),
            ("X-Auth-Token", &token),
            ("x-sca-opt-in", "true"),
            ("x-sca-id", sca_id),
            ("x-sca-token", CURRENCYCLOUD_SCA_CODE),
        ],
        multipart(&fields, boundary).as_bytes(),
    );
    assert_payment(&created, "100");
    assert_eq!(sca_counters(&sandbox), (1, 1, 1, 1));
}

#[test]
fn a_wrong_code_is_refused_and_the_right_one_then_accepted() {
    let sandbox = start(config());
    let token = login(&sandbox);
    let sca_id = sms_challenge(&sandbox, &token, &payment("2500.50"));
    let wrong = create(
        &sandbox,
        &token,
        &sca_id,
        Some(WRONG_CODE),
        &payment("2500.50"),
    );
    assert_answer(&wrong, 401, &token_refused("x-sca-token is invalid"));
    let right = pay(&sandbox, &token, &sca_id, &payment("2500.50"));
    assert_payment(&right, "2500.50");
    assert_eq!(sca_counters(&sandbox), (1, 1, 2, 1));
    assert_eq!(
        sandbox.counters().unauthorized,
        0,
        "no SCA 401 is the token's"
    );
}

#[test]
fn a_create_must_match_the_validated_challenge() {
    let sandbox = start(config());
    let token = login(&sandbox);
    let sca_id = sms_challenge(&sandbox, &token, &payment("1000"));
    let code = Some(CURRENCYCLOUD_SCA_CODE);

    let changed = create(&sandbox, &token, &sca_id, code, &payment("1000.01"));
    let differs = "The request body differs from the validated one";
    assert_answer(
        &changed,
        400,
        &error("invalid_request_body", "base", differs),
    );
    let mut extra = payment("1000");
    extra.push(("payment_type", "priority".to_owned()));
    let extra = create(&sandbox, &token, &sca_id, code, &extra);
    assert_eq!(extra.json()["error_code"], "invalid_request_body");

    let no_code = create(&sandbox, &token, &sca_id, None, &payment("1000"));
    let required = "x-sca-token is required";
    assert_answer(
        &no_code,
        400,
        &error("missing_x_sca_token", "x-sca-token", required),
    );

    let invalid_id = error("invalid_x_sca_id", "x-sca-id", "x-sca-id is invalid");
    let unknown = create(&sandbox, &token, UNKNOWN_ID, code, &payment("1000"));
    assert_answer(&unknown, 400, &invalid_id);
    let headers = [("x-sca-id", sca_id.as_str()), ("x-sca-token", "123456")];
    let no_opt_in = post(&sandbox, CREATE, Some(&token), &headers, &payment("1000"));
    assert_answer(&no_opt_in, 400, &invalid_id);
    sandbox.add_currencycloud_user("ops@example.com", &"ab".repeat(32));
    let other = login_as(&sandbox, "ops@example.com", &"ab".repeat(32));
    let foreign = create(&sandbox, &other, &sca_id, code, &payment("1000"));
    assert_answer(&foreign, 400, &invalid_id);

    // None of them spent the challenge or compared its code.
    assert_eq!(sca_counters(&sandbox), (1, 1, 0, 0));
    assert_payment(
        &create(&sandbox, &token, &sca_id, code, &payment("1000")),
        "1000",
    );
}

#[test]
fn a_code_expires_with_its_configured_lifetime() {
    let sandbox = start(SandboxConfig {
        currencycloud_sca_code_lifetime: Duration::from_millis(200),
        ..config()
    });
    let token = login(&sandbox);
    let sca_id = sms_challenge(&sandbox, &token, &payment("500"));
    thread::sleep(Duration::from_millis(300));
    let late = pay(&sandbox, &token, &sca_id, &payment("500"));
    assert_answer(&late, 401, &token_refused("x-sca-token has expired"));
    assert_eq!(sca_counters(&sandbox), (1, 1, 0, 0));

    // A new validate sends a new code, good again.
    let fresh = sms_challenge(&sandbox, &token, &payment("500"));
    let created = pay(&sandbox, &token, &fresh, &payment("500"));
    assert_payment(&created, "500");
}

#[test]
fn after_five_wrong_codes_no_code_is_checked_any_more() {
    let sandbox = start(config());
    let token = login(&sandbox);
    let sca_id = sms_challenge(&sandbox, &token, &payment("750"));
    for _ in 0..5 {
        let wrong = create(&sandbox, &token, &sca_id, Some(WRONG_CODE), &payment("750"));
        assert_answer(&wrong, 401, &token_refused("x-sca-token is invalid"));
    }
    for code in [CURRENCYCLOUD_SCA_CODE, WRONG_CODE] {
        let refused = create(&sandbox, &token, &sca_id, Some(code), &payment("750"));
        assert_answer(&refused, 401, &token_refused("Too many attempts"));
    }
    assert_eq!(sca_counters(&sandbox), (1, 1, 5, 0));
}

#[test]
fn a_spent_challenge_cannot_create_another_payment() {
    let sandbox = start(config());
    let token = login(&sandbox);
    let sca_id = sms_challenge(&sandbox, &token, &payment("300"));
    let code = Some(CURRENCYCLOUD_SCA_CODE);
    assert_payment(
        &create(&sandbox, &token, &sca_id, code, &payment("300")),
        "300",
    );
    let again = create(&sandbox, &token, &sca_id, code, &payment("300"));
    assert_answer(
        &again,
        401,
        &token_refused("x-sca-token has already been used"),
    );

    let answer = validate(&sandbox, &token, &payment("30"));
    let none_id = answer.header("x-sca-id").unwrap().to_owned();
    assert_payment(
        &create(&sandbox, &token, &none_id, None, &payment("30")),
        "30",
    );
    let twice = create(&sandbox, &token, &none_id, None, &payment("30"));
    assert_answer(
        &twice,
        401,
        &token_refused("x-sca-token has already been used"),
    );
    assert_eq!(sca_counters(&sandbox), (2, 1, 1, 2));
}

#[test]
fn a_payment_at_the_threshold_without_a_challenge_needs_sca() {
    let sandbox = start(config());
    let token = login(&sandbox);
    for headers in [&[][..], &[("x-sca-opt-in", "true")][..]] {
        let answer = post(&sandbox, CREATE, Some(&token), headers, &payment("100"));
        assert_answer(
            &answer,
            401,
            &sca_failed("x-sca-id", "sca_required", "SCA required"),
        );
    }
    assert_eq!(sca_counters(&sandbox), (0, 0, 0, 0));
    assert_eq!(sandbox.counters().unauthorized, 0);
}

#[test]
fn a_validate_must_not_carry_an_sca_id() {
    let sandbox = start(config());
    let token = login(&sandbox);
    let answer = post(
        &sandbox,
        VALIDATE,
        Some(&token),
        &[("x-sca-opt-in", "true"), ("x-sca-id", UNKNOWN_ID)],
        &payment("1000"),
    );
    let message = "x-sca-id must not be sent to validate a payment";
    assert_answer(
        &answer,
        400,
        &error("invalid_extra_x_sca_id", "x-sca-id", message),
    );
    assert_eq!(sca_counters(&sandbox), (0, 0, 0, 0));
}

#[test]
fn too_many_codes_for_the_same_payment_are_refused() {
    let sandbox = start(config());
    let token = login(&sandbox);
    let first = sms_challenge(&sandbox, &token, &payment("1000"));
    for _ in 1..5 {
        sms_challenge(&sandbox, &token, &payment("1000"));
    }
    // The same payment with its fields in another order is the same.
    let mut reordered = payment("1000");
    reordered.rotate_left(2);
    let refused = validate(&sandbox, &token, &reordered);
    let message = "Too many requests have been made to the api. Please refer to the Developer Center for more information";
    assert_answer(&refused, 429, &error("too_many_requests", "base", message));
    assert_eq!(refused.header("x-sca-id"), None);
    // Another payment is not limited, and the first challenge is still good.
    sms_challenge(&sandbox, &token, &payment("1001"));
    let created = pay(&sandbox, &token, &first, &payment("1000"));
    assert_payment(&created, "1000");
    assert_eq!(sca_counters(&sandbox), (6, 6, 1, 1));
}

#[test]
fn the_sms_limit_is_configurable() {
    let sandbox = start(SandboxConfig {
        currencycloud_sca_sms_limit: 1,
        currencycloud_sca_threshold: 10,
        ..config()
    });
    let token = login(&sandbox);
    sms_challenge(&sandbox, &token, &payment("10"));
    assert_eq!(validate(&sandbox, &token, &payment("10")).status, 429);
    assert_eq!(sca_counters(&sandbox), (1, 1, 0, 0));
}

#[test]
fn a_new_login_keeps_the_challenge() {
    let sandbox = start(config());
    let first = login(&sandbox);
    let sca_id = sms_challenge(&sandbox, &first, &payment("4000"));
    let logout = request(
        &sandbox,
        "POST",
        "/v2/authenticate/close_session",
        &[("X-Auth-Token", &first)],
        b"",
    );
    assert_eq!(logout.status, 200);
    let second = login(&sandbox);
    let created = pay(&sandbox, &second, &sca_id, &payment("4000"));
    assert_payment(&created, "4000");
    assert_eq!(sca_counters(&sandbox), (1, 1, 1, 1));
}

#[test]
fn the_payment_calls_need_a_live_token() {
    let sandbox = start(SandboxConfig {
        idle_timeout: Duration::from_millis(300),
        ..config()
    });
    let auth_failed = json!({
        "error_code": "auth_failed",
        "error_messages": {
            "username": [{
                "code": "invalid_supplied_credentials",
                "message": "Authentication failed with the supplied credentials",
                "params": {}
            }]
        }
    });
    let sca = [("x-sca-opt-in", "true")];
    let none = post(&sandbox, CREATE, None, &sca, &payment("10"));
    assert_answer(&none, 401, &auth_failed);
    let unknown = post(&sandbox, VALIDATE, Some("f00"), &sca, &payment("10"));
    assert_answer(&unknown, 401, &auth_failed);

    let token = login(&sandbox);
    // Each payment call restarts the idle timer.
    for _ in 0..3 {
        thread::sleep(Duration::from_millis(150));
        assert_eq!(validate(&sandbox, &token, &payment("10")).status, 200);
    }
    thread::sleep(Duration::from_millis(400));
    let expired = post(&sandbox, CREATE, Some(&token), &sca, &payment("10"));
    assert_answer(&expired, 401, &auth_failed);
    assert_eq!(
        sandbox.counters(),
        Counters {
            logins: 1,
            unauthorized: 3,
            calls: 3,
            payment_validations: 3,
            ..Counters::default()
        }
    );
}

#[test]
fn payment_fields_are_checked() {
    let sandbox = start(config());
    let token = login(&sandbox);
    let fields = |skip: &str, amount: &str| -> Vec<(&'static str, String)> {
        payment(amount)
            .into_iter()
            .filter(|(name, _)| *name != skip)
            .collect()
    };
    let cases = [
        (fields("amount", ""), "amount", "amount_is_required"),
        (fields("", "1e3"), "amount", "amount_type_is_wrong"),
        (fields("", "-5"), "amount", "amount_type_is_wrong"),
        (fields("currency", "10"), "currency", "currency_is_required"),
        (
            fields("beneficiary_id", "10"),
            "beneficiary_id",
            "beneficiary_id_is_required",
        ),
    ];
    for path in [VALIDATE, CREATE] {
        for (form, field, code) in &cases {
            let answer = post(
                &sandbox,
                path,
                Some(&token),
                &[("x-sca-opt-in", "true")],
                form,
            );
            assert_eq!(answer.status, 400, "{path} {code}: {}", answer.body);
            let body = answer.json();
            assert_eq!(body["error_code"], "payment_invalid_request");
            assert_eq!(body["error_messages"][field][0]["code"], *code, "{body}");
            assert!(body["error_messages"][field][0]["message"].is_string());
            assert_eq!(body["error_messages"].as_object().unwrap().len(), 1);
        }
    }
    // reason and reference are optional.
    let minimal = fields("reason", "10")
        .into_iter()
        .filter(|(name, _)| *name != "reference")
        .collect::<Vec<_>>();
    let created = post(&sandbox, CREATE, Some(&token), &[], &minimal);
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.json()["reference"], "");
    assert_eq!(sca_counters(&sandbox), (0, 0, 0, 1));
}
