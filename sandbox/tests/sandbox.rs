//! The sandbox seen from the wire: a raw HTTP/1.1 client over `TcpStream`
//! checks that it answers as `PROVIDERS.md` says Currencycloud does, counts
//! what it saw, and applies the faults it is given.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod raw_http;

use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use authsession_sandbox::{
    CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Counters, Fault, Sandbox, SandboxConfig,
};
use raw_http::{Answer, IO_TIMEOUT, connect, exchange, request};
use serde_json::{Value, json};

const LOGIN: &str = "/v2/authenticate/api";
const LOGOUT: &str = "/v2/authenticate/close_session";
const ACCOUNT: &str = "/v2/accounts/current";
const BALANCES: &str = "/v2/balances/find";

impl Answer {
    /// The codes listed under `field` in a Currencycloud error body.
    fn codes(&self, field: &str) -> Vec<String> {
        self.json()["error_messages"][field]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|entry| entry["code"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn multipart_login(sandbox: &Sandbox, login_id: Option<&str>, api_key: Option<&str>) -> Answer {
    let boundary = "----authsession-test-7d3f";
    let mut body = String::new();
    for (name, value) in [("login_id", login_id), ("api_key", api_key)] {
        if let Some(value) = value {
            let _ = write!(
                body,
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            );
        }
    }
    let _ = write!(body, "--{boundary}--\r\n");
    let content_type = format!("multipart/form-data; boundary={boundary}");
    request(
        sandbox,
        "POST",
        LOGIN,
        &[("Content-Type", &content_type)],
        body.as_bytes(),
    )
}

fn login_as(sandbox: &Sandbox, login_id: &str, api_key: &str) -> Answer {
    multipart_login(sandbox, Some(login_id), Some(api_key))
}

fn login(sandbox: &Sandbox) -> String {
    let answer = login_as(sandbox, CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["auth_token"].as_str().unwrap().to_owned()
}

fn get(sandbox: &Sandbox, path: &str, token: Option<&str>) -> Answer {
    let headers: Vec<_> = token.map(|t| ("X-Auth-Token", t)).into_iter().collect();
    request(sandbox, "GET", path, &headers, b"")
}

fn logout(sandbox: &Sandbox, token: &str) -> Answer {
    request(sandbox, "POST", LOGOUT, &[("X-Auth-Token", token)], b"")
}

fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).unwrap()
}

fn auth_failed_body() -> Value {
    json!({
        "error_code": "auth_failed",
        "error_messages": {
            "username": [{
                "code": "invalid_supplied_credentials",
                "message": "Authentication failed with the supplied credentials",
                "params": {}
            }]
        }
    })
}

fn assert_currencycloud_headers(answer: &Answer) {
    assert_eq!(answer.header("Content-Type"), Some("application/json"));
    let id = answer.header("X-Request-Id").expect("X-Request-Id");
    assert!(
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
}

#[test]
fn multipart_login_gives_a_fresh_token_each_time() {
    let sandbox = start(SandboxConfig::for_tests());
    let first = login_as(&sandbox, CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY);
    assert_eq!(first.status, 200);
    assert_currencycloud_headers(&first);
    let token = first.json()["auth_token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 32);
    assert!(
        token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    );
    assert_ne!(login(&sandbox), token);

    let second = login_as(&sandbox, CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY);
    assert_ne!(first.header("X-Request-Id"), second.header("X-Request-Id"));
    assert_eq!(sandbox.counters().logins, 3);
    let times = sandbox.login_times();
    assert_eq!(times.len(), 3);
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]));
}

#[test]
fn urlencoded_login_is_accepted() {
    let sandbox = start(SandboxConfig::for_tests());
    let body = format!("login_id=demo%40example.com&api_key={CURRENCYCLOUD_API_KEY}");
    let answer = request(
        &sandbox,
        "POST",
        LOGIN,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["auth_token"].as_str().unwrap().len(), 32);
    assert_eq!(sandbox.counters().logins, 1);
}

/// A login form (`login_id`, `api_key`) and the codes expected for each field.
type FieldCase<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    &'a [&'a str],
    &'a [&'a str],
);

