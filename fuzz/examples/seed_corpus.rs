//! Writes the seed corpus of every fuzz target: the bodies of the seeds
//! (`shared/seeds/`) and of `PROVIDERS.md`, the real answers of the
//! local sandbox to a scripted session of each API (captured off the wire,
//! raw, so that the HTTP/1.1 reader gets them as they are, and framed for
//! the reply targets), and the exchanges of a payment's SCA written after
//! Currencycloud's guide (`authsession_fuzz::payment_sca::seeds`).
//!
//! ```text
//! cargo run -p authsession-fuzz --example seed_corpus -- fuzz/corpus
//! ```
//!
//! Seeds are named `seed-*`; run `cargo fuzz cmin` afterwards (FUZZING.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// A script: long, plain functions that read like the exchanges they capture.
#![allow(
    clippy::too_many_lines,
    clippy::type_complexity,
    clippy::format_push_string
)]

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use authsession_fuzz::frame::encode;
use authsession_fuzz::payment_sca::seeds as payment_sca_seeds;
use authsession_fuzz::session::seeds as session_seeds;
use authsession_sandbox::{
    CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Fault, Sandbox, SandboxConfig, WEAVR_API_KEY,
    WEAVR_CORPORATE_ID, WEAVR_EMAIL, WEAVR_EXPIRED_EMAIL, WEAVR_MANAGED_ACCOUNT_ID, WEAVR_OTP_CODE,
    WEAVR_PASSWORD, WEAVR_TWO_IDENTITIES_EMAIL,
};

/// A response as it came off the wire, and its parts.
struct Captured {
    raw: Vec<u8>,
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Captured {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    fn framed(&self) -> Vec<u8> {
        let headers: Vec<(&str, &[u8])> = self
            .headers
            .iter()
            .filter_map(|(name, value)| {
                authsession_fuzz::frame::HEADER_NAMES
                    .iter()
                    .find(|known| known.eq_ignore_ascii_case(name))
                    .map(|known| (*known, value.as_slice()))
            })
            .collect();
        encode(self.status, &headers, &self.body)
    }

    /// The string value of `"key":"..."` in the body.
    fn json_string(&self, key: &str) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let needle = format!("\"{key}\":\"");
        let start = text.find(&needle).expect("the key is in the body") + needle.len();
        let end = text[start..].find('"').unwrap() + start;
        text[start..end].to_owned()
    }
}

/// Sends one request on a fresh connection and reads the whole answer.
fn exchange(
    sandbox: &Sandbox,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Captured {
    let mut stream = TcpStream::connect(sandbox.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: sandbox\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse(raw)
}

fn parse(raw: Vec<u8>) -> Captured {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, Vec<u8>)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().as_bytes().to_vec()))
        .collect();
    let rest = &raw[split..];
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case(b"chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Captured {
        raw,
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for _ in 0..10_000 {
        let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
            break;
        };
        let size_text = String::from_utf8_lossy(&rest[..end]);
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        rest = &rest[end + 2..];
        if size == 0 {
            break;
        }
        body.extend_from_slice(&rest[..size.min(rest.len())]);
        rest = &rest[(size + 2).min(rest.len())..];
    }
    body
}

