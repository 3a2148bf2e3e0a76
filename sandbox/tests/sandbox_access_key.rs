//! The sandbox's access-key JWT API seen from the wire: a raw HTTP/1.1
//! client over `TcpStream` logs in, spends the token, watches it end when
//! the API's clock reaches its floored `exp` whatever that clock says, and
//! checks the
//! errors, faults and counters that `PROVIDERS.md` §3 and the seed call
//! for. The core's own readers parse what the sandbox says, so that the
//! two agree on the format.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod raw_http;

use std::io::{Read, Write};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use authsession_core::ResponseParts;
use authsession_core::jwt::decode_claims;
use authsession_core::providers::access_key::error_of;
use authsession_sandbox::{
    ACCESS_KEY_ID, ACCESS_KEY_SECRET, Counters, Fault, Sandbox, SandboxConfig,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use raw_http::{Answer, connect, send};
use serde_json::{Value, json};

const LOGIN: &str = "/access-key/login";
const PARTNER: &str = "/access-key/partners/me";
const ACCOUNTS: &str = "/access-key/partners/me/accounts";
const HOUR: i64 = 3600;

impl Answer {
    /// The `error.details.reason` of a `401`.
    fn reason(&self) -> Value {
        self.json()["error"]["details"]["reason"].clone()
    }

    /// What the core's provider makes of this answer as an error.
    fn core_error(&self) -> authsession_core::ApiError {
        match error_of(&ResponseParts::new(self.status, self.body.as_bytes())) {
            authsession_core::Error::Api(error) => error,
            other => panic!("not an API error: {other:?}"),
        }
    }
}

fn request(
    sandbox: &Sandbox,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> Answer {
    raw_http::json_request(sandbox, method, path, &[], bearer, body)
}

fn login_with(sandbox: &Sandbox, body: &str) -> Answer {
    request(sandbox, "POST", LOGIN, None, Some(body))
}

fn login_as(sandbox: &Sandbox, access_key: &str, secret: &str) -> Answer {
    let body = json!({ "accessKey": access_key, "secret": secret }).to_string();
    login_with(sandbox, &body)
}

/// Logs in with the sandbox's key; the bare JWT.
fn token(sandbox: &Sandbox) -> String {
    let answer = login_as(sandbox, ACCESS_KEY_ID, ACCESS_KEY_SECRET);
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body
}

fn get(sandbox: &Sandbox, path: &str, token: &str) -> Answer {
    request(sandbox, "GET", path, Some(token), None)
}

fn start(lifetime_secs: u64, skew: i64) -> Sandbox {
    Sandbox::start(SandboxConfig {
        worker_threads: 4,
        access_key_token_lifetime: Duration::from_secs(lifetime_secs),
        access_key_clock_skew: skew,
        ..SandboxConfig::for_tests()
    })
    .unwrap()
}

fn part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn unix_now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

/// Waits until `at`.
fn sleep_until(at: Instant) {
    thread::sleep(at.saturating_duration_since(Instant::now()));
}

#[test]
fn a_login_answers_201_with_a_bare_hs384_jwt_that_the_protected_calls_take() {
    let sandbox = start(3600, 0);
    let before = unix_now();
    let answer = login_as(&sandbox, ACCESS_KEY_ID, ACCESS_KEY_SECRET);
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.header("Content-Type"), Some("application/jwt"));
    let token = answer.body.clone();
    assert_eq!(token.trim(), token, "the body is the token alone");

    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0], "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9");
    assert_eq!(part(&token, 0), json!({ "alg": "HS384", "typ": "JWT" }));
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    assert_eq!(signature.len(), 48, "an HMAC-SHA384");
    let claims = part(&token, 1);
    for claim in ["uid", "ak", "realm", "ca", "cid", "domain", "iat", "exp"] {
        assert!(!claims[claim].is_null(), "no {claim} in {claims}");
    }
    assert_eq!(claims["ar"], json!(["Partner", "PartnerAdmin"]));
    assert_eq!(claims["realm"], "Partner");
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 3600);
    assert!((before..=unix_now()).contains(&iat), "{iat} vs {before}");
    // The core reads the same lifetime, less the second the floored `iat`
    // may have lost.
    let read = decode_claims(&token).unwrap();
    assert_eq!(read.lifetime(), Some(Duration::from_secs(3599)));

    let partner = get(&sandbox, PARTNER, &token);
    assert_eq!(partner.status, 200, "{}", partner.body);
    assert_eq!(partner.json()["user"]["id"], claims["uid"]);
    let accounts = get(&sandbox, ACCOUNTS, &token);
    assert_eq!(accounts.status, 200);
    assert_eq!(accounts.json()["items"][0]["id"], claims["ca"]);

    assert_eq!(
        sandbox.counters(),
        Counters {
            logins: 1,
            access_key_logins: 1,
            calls: 2,
            ..Counters::default()
        }
    );
    assert_eq!(sandbox.login_times().len(), 1);
}