#[test]
fn each_malformed_field_has_its_code() {
    let sandbox = start(SandboxConfig::for_tests());
    let key = Some(CURRENCYCLOUD_API_KEY);
    let id = Some(CURRENCYCLOUD_LOGIN_ID);
    let long_id = "a".repeat(256);
    let cases: [FieldCase; 6] = [
        (
            None,
            key,
            &["login_id_is_required", "login_id_is_too_short"],
            &[],
        ),
        (Some(""), key, &["login_id_is_too_short"], &[]),
        (Some(&long_id), key, &["login_id_is_too_long"], &[]),
        (
            id,
            None,
            &[],
            &["api_key_is_required", "api_key_length_is_invalid"],
        ),
        (id, Some("abc123"), &[], &["api_key_length_is_invalid"]),
        (
            None,
            None,
            &["login_id_is_required", "login_id_is_too_short"],
            &["api_key_is_required", "api_key_length_is_invalid"],
        ),
    ];
    for (login_id, api_key, login_id_codes, api_key_codes) in cases {
        let answer = multipart_login(&sandbox, login_id, api_key);
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert_currencycloud_headers(&answer);
        assert_eq!(
            answer.json()["error_code"],
            "auth_invalid_user_login_details"
        );
        assert_eq!(answer.codes("login_id"), login_id_codes, "{}", answer.body);
        assert_eq!(answer.codes("api_key"), api_key_codes, "{}", answer.body);
    }

    let short_key = multipart_login(&sandbox, id, Some("abc123")).json();
    assert_eq!(
        short_key["error_messages"]["api_key"][0],
        json!({"code": "api_key_length_is_invalid", "message": "api_key should be 64 character(s) long", "params": {"length": 64}})
    );
    let missing = multipart_login(&sandbox, None, key).json();
    assert_eq!(
        missing["error_messages"]["login_id"][0],
        json!({"code": "login_id_is_required", "message": "login_id is required", "params": {}})
    );
    // 255 characters is still a valid login id: an unknown one.
    assert_eq!(
        multipart_login(&sandbox, Some(&long_id[1..]), key).status,
        401
    );
    assert_eq!(sandbox.counters().logins, 0);
}

#[test]
fn unreadable_login_bodies_get_a_400() {
    let sandbox = start(SandboxConfig::for_tests());
    let no_boundary = request(
        &sandbox,
        "POST",
        LOGIN,
        &[("Content-Type", "multipart/form-data")],
        b"x",
    );
    assert_eq!(no_boundary.status, 400);
    assert_eq!(no_boundary.json()["error_code"], "invalid_request");
    assert_currencycloud_headers(&no_boundary);

    let too_big = vec![b'a'; 70 * 1024];
    let answer = request(
        &sandbox,
        "POST",
        LOGIN,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &too_big,
    );
    assert_eq!(answer.status, 400);

    let garbage = exchange(sandbox.addr(), b"NOT HTTP\r\n\r\n");
    assert_eq!(garbage.status, 400);
    assert_eq!(sandbox.counters(), Counters::default());
}

#[test]
fn wrong_credentials_get_the_seed_401() {
    let sandbox = start(SandboxConfig::for_tests());
    let wrong_key = login_as(&sandbox, CURRENCYCLOUD_LOGIN_ID, &"0".repeat(64));
    assert_eq!(wrong_key.status, 401);
    assert_currencycloud_headers(&wrong_key);
    assert_eq!(wrong_key.json(), auth_failed_body());
    let unknown = login_as(&sandbox, "nobody@example.com", CURRENCYCLOUD_API_KEY);
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.json(), auth_failed_body());
    let counters = sandbox.counters();
    assert_eq!((counters.rejected_logins, counters.logins), (2, 0));
}

#[test]
fn four_failed_logins_disable_the_account() {
    let sandbox = start(SandboxConfig::for_tests());
    let wrong = "f".repeat(64);
    // Failures count from the last success.
    for _ in 0..3 {
        assert_eq!(
            login_as(&sandbox, CURRENCYCLOUD_LOGIN_ID, &wrong).status,
            401
        );
    }
    login(&sandbox);
    for _ in 0..4 {
        assert_eq!(
            login_as(&sandbox, CURRENCYCLOUD_LOGIN_ID, &wrong).status,
            401
        );
    }
    let locked = login_as(&sandbox, CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY);
    assert_eq!(locked.status, 401);
    assert_eq!(locked.json(), auth_failed_body());

    // Other accounts are not affected; re-adding the user re-enables it.
    sandbox.add_currencycloud_user("ops@example.com", &"ab".repeat(32));
    assert_eq!(
        login_as(&sandbox, "ops@example.com", &"ab".repeat(32)).status,
        200
    );
    sandbox.add_currencycloud_user(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY);
    login(&sandbox);
    let counters = sandbox.counters();
    assert_eq!((counters.logins, counters.rejected_logins), (3, 8));
}

