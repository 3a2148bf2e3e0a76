//! The sandbox's Weavr Multi API seen from the wire: a raw HTTP/1.1 client
//! over `TcpStream` walks the login, the token exchange, the calls of each
//! level and step-up, and checks the errors and counters that
//! `PROVIDERS.md` §2 and the sandbox's rules call for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod raw_http;

use std::thread;
use std::time::Duration;

use authsession_sandbox::{
    Counters, Fault, Sandbox, SandboxConfig, WEAVR_API_KEY, WEAVR_CORPORATE_ID, WEAVR_EMAIL,
    WEAVR_EXPIRED_EMAIL, WEAVR_MANAGED_ACCOUNT_ID, WEAVR_OTP_CODE, WEAVR_PASSWORD,
    WEAVR_TWO_IDENTITIES_CONSUMER_ID, WEAVR_TWO_IDENTITIES_CORPORATE_ID,
    WEAVR_TWO_IDENTITIES_EMAIL,
};
use raw_http::Answer;
use serde_json::{Value, json};

const LOGIN: &str = "/multi/login_with_password";
const IDENTITIES: &str = "/multi/identities";
const EXCHANGE: &str = "/multi/access_token";
const ACCOUNTS: &str = "/multi/managed_accounts";
const SMS: &str = "/multi/stepup/challenges/otp/SMS";
const SMS_VERIFY: &str = "/multi/stepup/challenges/otp/SMS/verify";
const LOGOUT: &str = "/multi/logout";
/// Long enough that a test's own pace never lets a token idle out.
const PATIENT: Duration = Duration::from_secs(5);

impl Answer {
    /// The `errorCode` of a `409` (or `403`) body.
    fn error_code(&self) -> Value {
        self.json()["errorCode"].clone()
    }
}

/// What a request carries besides its method and path.
#[derive(Clone, Copy, Default)]
struct With<'a> {
    /// `None`: the account's key; `Some("")`: no `api-key` header.
    api_key: Option<&'a str>,
    bearer: Option<&'a str>,
    body: Option<&'a str>,
}

fn request(sandbox: &Sandbox, method: &str, path: &str, with: With) -> Answer {
    let api_key = match with.api_key {
        Some("") => None,
        key => Some(("api-key", key.unwrap_or(WEAVR_API_KEY))),
    };
    let answer = raw_http::json_request(
        sandbox,
        method,
        path,
        api_key.as_slice(),
        with.bearer,
        with.body,
    );
    let request_ref = answer.header("request-ref").expect("a request-ref");
    assert_eq!(request_ref.len(), 36, "{request_ref}");
    answer
}

fn get(sandbox: &Sandbox, path: &str, token: &str) -> Answer {
    let with = With {
        bearer: Some(token),
        ..With::default()
    };
    request(sandbox, "GET", path, with)
}

fn post(sandbox: &Sandbox, path: &str, token: &str, body: Option<&Value>) -> Answer {
    let body = body.map(Value::to_string);
    let with = With {
        bearer: Some(token),
        body: body.as_deref(),
        ..With::default()
    };
    request(sandbox, "POST", path, with)
}

fn login_as(sandbox: &Sandbox, email: &str, password: &str) -> Answer {
    let body = json!({ "email": email, "password": { "value": password } }).to_string();
    let with = With {
        body: Some(&body),
        ..With::default()
    };
    request(sandbox, "POST", LOGIN, with)
}

fn auth_token(sandbox: &Sandbox, email: &str) -> String {
    let answer = login_as(sandbox, email, WEAVR_PASSWORD);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["token"].as_str().unwrap().to_owned()
}

fn exchange(sandbox: &Sandbox, auth: &str, kind: &str, id: &str) -> Answer {
    let identity = json!({ "identity": { "type": kind, "id": id } });
    post(sandbox, EXCHANGE, auth, Some(&identity))
}

/// Logs the one-identity user in and exchanges its token.
fn access_token(sandbox: &Sandbox) -> String {
    let auth = auth_token(sandbox, WEAVR_EMAIL);
    let answer = exchange(sandbox, &auth, "CORPORATE", WEAVR_CORPORATE_ID);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["token"].as_str().unwrap().to_owned()
}