#[test]
fn a_token_lives_at_least_its_lifetime_less_a_second_and_at_most_its_lifetime() {
    let sandbox = start(2, 0);
    let sent = Instant::now();
    let token = token(&sandbox);
    let answered = Instant::now();
    let claims = part(&token, 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        2
    );
    // Issued after `sent` in some second, it ends at a whole second more
    // than one second later: alive 900 ms after `sent`, whatever the
    // fraction; refused once the full two seconds have passed.
    sleep_until(sent + Duration::from_millis(900));
    assert_eq!(get(&sandbox, PARTNER, &token).status, 200);
    sleep_until(answered + Duration::from_millis(2050));
    let expired = get(&sandbox, PARTNER, &token);
    assert_eq!(expired.status, 401);
    assert_eq!(expired.reason(), "TokenExpired");
    let error = expired.core_error();
    assert_eq!(
        (error.code.as_str(), error.reason.as_str()),
        ("AuthenticationError", "TokenExpired")
    );
    let counters = sandbox.counters();
    assert_eq!((counters.calls, counters.unauthorized), (1, 1));
}

/// The instant at which our wall clock reads `unix_millis`.
fn instant_at_unix_millis(unix_millis: i64) -> Instant {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let now_millis = i64::try_from(since.as_millis()).unwrap();
    let ahead = u64::try_from(unix_millis - now_millis).unwrap_or_default();
    Instant::now() + Duration::from_millis(ahead)
}

#[test]
fn a_token_issued_late_in_its_second_ends_at_its_floored_exp_whatever_the_skew() {
    for skew in [0, HOUR, -HOUR] {
        let sandbox = start(1, skew);
        // Log in 700 ms into a second of ours, which is the API's second
        // too: its clock is ours moved by whole seconds.
        let second = unix_now() + 1;
        sleep_until(instant_at_unix_millis(second * 1000 + 700));
        let token = token(&sandbox);
        let answered = Instant::now();
        let claims = part(&token, 1);
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        assert_eq!((iat - skew, exp - iat), (second, 1), "skew {skew}");
        // The token ends when the API's clock reaches `exp`, about 300 ms
        // after its login: well before a full second of real time.
        let end_millis = (exp - skew) * 1000;
        let end = instant_at_unix_millis(end_millis);
        assert!(end + Duration::from_millis(300) < answered + Duration::from_secs(1));
        sleep_until(instant_at_unix_millis(end_millis - 150));
        assert_eq!(get(&sandbox, PARTNER, &token).status, 200, "skew {skew}");
        sleep_until(end + Duration::from_millis(50));
        let expired = get(&sandbox, PARTNER, &token);
        assert_eq!(
            (expired.status, expired.reason()),
            (401, json!("TokenExpired")),
            "skew {skew}"
        );
        // The core reads a lifetime of zero: the token is of no use to it.
        assert_eq!(
            decode_claims(&token).unwrap().lifetime(),
            Some(Duration::ZERO)
        );
    }
}

#[test]
fn a_skewed_clock_moves_iat_and_exp_but_not_the_real_life_of_a_token() {
    for skew in [HOUR, -HOUR] {
        let sandbox = start(2, skew);
        let sent = Instant::now();
        let real_now = unix_now();
        let token = token(&sandbox);
        let answered = Instant::now();
        let claims = part(&token, 1);
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        assert!(
            (iat - (real_now + skew)).abs() <= 2,
            "skew {skew}: iat {iat}, now {real_now}"
        );
        assert_eq!(exp - iat, 2);
        assert_eq!(
            decode_claims(&token).unwrap().lifetime(),
            Some(Duration::from_secs(1))
        );
        // An hour behind, `exp` is long past by our clock; an hour ahead,
        // an hour away. The sandbox takes the token for more than one
        // second and less than two anyway.
        sleep_until(sent + Duration::from_millis(900));
        assert_eq!(get(&sandbox, PARTNER, &token).status, 200, "skew {skew}");
        sleep_until(answered + Duration::from_millis(2050));
        let expired = get(&sandbox, PARTNER, &token);
        assert_eq!(
            (expired.status, expired.reason()),
            (401, json!("TokenExpired")),
            "skew {skew}"
        );
    }
}