#[test]
fn logins_past_the_rate_limit_get_a_429() {
    let sandbox = start(SandboxConfig {
        login_rate_limit: 3,
        ..SandboxConfig::for_tests()
    });
    // Rejected and malformed logins count against the limit too.
    assert_eq!(
        login_as(&sandbox, CURRENCYCLOUD_LOGIN_ID, &"0".repeat(64)).status,
        401
    );
    assert_eq!(multipart_login(&sandbox, None, None).status, 400);
    login(&sandbox);
    let limited = login_as(&sandbox, CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY);
    assert_eq!(limited.status, 429);
    assert_currencycloud_headers(&limited);
    assert_eq!(limited.header("Retry-After"), None);
    let body = limited.json();
    assert_eq!(body["error_code"], "too_many_requests");
    assert_eq!(
        body["error_messages"]["base"][0]["code"],
        "too_many_requests"
    );
    let counters = sandbox.counters();
    assert_eq!(
        (
            counters.logins,
            counters.rate_limited,
            counters.rejected_logins
        ),
        (1, 1, 1)
    );
}

#[test]
fn protected_calls_need_a_live_token() {
    let sandbox = start(SandboxConfig::for_tests());
    for token in [None, Some("0123456789abcdef0123456789abcdef")] {
        let refused = get(&sandbox, ACCOUNT, token);
        assert_eq!(refused.status, 401);
        assert_currencycloud_headers(&refused);
        assert_eq!(refused.json(), auth_failed_body());
    }
    let token = login(&sandbox);
    let account = get(&sandbox, ACCOUNT, Some(&token));
    assert_eq!(account.status, 200);
    assert_currencycloud_headers(&account);
    assert_eq!(account.json()["status"], "enabled");
    let balances = get(&sandbox, &format!("{BALANCES}?currency=GBP"), Some(&token)).json();
    assert!(!balances["balances"].as_array().unwrap().is_empty());
    assert_eq!(balances["pagination"]["current_page"], 1);

    let counters = sandbox.counters();
    assert_eq!((counters.calls, counters.unauthorized), (2, 2));
}

#[test]
fn an_idle_token_expires_and_each_call_restarts_its_timer() {
    let sandbox = start(SandboxConfig::for_tests());
    sandbox.set_idle_timeout(Duration::from_millis(200));
    let token = login(&sandbox);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(get(&sandbox, ACCOUNT, Some(&token)).status, 401);

    sandbox.set_idle_timeout(Duration::from_millis(400));
    let token = login(&sandbox);
    for _ in 0..2 {
        thread::sleep(Duration::from_millis(250));
        assert_eq!(get(&sandbox, ACCOUNT, Some(&token)).status, 200);
    }
    thread::sleep(Duration::from_millis(600));
    assert_eq!(get(&sandbox, ACCOUNT, Some(&token)).status, 401);
    let counters = sandbox.counters();
    assert_eq!((counters.calls, counters.unauthorized), (2, 2));
}

#[test]
fn a_logged_out_token_is_refused() {
    let sandbox = start(SandboxConfig::for_tests());
    let token = login(&sandbox);
    let closed = logout(&sandbox, &token);
    assert_eq!(closed.status, 200);
    assert_currencycloud_headers(&closed);
    assert_eq!(closed.json(), json!({}));
    assert_eq!(get(&sandbox, ACCOUNT, Some(&token)).status, 401);
    let again = logout(&sandbox, &token);
    assert_eq!(again.status, 401);
    assert_eq!(again.json(), auth_failed_body());
    let counters = sandbox.counters();
    assert_eq!((counters.logouts, counters.unauthorized), (1, 2));
}

#[test]
fn the_redirect_points_elsewhere_and_needs_a_token() {
    let sandbox = start(SandboxConfig::for_tests());
    assert_eq!(get(&sandbox, "/v2/redirect", None).status, 401);
    let token = login(&sandbox);
    let redirect = get(&sandbox, "/v2/redirect", Some(&token));
    assert_eq!(redirect.status, 302);
    assert_eq!(
        redirect.header("Location"),
        Some("http://127.0.0.2:9/steal")
    );
    assert_eq!(sandbox.counters().calls, 0, "a 302 is not a 2xx call");
}

#[test]
fn unknown_paths_get_a_json_404() {
    let sandbox = start(SandboxConfig::for_tests());
    let token = login(&sandbox);
    for (method, path) in [("GET", "/v2/nothing"), ("POST", ACCOUNT), ("GET", LOGIN)] {
        let answer = request(&sandbox, method, path, &[("X-Auth-Token", &token)], b"");
        assert_eq!(answer.status, 404, "{method} {path}");
        assert_currencycloud_headers(&answer);
        assert_eq!(answer.json()["error_code"], "not_found");
    }
    for path in [
        "/",
        "/v2x/accounts/current",
        "/nothing/here",
        "/multix/login_with_password",
    ] {
        let answer = get(&sandbox, path, None);
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.header("Content-Type"), Some("application/json"));
        assert_eq!(answer.json()["error"], "not_found");
    }
}