fn statement_path() -> String {
    format!("{ACCOUNTS}/{WEAVR_MANAGED_ACCOUNT_ID}/statement")
}

fn verify(sandbox: &Sandbox, token: &str, code: &str) -> Answer {
    post(
        sandbox,
        SMS_VERIFY,
        token,
        Some(&json!({ "verificationCode": code })),
    )
}

fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).unwrap()
}

fn patient() -> SandboxConfig {
    SandboxConfig {
        weavr_idle_timeout: PATIENT,
        ..SandboxConfig::for_tests()
    }
}

/// The payload of a JWT, decoded from base64url.
fn jwt_payload(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let url_safe = |part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    assert!(parts.iter().all(|part| !part.is_empty() && url_safe(part)));
    assert_eq!(parts[0], "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"); // {"alg":"HS256","typ":"JWT"}
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0_u32;
    let (mut held, mut bytes) = (0, Vec::new());
    for byte in parts[1].bytes() {
        let value = alphabet.iter().position(|a| *a == byte).unwrap();
        bits = bits << 6 | u32::try_from(value).unwrap();
        held += 6;
        if held >= 8 {
            held -= 8;
            bytes.push(u8::try_from(bits >> held & 0xff).unwrap());
        }
    }
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn the_whole_flow_from_login_to_logout() {
    let sandbox = start(patient());
    assert!(sandbox.weavr_url().ends_with("/multi"));

    let login = login_as(&sandbox, WEAVR_EMAIL, WEAVR_PASSWORD);
    assert_eq!(login.status, 200);
    assert_eq!(login.header("Content-Type"), Some("application/json"));
    let body = login.json();
    assert_eq!(body["tokenType"], "AUTH");
    assert_eq!(
        body["identity"],
        json!({ "type": "CORPORATE", "id": WEAVR_CORPORATE_ID })
    );
    assert_eq!(body["credentials"]["type"], "ROOT");
    let auth = body["token"].as_str().unwrap();
    // The auth token is good for the exchange only.
    assert_eq!(get(&sandbox, ACCOUNTS, auth).status, 401);

    let exchanged = exchange(&sandbox, auth, "CORPORATE", WEAVR_CORPORATE_ID);
    assert_eq!(exchanged.status, 200);
    let body = exchanged.json();
    assert_eq!(body["status"], "STANDARD");
    assert_eq!(body["identity"]["id"], WEAVR_CORPORATE_ID);
    let token = body["token"].as_str().unwrap();
    let payload = jwt_payload(token);
    assert!(payload["sub"].is_string() && payload["iat"].is_u64() && payload["jti"].is_string());

    let accounts = get(&sandbox, ACCOUNTS, token);
    assert_eq!(accounts.status, 200);
    let body = accounts.json();
    assert_eq!(body["accounts"][0]["id"], WEAVR_MANAGED_ACCOUNT_ID);
    assert_eq!(
        (&body["count"], &body["responseCount"]),
        (&json!(1), &json!(1))
    );

    let refused = get(&sandbox, &statement_path(), token);
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json(), json!({ "errorCode": "STEP_UP_REQUIRED" }));
    assert_eq!(
        verify(&sandbox, token, WEAVR_OTP_CODE).error_code(),
        "STATE_INVALID"
    );

    let challenge = post(&sandbox, SMS, token, None);
    assert_eq!((challenge.status, challenge.body.as_str()), (204, ""));
    let wrong = verify(&sandbox, token, "654321");
    assert_eq!(wrong.status, 409);
    assert_eq!(wrong.error_code(), "VERIFICATION_CODE_INVALID");
    assert_eq!(verify(&sandbox, token, WEAVR_OTP_CODE).status, 204);

    let statement = get(&sandbox, &statement_path(), token);
    assert_eq!(statement.status, 200);
    assert!(!statement.json()["entry"].as_array().unwrap().is_empty());
    assert_eq!(
        post(&sandbox, SMS, token, None).error_code(),
        "ALREADY_VERIFIED"
    );
    assert_eq!(
        verify(&sandbox, token, WEAVR_OTP_CODE).error_code(),
        "ALREADY_VERIFIED"
    );

    let logout = post(&sandbox, LOGOUT, token, None);
    assert_eq!((logout.status, logout.body.as_str()), (204, ""));
    assert_eq!(get(&sandbox, ACCOUNTS, token).status, 401);
    // Logout ends the login: its auth token goes too.
    assert_eq!(get(&sandbox, IDENTITIES, auth).status, 401);

    assert_eq!(
        sandbox.counters(),
        Counters {
            logins: 1,
            weavr_logins: 1,
            weavr_exchanges: 1,
            weavr_challenges: 1,
            weavr_verifications: 1,
            weavr_codes_checked: 4,
            calls: 2,
            logouts: 1,
            unauthorized: 3,
            ..Counters::default()
        }
    );
    assert_eq!(sandbox.login_times().len(), 1);
}