#[test]
fn skew_and_lifetime_can_change_while_the_sandbox_runs() {
    let sandbox = start(3600, 0);
    let token = token(&sandbox);
    assert_eq!(get(&sandbox, PARTNER, &token).status, 200);
    sandbox.set_access_key_clock_skew(-2 * HOUR);
    sandbox.set_access_key_token_lifetime(Duration::from_secs(5));
    let behind = self::token(&sandbox);
    let claims = part(&behind, 1);
    let iat = claims["iat"].as_i64().unwrap();
    assert!((iat - (unix_now() - 2 * HOUR)).abs() <= 2, "{iat}");
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 5);
    // A clock set back leaves older tokens alive; the new one works too.
    assert_eq!(get(&sandbox, PARTNER, &token).status, 200);
    assert_eq!(get(&sandbox, PARTNER, &behind).status, 200);
    // A clock set forward past a token's `exp` ends it; a token whose
    // `exp` is still ahead lives on.
    sandbox.set_access_key_clock_skew(HOUR - 60);
    let ended = get(&sandbox, PARTNER, &behind);
    assert_eq!((ended.status, ended.reason()), (401, json!("TokenExpired")));
    assert_eq!(get(&sandbox, PARTNER, &token).status, 200);
}

#[test]
fn missing_properties_are_named_one_detail_each_as_the_seed_shows() {
    let sandbox = start(3600, 0);
    let answer = login_with(&sandbox, &json!({ "accessKey": ACCESS_KEY_ID }).to_string());
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.json(),
        json!({
            "statusCode": "Error",
            "error": {
                "name": "InvalidRequestFormatError",
                "message": "The request body is invalid. See error object `details` property for more info",
                "details": [{
                    "path": "",
                    "code": "required",
                    "message": "must have required property 'secret'",
                    "info": { "missingProperty": "secret" },
                }],
            },
        })
    );

    let both = login_with(&sandbox, "{}");
    assert_eq!(both.status, 400);
    let error = both.core_error();
    assert_eq!(error.code, "InvalidRequestFormatError");
    let first = error.field.expect("the first field error");
    assert_eq!(
        (first.field.as_str(), first.code.as_str()),
        ("accessKey", "required")
    );
    assert_eq!(error.field_count, 2);

    let wrong_types = login_with(&sandbox, r#"{"accessKey":42,"secret":""}"#);
    assert_eq!(wrong_types.status, 400);
    let details = wrong_types.json()["error"]["details"].clone();
    assert_eq!(details[0]["path"], "/accessKey");
    assert_eq!(details[0]["code"], "type");
    assert_eq!(details[1]["path"], "/secret");
    assert_eq!(details[1]["code"], "minLength");
    assert_eq!(wrong_types.core_error().field_count, 2);

    for malformed in ["", "{\"accessKey\":", "[]", "not json"] {
        let answer = login_with(&sandbox, malformed);
        assert_eq!(answer.status, 400, "{malformed:?}");
        assert_eq!(answer.json()["error"]["name"], "InvalidRequestFormatError");
        assert_eq!(answer.core_error().code, "InvalidRequestFormatError");
    }
    let counters = sandbox.counters();
    assert_eq!((counters.logins, counters.rejected_logins), (0, 0));
}

#[test]
fn an_unknown_key_or_a_wrong_secret_is_refused_with_the_seeds_body() {
    let sandbox = start(3600, 0);
    let wrong_secret = login_as(&sandbox, ACCESS_KEY_ID, "not-the-secret");
    let unknown_key = login_as(&sandbox, &"0".repeat(40), ACCESS_KEY_SECRET);
    for answer in [&wrong_secret, &unknown_key] {
        assert_eq!(answer.status, 401);
        assert_eq!(
            answer.json(),
            json!({
                "statusCode": "Error",
                "error": {
                    "message": "Service was unable to complete your request.",
                    "name": "AuthenticationError",
                    "code": "AuthenticationError",
                    "details": { "reason": "AccessKeyUnauthorized" },
                },
            })
        );
        assert_eq!(answer.core_error().reason, "AccessKeyUnauthorized");
    }
    assert_eq!(
        sandbox.counters(),
        Counters {
            rejected_logins: 2,
            ..Counters::default()
        }
    );
    assert!(sandbox.login_times().is_empty());
}