#[test]
fn status_faults_answer_with_the_api_error_body() {
    let sandbox = start(SandboxConfig::for_tests());
    let token = login(&sandbox);
    sandbox.inject(Fault::Status(503), 1);
    sandbox.inject(Fault::StatusRetryAfter(429, 1), 2);
    sandbox.inject(Fault::Status(500), 1);

    let unavailable = get(&sandbox, ACCOUNT, Some(&token));
    assert_eq!(unavailable.status, 503);
    assert_currencycloud_headers(&unavailable);
    assert_eq!(unavailable.header("Retry-After"), None);
    assert_eq!(unavailable.json()["error_code"], "service_unavailable");
    for _ in 0..2 {
        let limited = login_as(&sandbox, CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY);
        assert_eq!(limited.status, 429);
        assert_eq!(limited.header("Retry-After"), Some("1"));
        assert_eq!(limited.json()["error_code"], "too_many_requests");
    }
    // A fault hits whatever comes next, under any prefix.
    let broken = get(&sandbox, "/elsewhere", None);
    assert_eq!(broken.status, 500);
    assert_eq!(broken.json()["error"], "error");

    assert_eq!(get(&sandbox, ACCOUNT, Some(&token)).status, 200);
    assert_eq!(
        sandbox.counters(),
        Counters {
            logins: 1,
            calls: 1,
            faults: 4,
            ..Counters::default()
        }
    );
}

#[test]
fn a_delay_fault_serves_late_but_normally() {
    let sandbox = start(SandboxConfig::for_tests());
    sandbox.inject(Fault::Delay(Duration::from_millis(300)), 1);
    let started = Instant::now();
    login(&sandbox);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let counters = sandbox.counters();
    assert_eq!((counters.faults, counters.logins), (1, 1));
}

#[test]
fn a_drop_fault_closes_a_keep_alive_connection_without_an_answer() {
    let sandbox = start(SandboxConfig::for_tests());
    sandbox.inject(Fault::Drop, 1);
    let mut stream = connect(sandbox.addr());
    let started = Instant::now();
    stream
        .write_all(b"GET /v2/accounts/current HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut buffer = [0_u8; 256];
    match stream.read(&mut buffer) {
        Ok(0) => {}
        Ok(n) => panic!("answered: {}", String::from_utf8_lossy(&buffer[..n])),
        Err(e) => assert!(
            !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "the connection was left open: {e}"
        ),
    }
    assert!(started.elapsed() < IO_TIMEOUT);
    assert_eq!(sandbox.counters().faults, 1);
    // The sandbox itself carries on.
    assert_eq!(get(&sandbox, ACCOUNT, None).status, 401);
}

#[test]
fn a_drop_fault_is_a_transport_error_for_ureq() {
    let sandbox = start(SandboxConfig::for_tests());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(IO_TIMEOUT))
        .build()
        .into();
    let url = format!("{}{ACCOUNT}", sandbox.currencycloud_url());
    assert_eq!(agent.get(&url).call().unwrap().status(), 401);

    // Both on the pooled keep-alive connection and on a new one.
    for _ in 0..2 {
        sandbox.inject(Fault::Drop, 1);
        let started = Instant::now();
        let error = agent.get(&url).call().expect_err("no answer was sent");
        assert!(!matches!(error, ureq::Error::StatusCode(_)), "{error}");
        assert!(!matches!(error, ureq::Error::Timeout(_)), "{error}");
        assert!(started.elapsed() < IO_TIMEOUT);
    }
    assert_eq!(sandbox.counters().faults, 2);
    assert_eq!(agent.get(&url).call().unwrap().status(), 401);
}

#[test]
fn concurrent_logins_are_all_served_and_counted() {
    let sandbox = start(SandboxConfig::for_tests());
    let tokens: Vec<String> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| (0..10).map(|_| login(&sandbox)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut unique = tokens.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 80);
    assert_eq!(sandbox.counters().logins, 80);
    assert_eq!(sandbox.login_times().len(), 80);
}

#[test]
fn dropping_the_sandbox_is_quick_and_closes_its_connections() {
    let sandbox = start(SandboxConfig::for_tests());
    let addr = sandbox.addr();
    let mut idle = connect(addr);
    let started = Instant::now();
    drop(sandbox);
    assert!(started.elapsed() < Duration::from_secs(2));
    let mut buffer = [0_u8; 16];
    match idle.read(&mut buffer) {
        Ok(0) => {}
        Ok(_) => panic!("an answer to no request"),
        Err(e) => assert!(
            !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{e}"
        ),
    }
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn dropping_the_sandbox_does_not_wait_for_lingering_clients() {
    let sandbox = start(SandboxConfig::for_tests());
    // The server closes after answering `Connection: close`; the client
    // keeps its socket open.
    let mut lingering = connect(sandbox.addr());
    lingering
        .write_all(b"GET /v2/accounts/current HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    lingering.read_to_end(&mut answer).unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 401"));
    let started = Instant::now();
    drop(sandbox);
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(lingering);
}