#[test]
fn a_new_code_waits_for_the_resend_interval_and_the_third_resend_burns_the_token() {
    let sandbox = start(patient());
    let token = access_token(&sandbox);
    assert_eq!(post(&sandbox, SMS, &token, None).status, 204);
    let early = post(&sandbox, SMS, &token, None);
    assert_eq!(early.status, 409);
    assert_eq!(early.error_code(), "RETRY_IN_15SEC");
    for _ in 0..2 {
        thread::sleep(Duration::from_millis(250));
        assert_eq!(post(&sandbox, SMS, &token, None).status, 204);
    }
    thread::sleep(Duration::from_millis(250));
    let burnt = post(&sandbox, SMS, &token, None);
    assert_eq!(burnt.status, 400);
    assert_eq!(burnt.json(), json!({ "errorCode": "INVALID_REQUEST" }));
    assert_eq!(get(&sandbox, ACCOUNTS, &token).status, 401);
    assert_eq!(verify(&sandbox, &token, WEAVR_OTP_CODE).status, 401);
    assert_eq!(sandbox.counters().weavr_challenges, 3);

    // A new login starts over, and a resent code verifies.
    let token = access_token(&sandbox);
    assert_eq!(post(&sandbox, SMS, &token, None).status, 204);
    thread::sleep(Duration::from_millis(250));
    assert_eq!(post(&sandbox, SMS, &token, None).status, 204);
    assert_eq!(verify(&sandbox, &token, WEAVR_OTP_CODE).status, 204);
    assert_eq!(get(&sandbox, &statement_path(), &token).status, 200);
}

#[test]
fn too_many_wrong_codes_end_the_step_up_but_not_the_token() {
    let sandbox = start(patient());
    let token = access_token(&sandbox);
    assert_eq!(post(&sandbox, SMS, &token, None).status, 204);
    for _ in 0..4 {
        assert_eq!(
            verify(&sandbox, &token, "000000").error_code(),
            "VERIFICATION_CODE_INVALID"
        );
    }
    for code in ["000000", WEAVR_OTP_CODE] {
        let refused = verify(&sandbox, &token, code);
        assert_eq!(refused.status, 409);
        assert_eq!(refused.error_code(), "CHALLENGE_LIMIT_EXCEEDED");
    }
    thread::sleep(Duration::from_millis(250));
    assert_eq!(
        post(&sandbox, SMS, &token, None).error_code(),
        "CHALLENGE_LIMIT_EXCEEDED"
    );
    assert_eq!(get(&sandbox, ACCOUNTS, &token).status, 200);
    assert_eq!(get(&sandbox, &statement_path(), &token).status, 403);
}

#[test]
fn an_old_code_has_expired_and_a_blank_one_is_malformed() {
    let sandbox = start(SandboxConfig {
        weavr_code_lifetime: Duration::from_millis(100),
        ..patient()
    });
    let token = access_token(&sandbox);
    assert_eq!(post(&sandbox, SMS, &token, None).status, 204);
    let blank = verify(&sandbox, &token, " ");
    assert_eq!(blank.status, 400);
    assert_eq!(
        blank.json()["syntaxErrors"]["invalidFields"][0]["fieldName"],
        "verificationCode"
    );
    thread::sleep(Duration::from_millis(150));
    let expired = verify(&sandbox, &token, WEAVR_OTP_CODE);
    assert_eq!(expired.status, 409);
    assert_eq!(expired.error_code(), "VERIFICATION_CODE_EXPIRED");
}