fn multipart(fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "seedboundary7f3a";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

/// Currencycloud's answers to a scripted session, keyed by a name.
fn currencycloud(sandbox: &Sandbox) -> Vec<(String, Captured)> {
    let mut out = Vec::new();
    let login = |fields: &[(&str, &str)]| {
        let (content_type, body) = multipart(fields);
        exchange(
            sandbox,
            "POST",
            "/v2/authenticate/api",
            &[("Content-Type", &content_type)],
            &body,
        )
    };
    let ok = login(&[
        ("login_id", CURRENCYCLOUD_LOGIN_ID),
        ("api_key", CURRENCYCLOUD_API_KEY),
    ]);
    let token = ok.json_string("auth_token");
    out.push(("login-200".into(), ok));
    out.push((
        "login-400".into(),
        login(&[("api_key", CURRENCYCLOUD_API_KEY)]),
    ));
    let wrong_key = "0".repeat(64);
    out.push((
        "login-401".into(),
        login(&[
            ("login_id", CURRENCYCLOUD_LOGIN_ID),
            ("api_key", &wrong_key),
        ]),
    ));
    out.push((
        "call-no-token-401".into(),
        exchange(sandbox, "GET", "/v2/accounts/current", &[], b""),
    ));
    out.push((
        "call-200".into(),
        exchange(
            sandbox,
            "GET",
            "/v2/balances/find",
            &[("X-Auth-Token", &token)],
            b"",
        ),
    ));
    for (name, fault) in [
        ("login-429", Fault::Status(429)),
        ("login-503-retry-after", Fault::StatusRetryAfter(503, 7)),
        ("login-500", Fault::Status(500)),
        ("login-429-retry-after", Fault::StatusRetryAfter(429, 60)),
    ] {
        sandbox.inject(fault, 1);
        out.push((
            name.into(),
            login(&[
                ("login_id", CURRENCYCLOUD_LOGIN_ID),
                ("api_key", CURRENCYCLOUD_API_KEY),
            ]),
        ));
    }
    out.push((
        "logout-200".into(),
        exchange(
            sandbox,
            "POST",
            "/v2/authenticate/close_session",
            &[("X-Auth-Token", &token)],
            b"",
        ),
    ));
    out.push((
        "call-after-logout-401".into(),
        exchange(
            sandbox,
            "GET",
            "/v2/balances/find",
            &[("X-Auth-Token", &token)],
            b"",
        ),
    ));
    out.push((
        "not-found-404".into(),
        exchange(sandbox, "GET", "/v2/nothing", &[], b""),
    ));
    out
}

/// Weavr's answers to a scripted session, keyed by a name.
fn weavr(sandbox: &Sandbox) -> Vec<(String, Captured)> {
    let mut out = Vec::new();
    let key = ("api-key", WEAVR_API_KEY);
    let json = ("Content-Type", "application/json");
    let login = |email: &str, password: &str| {
        let body = format!(r#"{{"email":"{email}","password":{{"value":"{password}"}}}}"#);
        exchange(
            sandbox,
            "POST",
            "/multi/login_with_password",
            &[key, json],
            body.as_bytes(),
        )
    };
    let ok = login(WEAVR_EMAIL, WEAVR_PASSWORD);
    let auth = format!("Bearer {}", ok.json_string("token"));
    out.push(("login-200".into(), ok));
    out.push((
        "login-no-key-401".into(),
        exchange(
            sandbox,
            "POST",
            "/multi/login_with_password",
            &[json],
            b"{}",
        ),
    ));
    out.push((
        "login-400".into(),
        exchange(
            sandbox,
            "POST",
            "/multi/login_with_password",
            &[key, json],
            br#"{"password":{}}"#,
        ),
    ));
    out.push(("login-wrong-password".into(), login(WEAVR_EMAIL, "wrong")));
    out.push((
        "login-password-expired-409".into(),
        login(WEAVR_EXPIRED_EMAIL, WEAVR_PASSWORD),
    ));
    out.push((
        "identities-200".into(),
        exchange(
            sandbox,
            "GET",
            "/multi/identities",
            &[key, ("Authorization", &auth)],
            b"",
        ),
    ));
    let identity = format!(r#"{{"identity":{{"type":"CORPORATE","id":"{WEAVR_CORPORATE_ID}"}}}}"#);
    let access = exchange(
        sandbox,
        "POST",
        "/multi/access_token",
        &[key, json, ("Authorization", &auth)],
        identity.as_bytes(),
    );
    let bearer = format!("Bearer {}", access.json_string("token"));
    out.push(("access-token-200".into(), access));
    let with_token = [key, ("Authorization", bearer.as_str())];
    out.push((
        "accounts-200".into(),
        exchange(sandbox, "GET", "/multi/managed_accounts", &with_token, b""),
    ));
    let statement = format!("/multi/managed_accounts/{WEAVR_MANAGED_ACCOUNT_ID}/statement");
    out.push((
        "statement-403-step-up".into(),
        exchange(sandbox, "GET", &statement, &with_token, b""),
    ));
    let with_json = [key, json, ("Authorization", bearer.as_str())];
    out.push((
        "otp-challenge-204".into(),
        exchange(
            sandbox,
            "POST",
            "/multi/stepup/challenges/otp/SMS",
            &with_token,
            b"",
        ),
    ));
    out.push((
        "otp-again-409".into(),
        exchange(
            sandbox,
            "POST",
            "/multi/stepup/challenges/otp/SMS",
            &with_token,
            b"",
        ),
    ));
    out.push((
        "verify-wrong-409".into(),
        exchange(
            sandbox,
            "POST",
            "/multi/stepup/challenges/otp/SMS/verify",
            &with_json,
            br#"{"verificationCode":"000000"}"#,
        ),
    ));
    let right = format!(r#"{{"verificationCode":"{WEAVR_OTP_CODE}"}}"#);
    out.push((
        "verify-204".into(),
        exchange(
            sandbox,
            "POST",
            "/multi/stepup/challenges/otp/SMS/verify",
            &with_json,
            right.as_bytes(),
        ),
    ));
    out.push((
        "statement-200".into(),
        exchange(sandbox, "GET", &statement, &with_token, b""),
    ));
    out.push((
        "push-authy".into(),
        exchange(
            sandbox,
            "POST",
            "/multi/stepup/challenges/push/AUTHY",
            &with_token,
            b"",
        ),
    ));
    out.push((
        "logout".into(),
        exchange(sandbox, "POST", "/multi/logout", &with_token, b""),
    ));
    out.push((
        "call-after-logout-401".into(),
        exchange(sandbox, "GET", "/multi/managed_accounts", &with_token, b""),
    ));
    let owner = login(WEAVR_TWO_IDENTITIES_EMAIL, WEAVR_PASSWORD);
    let owner_auth = format!("Bearer {}", owner.json_string("token"));
    out.push(("login-two-identities".into(), owner));
    out.push((
        "identities-two".into(),
        exchange(
            sandbox,
            "GET",
            "/multi/identities",
            &[key, ("Authorization", &owner_auth)],
            b"",
        ),
    ));
    for _ in 0..6 {
        let locked = login(WEAVR_EMAIL, "wrong-again");
        if locked.status == 423 {
            out.push(("login-locked-423".into(), locked));
            break;
        }
    }
    sandbox.inject(Fault::StatusRetryAfter(429, 3), 1);
    out.push(("login-429".into(), login(WEAVR_EMAIL, WEAVR_PASSWORD)));
    sandbox.inject(Fault::Status(503), 1);
    out.push(("login-503".into(), login(WEAVR_EMAIL, WEAVR_PASSWORD)));
    out
}

/// The seed's JWT (`shared/seeds/002_*`): `exp - iat` is one hour.
const SEED_JWT: &str = "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyB1aWQiOiI2NWQwZjVjOS03ZmIwLTQ1NWMtOTAzNi05ZTcyZjBhOGQwZjYiLCJhciI6WyJQYXJ0bmVyIiwiUGFydG5lckFkbWluIl0sImFrIjoiNDU3NzFlYTEtYjAxMi00YjgwLThiYTQtNDk4OTFjNWQ4ZDQ3IiwicmVhbG0iOiJQYXJ0bmVyIiwiY2EiOiIwZWE3MDAwMS0wZjU4LTQ0YTItODBhZC05NTM2MzNmZjJjYzciLCJjaWQiOiIyOTI2MzczOS0yY2Y4LTQ4M2QtYWYxNS02MTUxZGM4NDQ4YjQiLCJkb21haW4iOiIvcGFydG5lcnMtaW50IiwiaWF0IjoxNjkxMTUxMjU3LCJleHAiOjE2OTExNTQ4NTd9.wBdfxnNYap0_M-omZUmnor7lB6c3ooVK2AENYtsIcfLzofW5bvkYgQzhaVABtJsU";

/// Responses written by hand for the HTTP/1.1 reader: the framings the
/// sandbox does not use.
const HTTP_SEEDS: [(&str, &[u8]); 6] = [
    ("chunked-trailer", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;note=x\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-Trailer: y\r\n\r\n"),
    ("until-close", b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"auth_token\":\"ea6d13c7bc50feb46cf978d137bc01a2\"}"),
    ("no-content", b"HTTP/1.1 204 No Content\r\nrequest-ref: r-1\r\n\r\n"),
    ("retry-after", b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 60\r\nContent-Length: 2\r\n\r\n{}"),
    ("two-lengths", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}}"),
    ("head-301", b"HTTP/1.0 301 Moved Permanently\r\nLocation: http://elsewhere.example/\r\nContent-Length: 0\r\n\r\n"),
];

/// Bodies from the seeds and PROVIDERS.md, with the status they come with.
fn documented() -> Vec<(
    &'static str,
    &'static str,
    u16,
    &'static [(&'static str, &'static [u8])],
    &'static str,
)> {
    // (target, name, status, headers, body)
    vec![
        (
            "currencycloud_replies",
            "seed-login-200",
            200,
            &[],
            "{\n    \"auth_token\": \"ea6d13c7bc50feb46cf978d137bc01a2\"\n}",
        ),
        (
            "currencycloud_replies",
            "seed-401",
            401,
            &[("X-Request-Id", b"2775253392756800903")],
            r#"{
  "error_code": "auth_failed",
  "error_messages": {
    "username": [
      {
        "code": "invalid_supplied_credentials",
        "message": "Authentication failed with the supplied credentials",
        "params": {}
      }
    ]
  }
}"#,
        ),
        (
            "currencycloud_replies",
            "doc-400",
            400,
            &[],
            r#"{"error_code":"auth_invalid_user_login_details","error_messages":{"login_id":[{"code":"login_id_is_required","message":"login_id is required","params":{}}],"api_key":[{"code":"api_key_length_is_invalid","message":"api_key should be 64 character(s) long","params":{"length":64}}]}}"#,
        ),
        (
            "currencycloud_replies",
            "doc-429",
            429,
            &[("Retry-After", b"60")],
            r#"{"error_code":"too_many_requests","error_messages":{"base":[{"code":"too_many_requests","message":"Too many requests have been made to the api. Please refer to the Developer Center for more information","params":{}}]}}"#,
        ),
        (
            "weavr_replies",
            "doc-login-200",
            200,
            &[("request-ref", b"r-1")],
            r#"{"token":"eyJhbGciOiJIUzI1NiJ9.e30.sig","tokenType":"AUTH","identity":{"type":"CORPORATE","id":"110138374263767072"},"credentials":{"type":"ROOT","id":"110138374263767073"}}"#,
        ),
        (
            "weavr_replies",
            "doc-access-token-200",
            200,
            &[],
            r#"{"token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig","identity":{"type":"CONSUMER","id":"42"},"credentials":{"type":"USER","id":"43"},"status":"STEPPED_UP"}"#,
        ),
        (
            "weavr_replies",
            "doc-identities",
            200,
            &[],
            r#"{"identities":[{"id":{"type":"CORPORATE","id":"1"},"name":"A Ltd"},{"id":{"type":"CONSUMER","id":"2"},"name":"Ada"}],"count":2,"responseCount":2}"#,
        ),
        (
            "weavr_replies",
            "doc-400",
            400,
            &[],
            r#"{"message":"Bad request","syntaxErrors":{"invalidFields":[{"params":[],"fieldName":"email","error":"REQUIRED"}]}}"#,
        ),
        (
            "weavr_replies",
            "doc-403-step-up",
            403,
            &[],
            r#"{"errorCode":"STEP_UP_REQUIRED"}"#,
        ),
        (
            "weavr_replies",
            "doc-403-step-up-message",
            403,
            &[],
            r#"{"message":"STEP_UP_REQUIRED"}"#,
        ),
        (
            "weavr_replies",
            "doc-409-retry",
            409,
            &[],
            r#"{"errorCode":"RETRY_IN_15SEC"}"#,
        ),
        (
            "weavr_replies",
            "doc-409-limit",
            409,
            &[],
            r#"{"errorCode":"CHALLENGE_LIMIT_EXCEEDED"}"#,
        ),
        (
            "weavr_replies",
            "doc-400-invalid-request",
            400,
            &[],
            r#"{"errorCode":"INVALID_REQUEST"}"#,
        ),
        (
            "weavr_replies",
            "doc-429",
            429,
            &[("Retry-After", b"5"), ("x-ratelimit-reset", b"1700000000")],
            "",
        ),
        ("access_key_replies", "seed-login-201", 201, &[], SEED_JWT),
        (
            "access_key_replies",
            "seed-400",
            400,
            &[],
            r#"{"statusCode":"Error","error":{"name":"InvalidRequestFormatError","message":"The request body is invalid. See error object `details` property for more info","details":[{"path":"","code":"required","message":"must have required property 'secret'","info":{"missingProperty":"secret"}}]}}"#,
        ),
        (
            "access_key_replies",
            "seed-401",
            401,
            &[("X-Request-Id", b"a-1")],
            r#"{"statusCode":"Error","error":{"message":"Service was unable to complete your request.","name":"AuthenticationError","code":"AuthenticationError","details":{"reason":"AccessKeyUnauthorized"}}}"#,
        ),
        (
            "access_key_replies",
            "doc-422",
            422,
            &[],
            r#"{"statusCode":"Error","error":{"name":"UnprocessableEntityError","message":"invalid","details":[{"path":"/accessKey","code":"type","message":"must be string","info":{}}]}}"#,
        ),
        (
            "access_key_replies",
            "doc-429",
            429,
            &[("Retry-After", b"30")],
            "",
        ),
    ]
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let folder = dir.join(target);
    fs::create_dir_all(&folder).unwrap();
    fs::write(folder.join(name), bytes).unwrap();
}

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    for (target, name, status, headers, body) in documented() {
        write(
            &dir,
            target,
            name,
            &encode(status, headers, body.as_bytes()),
        );
    }
    let sandbox = Sandbox::start(SandboxConfig::for_tests()).unwrap();
    for (target, captured) in [
        ("currencycloud_replies", currencycloud(&sandbox)),
        ("weavr_replies", weavr(&sandbox)),
    ] {
        for (name, answer) in captured {
            let _ = answer.header("content-type");
            write(&dir, target, &format!("sandbox-{name}"), &answer.framed());
            write(
                &dir,
                "http_response",
                &format!("sandbox-{target}-{name}"),
                &answer.raw,
            );
        }
    }
    for (name, raw) in HTTP_SEEDS {
        write(
            &dir,
            "http_response",
            &format!("seed-{name}"),
            &[&[6u8][..], raw].concat(),
        );
        write(
            &dir,
            "http_response",
            &format!("seed-{name}-small"),
            &[&[2u8][..], raw].concat(),
        );
    }
    for (name, token) in [
        ("seed", SEED_JWT),
        (
            "none-alg",
            "eyJhbGciOiJub25lIn0.eyJpYXQiOjEwMDAsImV4cCI6NDYwMCwic3ViIjoieCJ9.c2ln",
        ),
        ("exp-only", "eyJhbGciOiJub25lIn0.eyJleHAiOjQ2MDB9.c2ln"),
        ("two-parts", "eyJhbGciOiJub25lIn0.eyJleHAiOjQ2MDB9"),
    ] {
        write(
            &dir,
            "jwt_claims",
            &format!("seed-{name}"),
            token.as_bytes(),
        );
    }
    for (name, bytes) in session_seeds() {
        write(&dir, "session", &format!("seed-{name}"), &bytes);
    }
    // The payment's SCA: the guide's validate answers, codes and error
    // bodies, framed as exchanges (`fuzz/src/payment_sca.rs`).
    for (name, bytes) in payment_sca_seeds() {
        write(&dir, "payment_sca", &format!("seed-{name}"), &bytes);
    }
    println!("seeds written under {}", dir.display());
}