#[test]
fn a_token_not_signed_by_this_sandbox_is_refused() {
    let sandbox = start(3600, 0);
    let token = token(&sandbox);
    let parts: Vec<&str> = token.split('.').collect();

    // The payload given ten more hours, the signature kept.
    let mut claims = part(&token, 1);
    claims["exp"] = json!(claims["exp"].as_i64().unwrap() + 36_000);
    let longer = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = format!("{}.{longer}.{}", parts[0], parts[2]);
    // The same claims, unsigned.
    let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none}.{}.", parts[1]);
    let other_sandbox = self::token(&start(3600, 0));
    let mut bad_signature = token.clone();
    bad_signature.push('A');

    for forged in [
        &tampered,
        &unsigned,
        &other_sandbox,
        &bad_signature,
        &"abc".to_owned(),
    ] {
        let answer = get(&sandbox, PARTNER, forged);
        assert_eq!(answer.status, 401, "{forged}");
        assert_eq!(answer.reason(), "InvalidToken", "{forged}");
    }
    let missing = request(&sandbox, "GET", PARTNER, None, None);
    assert_eq!(
        (missing.status, missing.reason()),
        (401, json!("MissingToken"))
    );
    let head = format!(
        "GET {PARTNER} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic {token}\r\n\r\n"
    );
    let basic = send(sandbox.addr(), head.as_bytes());
    assert!(basic.starts_with("HTTP/1.1 401"), "{basic}");

    assert_eq!(get(&sandbox, PARTNER, &token).status, 200);
    let counters = sandbox.counters();
    assert_eq!((counters.unauthorized, counters.calls), (7, 1));
}

#[test]
fn faults_and_unknown_endpoints_answer_in_the_apis_shape() {
    let sandbox = start(3600, 0);
    sandbox.inject(Fault::Status(503), 1);
    sandbox.inject(Fault::StatusRetryAfter(429, 2), 1);
    sandbox.inject(Fault::Status(401), 1);
    let unavailable = login_as(&sandbox, ACCESS_KEY_ID, ACCESS_KEY_SECRET);
    assert_eq!(unavailable.status, 503);
    assert_eq!(unavailable.json()["statusCode"], "Error");
    assert_eq!(unavailable.core_error().code, "ServiceUnavailableError");
    let limited = login_as(&sandbox, ACCESS_KEY_ID, ACCESS_KEY_SECRET);
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("Retry-After"), Some("2"));
    let refused = login_as(&sandbox, ACCESS_KEY_ID, ACCESS_KEY_SECRET);
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["error"]["name"], "AuthenticationError");

    let token = token(&sandbox);
    sandbox.inject(Fault::Delay(Duration::from_millis(100)), 1);
    assert_eq!(get(&sandbox, PARTNER, &token).status, 200);

    for (method, path) in [
        ("GET", "/access-key/login"),
        ("POST", "/access-key/partners/me"),
        ("GET", "/access-key/nothing"),
        ("GET", "/access-key"),
    ] {
        let answer = request(&sandbox, method, path, Some(&token), None);
        assert_eq!(answer.status, 404, "{method} {path}");
        assert_eq!(answer.json()["error"]["name"], "NotFoundError");
    }
    // Another prefix is no API's.
    let elsewhere = get(&sandbox, "/access-keys/partners/me", &token);
    assert_eq!(elsewhere.status, 404);
    assert!(elsewhere.json()["error"].is_string());

    sandbox.inject(Fault::Drop, 1);
    let mut stream = connect(sandbox.addr());
    let head =
        format!("GET {PARTNER} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut nothing = Vec::new();
    let _ = stream.read_to_end(&mut nothing);
    assert!(nothing.is_empty(), "a dropped request gets no answer");

    let counters = sandbox.counters();
    assert_eq!(
        (
            counters.faults,
            counters.logins,
            counters.access_key_logins,
            counters.calls
        ),
        (5, 1, 1, 1)
    );
}

#[test]
fn the_url_names_the_prefix_and_logins_are_timed() {
    let sandbox = start(3600, 0);
    let url = sandbox.access_key_url();
    assert_eq!(url, format!("http://{}/access-key", sandbox.addr()));
    let before = Instant::now();
    let _ = token(&sandbox);
    let _ = token(&sandbox);
    let times = sandbox.login_times();
    assert_eq!(times.len(), 2);
    assert!(times[0] >= before && times[0] <= times[1]);
    assert_eq!(sandbox.counters().access_key_logins, 2);
}