#[test]
fn only_sms_codes_and_authy_or_biometric_pushes_are_offered() {
    let sandbox = start(patient());
    let token = access_token(&sandbox);
    for path in [
        "/multi/stepup/challenges/otp/EMAIL",
        "/multi/stepup/challenges/push/SMS",
    ] {
        let refused = post(&sandbox, path, &token, None);
        assert_eq!(refused.status, 409, "{path}");
        assert_eq!(refused.error_code(), "CHANNEL_NOT_SUPPORTED");
    }
    assert_eq!(sandbox.counters().weavr_challenges, 0);
}

#[test]
fn a_push_challenge_steps_up_when_the_user_approves() {
    let sandbox = start(patient());
    let token = access_token(&sandbox);
    let push = post(
        &sandbox,
        "/multi/stepup/challenges/push/AUTHY",
        &token,
        None,
    );
    assert_eq!(push.status, 200);
    let id = push.json()["id"].as_str().unwrap().to_owned();
    assert!(sandbox.approve_weavr_push(&id, false));
    assert!(!sandbox.approve_weavr_push(&id, true), "answered already");
    assert_eq!(get(&sandbox, &statement_path(), &token).status, 403);

    thread::sleep(Duration::from_millis(250));
    let push = post(
        &sandbox,
        "/multi/stepup/challenges/push/BIOMETRIC",
        &token,
        None,
    );
    let id = push.json()["id"].as_str().unwrap().to_owned();
    assert!(sandbox.approve_weavr_push(&id, true));
    assert_eq!(get(&sandbox, &statement_path(), &token).status, 200);
    assert!(!sandbox.approve_weavr_push("42", true));
    let counters = sandbox.counters();
    assert_eq!(
        (counters.weavr_challenges, counters.weavr_verifications),
        (2, 1)
    );
}

#[test]
fn a_user_with_two_identities_picks_one() {
    let sandbox = start(patient());
    let auth = auth_token(&sandbox, WEAVR_TWO_IDENTITIES_EMAIL);
    let listed = get(&sandbox, IDENTITIES, &auth);
    assert_eq!(listed.status, 200);
    let body = listed.json();
    assert_eq!(
        (&body["count"], &body["responseCount"]),
        (&json!(2), &json!(2))
    );
    let ids: Vec<&Value> = body["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|identity| &identity["id"])
        .collect();
    assert_eq!(
        ids,
        [
            &json!({ "type": "CORPORATE", "id": WEAVR_TWO_IDENTITIES_CORPORATE_ID }),
            &json!({ "type": "CONSUMER", "id": WEAVR_TWO_IDENTITIES_CONSUMER_ID }),
        ]
    );

    let mut accounts = Vec::new();
    for (kind, id) in [
        ("CONSUMER", WEAVR_TWO_IDENTITIES_CONSUMER_ID),
        ("CORPORATE", WEAVR_TWO_IDENTITIES_CORPORATE_ID),
    ] {
        let exchanged = exchange(&sandbox, &auth, kind, id);
        assert_eq!(exchanged.status, 200);
        assert_eq!(
            exchanged.json()["identity"],
            json!({ "type": kind, "id": id })
        );
        let token = exchanged.json()["token"].as_str().unwrap().to_owned();
        assert_eq!(get(&sandbox, IDENTITIES, &token).status, 401);
        accounts.push(get(&sandbox, ACCOUNTS, &token).json()["accounts"][0]["id"].clone());
    }
    assert_ne!(accounts[0], accounts[1]);

    // Another user's identity, a type that does not match, a malformed body.
    assert_eq!(
        exchange(&sandbox, &auth, "CORPORATE", WEAVR_CORPORATE_ID).status,
        403
    );
    let consumer = WEAVR_TWO_IDENTITIES_CONSUMER_ID;
    assert_eq!(exchange(&sandbox, &auth, "CORPORATE", consumer).status, 403);
    let malformed = post(&sandbox, EXCHANGE, &auth, Some(&json!({ "identity": {} })));
    assert_eq!(malformed.status, 400);
    assert_eq!(
        malformed.json()["syntaxErrors"]["invalidFields"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(sandbox.counters().weavr_exchanges, 2);
}

#[test]
fn an_expired_password_gets_a_token_good_for_nothing_here() {
    let sandbox = start(patient());
    let expired = login_as(&sandbox, WEAVR_EXPIRED_EMAIL, WEAVR_PASSWORD);
    assert_eq!(expired.status, 409);
    let token = expired.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(get(&sandbox, IDENTITIES, &token).status, 401);
    assert_eq!(
        exchange(&sandbox, &token, "CORPORATE", "110138374263767168").status,
        401
    );
    assert_eq!(get(&sandbox, ACCOUNTS, &token).status, 401);
    assert_eq!(post(&sandbox, LOGOUT, &token, None).status, 401);
    assert_eq!(login_as(&sandbox, WEAVR_EXPIRED_EMAIL, "wrong").status, 403);
    let counters = sandbox.counters();
    assert_eq!((counters.logins, counters.rejected_logins), (0, 2));
    assert!(sandbox.login_times().is_empty());
}

#[test]
fn consecutive_failures_lock_the_user_out_for_a_while() {
    let sandbox = start(SandboxConfig {
        weavr_lock_duration: Duration::from_millis(300),
        ..patient()
    });
    // A success between failures starts the count again.
    for _ in 0..4 {
        let refused = login_as(&sandbox, WEAVR_EMAIL, "wrong");
        assert_eq!(refused.status, 403);
        assert_eq!(
            refused.json(),
            json!({ "errorCode": "INVALID_CREDENTIALS" })
        );
    }
    assert_eq!(login_as(&sandbox, WEAVR_EMAIL, WEAVR_PASSWORD).status, 200);
    for _ in 0..5 {
        assert_eq!(login_as(&sandbox, WEAVR_EMAIL, "wrong").status, 403);
    }
    for password in [WEAVR_PASSWORD, "wrong"] {
        let locked = login_as(&sandbox, WEAVR_EMAIL, password);
        assert_eq!((locked.status, locked.body.as_str()), (423, ""));
    }
    // Other users are not locked.
    assert_eq!(
        login_as(&sandbox, WEAVR_TWO_IDENTITIES_EMAIL, WEAVR_PASSWORD).status,
        200
    );
    thread::sleep(Duration::from_millis(400));
    assert_eq!(login_as(&sandbox, WEAVR_EMAIL, WEAVR_PASSWORD).status, 200);
    let counters = sandbox.counters();
    assert_eq!((counters.weavr_logins, counters.rejected_logins), (3, 11));
}

#[test]
fn malformed_logins_name_their_fields() {
    let sandbox = start(patient());
    let cases = [
        (
            json!({ "password": { "value": WEAVR_PASSWORD } }),
            vec!["email"],
        ),
        (
            json!({ "email": WEAVR_EMAIL, "password": { "value": "  " } }),
            vec!["password"],
        ),
        (
            json!({ "email": "", "password": WEAVR_PASSWORD }),
            vec!["email", "password"],
        ),
    ];
    for (body, fields) in cases {
        let body = body.to_string();
        let with = With {
            body: Some(&body),
            ..With::default()
        };
        let answer = request(&sandbox, "POST", LOGIN, with);
        assert_eq!(answer.status, 400, "{body}");
        let json = answer.json();
        assert!(json["message"].is_string());
        let named: Vec<&str> = json["syntaxErrors"]["invalidFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|field| {
                assert_eq!(
                    (&field["error"], &field["params"]),
                    (&json!("REQUIRED"), &json!([]))
                );
                field["fieldName"].as_str().unwrap()
            })
            .collect();
        assert_eq!(named, fields, "{body}");
    }
    let not_json = With {
        body: Some("email=x"),
        ..With::default()
    };
    assert_eq!(request(&sandbox, "POST", LOGIN, not_json).status, 400);
    assert_eq!(
        login_as(&sandbox, "nobody@example.com", WEAVR_PASSWORD).status,
        403
    );
    assert_eq!(sandbox.counters().rejected_logins, 1);
}

#[test]
fn every_request_needs_the_account_api_key() {
    let sandbox = start(patient());
    let token = access_token(&sandbox);
    let body = json!({ "email": WEAVR_EMAIL, "password": { "value": WEAVR_PASSWORD } }).to_string();
    for api_key in ["", "not-the-key"] {
        let with = With {
            api_key: Some(api_key),
            body: Some(&body),
            ..With::default()
        };
        let refused = request(&sandbox, "POST", LOGIN, with);
        assert_eq!((refused.status, refused.body.as_str()), (401, ""));
        let with = With {
            api_key: Some(api_key),
            bearer: Some(&token),
            ..With::default()
        };
        assert_eq!(request(&sandbox, "GET", ACCOUNTS, with).status, 401);
    }
    assert_eq!(get(&sandbox, ACCOUNTS, &token).status, 200);
    let unknown = get(&sandbox, "/multi/nothing", &token);
    assert_eq!(unknown.status, 404);
    let counters = sandbox.counters();
    assert_eq!(
        (
            counters.logins,
            counters.rejected_logins,
            counters.unauthorized
        ),
        (1, 2, 2)
    );
}

#[test]
fn an_idle_token_expires_and_each_call_restarts_its_timer() {
    let sandbox = start(SandboxConfig {
        weavr_idle_timeout: Duration::from_millis(400),
        ..SandboxConfig::for_tests()
    });
    let token = access_token(&sandbox);
    for _ in 0..2 {
        thread::sleep(Duration::from_millis(250));
        assert_eq!(get(&sandbox, ACCOUNTS, &token).status, 200);
    }
    thread::sleep(Duration::from_millis(600));
    assert_eq!(get(&sandbox, ACCOUNTS, &token).status, 401);
    assert_eq!(get(&sandbox, ACCOUNTS, "not.a.token").status, 401);

    let auth = auth_token(&sandbox, WEAVR_EMAIL);
    thread::sleep(Duration::from_millis(600));
    assert_eq!(
        exchange(&sandbox, &auth, "CORPORATE", WEAVR_CORPORATE_ID).status,
        401
    );
    let counters = sandbox.counters();
    assert_eq!((counters.calls, counters.unauthorized), (2, 3));
}

#[test]
fn a_new_session_after_expiry_must_step_up_again() {
    let sandbox = start(SandboxConfig::for_tests());
    let token = access_token(&sandbox);
    assert_eq!(post(&sandbox, SMS, &token, None).status, 204);
    assert_eq!(verify(&sandbox, &token, WEAVR_OTP_CODE).status, 204);
    assert_eq!(get(&sandbox, &statement_path(), &token).status, 200);
    thread::sleep(Duration::from_millis(500));
    assert_eq!(get(&sandbox, &statement_path(), &token).status, 401);
    let token = access_token(&sandbox);
    assert_eq!(get(&sandbox, &statement_path(), &token).status, 403);
}

#[test]
fn step_up_required_can_come_in_the_message() {
    let sandbox = start(SandboxConfig {
        weavr_step_up_in_message: true,
        ..patient()
    });
    let token = access_token(&sandbox);
    let refused = get(&sandbox, &statement_path(), &token);
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json(), json!({ "message": "STEP_UP_REQUIRED" }));
}

#[test]
fn faults_answer_as_weavr_does() {
    let sandbox = start(patient());
    sandbox.inject(Fault::Status(429), 1);
    sandbox.inject(Fault::Status(401), 1);
    sandbox.inject(Fault::Status(503), 1);
    let limited = login_as(&sandbox, WEAVR_EMAIL, WEAVR_PASSWORD);
    assert_eq!(limited.status, 429);
    assert!(limited.header("x-ratelimit-limit").is_some());
    assert!(limited.header("x-ratelimit-reset").is_some());
    let bare = login_as(&sandbox, WEAVR_EMAIL, WEAVR_PASSWORD);
    assert_eq!((bare.status, bare.body.as_str()), (401, ""));
    let unavailable = login_as(&sandbox, WEAVR_EMAIL, WEAVR_PASSWORD);
    assert_eq!(unavailable.status, 503);
    assert!(unavailable.json()["message"].is_string());
    assert_eq!(login_as(&sandbox, WEAVR_EMAIL, WEAVR_PASSWORD).status, 200);
    let counters = sandbox.counters();
    assert_eq!((counters.faults, counters.logins), (3, 1));
}
