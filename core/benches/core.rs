//! What the core costs a caller: one authorized call on an active session,
//! each provider's login parse side by side with `serde_json` parsing the
//! same body into an owned struct, JWT claims, and the HTTP/1.1 reader.
//!
//! `cargo bench -p authsession-core --bench core`; the figures of one run
//! are in `BENCHMARKS.md` at the root of the repository.
// A benchmark's fixtures are built here and are known good: a failure is a
// broken benchmark, which should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use authsession_core::jwt::decode_claims;
use authsession_core::kit::LoginOutcome;
use authsession_core::providers::access_key::{AccessKey, AccessKeyCredentials};
use authsession_core::providers::weavr::{IdentityType, Weavr, WeavrCredentials};
use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::wire::{httparse, read_response};
use authsession_core::{
    Event, Instant, Level, LoginStep, Provider, Response, ResponseParts, Session, SessionState,
    Verdict,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use serde::Deserialize;

const NOW: Instant = Instant::ZERO;

// ---- fixtures: the seeds' bodies (tests/src/lib.rs and the Weavr tests) ----

/// Currencycloud's login answer, as seed `000_55fb0fa7bc37453b` prints it.
const CURRENCYCLOUD_LOGIN: &str = r#"{
    "auth_token": "ea6d13c7bc50feb46cf978d137bc01a2"
}"#;

/// Weavr's password login answer (`PROVIDERS.md` §2).
const WEAVR_LOGIN: &str = r#"{"token":"auth.7f3c9a1e5b2d4c6f8a0b1c2d3e4f5a6b","tokenType":"AUTH","identity":{"type":"CORPORATE","id":"109876"},"credentials":{"type":"ROOT","id":"109876"}}"#;

/// Weavr's access token answer: the token is a JWT of a few hundred bytes.
const WEAVR_ACCESS_TOKEN: &str = concat!(
    r#"{"token":""#,
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMDk4NzYiLCJpZGVudGl0eSI6eyJ0eXBlIjoiQ09SUE9SQVRFIiwiaWQiOiIxMDk4NzYifSwiY3JlZGVudGlhbHMiOnsidHlwZSI6IlJPT1QiLCJpZCI6IjEwOTg3NiJ9LCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMH0.c2lnbmF0dXJlLW9mLXRoZS1hY2Nlc3MtdG9rZW4tMDEyMzQ1Njc4OWFiY2RlZg",
    r#"","identity":{"type":"CORPORATE","id":"109876"},"credentials":{"type":"ROOT","id":"109876"},"status":"STANDARD"}"#
);

/// The JWT of seed `002_39cc3a60aa172f9f`, exactly as printed. Its payload
/// starts `{ uid":` (base64 `eyB1aWQi`): not JSON, so the core reads `iat`
/// and `exp` by its fallback scan once the JSON parse has failed.
const SEED_JWT_AS_PRINTED: &str = "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyB1aWQiOiI2NWQwZjVjOS03ZmIwLTQ1NWMtOTAzNi05ZTcyZjBhOGQwZjYiLCJhciI6WyJQYXJ0bmVyIiwiUGFydG5lckFkbWluIl0sImFrIjoiNDU3NzFlYTEtYjAxMi00YjgwLThiYTQtNDk4OTFjNWQ4ZDQ3IiwicmVhbG0iOiJQYXJ0bmVyIiwiY2EiOiIwZWE3MDAwMS0wZjU4LTQ0YTItODBhZC05NTM2MzNmZjJjYzciLCJjaWQiOiIyOTI2MzczOS0yY2Y4LTQ4M2QtYWYxNS02MTUxZGM4NDQ4YjQiLCJkb21haW4iOiIvcGFydG5lcnMtaW50IiwiaWF0IjoxNjkxMTUxMjU3LCJleHAiOjE2OTExNTQ4NTd9.wBdfxnNYap0_M-omZUmnor7lB6c3ooVK2AENYtsIcfLzofW5bvkYgQzhaVABtJsU";

/// The same token with the quote put back (`eyB1aWQi` → `eyJ1aWQi`,
/// payload `{"uid":...`): a token whose payload is JSON, as the API's and
/// the sandbox's are, of the same length. `serde_json` cannot read the
/// seed's as printed, so the side-by-side figures use this one.
const SEED_JWT: &str = "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyJ1aWQiOiI2NWQwZjVjOS03ZmIwLTQ1NWMtOTAzNi05ZTcyZjBhOGQwZjYiLCJhciI6WyJQYXJ0bmVyIiwiUGFydG5lckFkbWluIl0sImFrIjoiNDU3NzFlYTEtYjAxMi00YjgwLThiYTQtNDk4OTFjNWQ4ZDQ3IiwicmVhbG0iOiJQYXJ0bmVyIiwiY2EiOiIwZWE3MDAwMS0wZjU4LTQ0YTItODBhZC05NTM2MzNmZjJjYzciLCJjaWQiOiIyOTI2MzczOS0yY2Y4LTQ4M2QtYWYxNS02MTUxZGM4NDQ4YjQiLCJkb21haW4iOiIvcGFydG5lcnMtaW50IiwiaWF0IjoxNjkxMTUxMjU3LCJleHAiOjE2OTExNTQ4NTd9.wBdfxnNYap0_M-omZUmnor7lB6c3ooVK2AENYtsIcfLzofW5bvkYgQzhaVABtJsU";

/// An application call's success body.
const CALL_OK: &[u8] = br#"{"balances":[],"pagination":{"total_entries":0}}"#;

fn currencycloud_credentials() -> CurrencycloudCredentials {
    CurrencycloudCredentials::new(
        "development@example.com",
        "1f6a3e944f8c4ebdc6658d6fc1103f12ebbc33f5ed05ca3549fdbc3883556544",
    )
    .unwrap()
}

fn weavr() -> Weavr {
    Weavr::default()
        .with_identity(IdentityType::Corporate, "109876")
        .unwrap()
}

fn weavr_credentials() -> WeavrCredentials {
    WeavrCredentials::new(
        "Wv4yT0sQm8Lx2Nc6Rk9BzA==",
        "ada@example.com",
        "s3cret-Passw0rd!",
    )
    .unwrap()
}

fn access_key_credentials() -> AccessKeyCredentials {
    AccessKeyCredentials::new(
        "986d8167a9b9a15e37db4ab4ad50877b01347a94",
        "79bPqahzbeYuIgyod1GBjsBy38wN7KuBBNNmN/emwjFCuAfq",
    )
    .unwrap()
}

/// Logs `session` in, answering its login steps in order with `answers`.
fn logged_in<P: Provider>(mut session: Session<P>, answers: &[ResponseParts<'_>]) -> Session<P> {
    session.login(NOW);
    for answer in answers {
        let id = session.poll_transmit().expect("a login step").id;
        session.handle_response(id, answer, NOW);
        while session.poll_event().is_some() {}
    }
    assert_eq!(session.state(), SessionState::Active);
    session
}

// ---- one authorized call ----

fn authorized_call<P: Provider>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    mut session: Session<P>,
) {
    let reply = ResponseParts::new(200, CALL_OK);
    group.bench_function(name, |b| {
        b.iter(|| {
            let grant = session.authorize(Level::User, NOW).unwrap();
            let ticket = black_box(&grant).ticket;
            let verdict = session.handle_reply(ticket, black_box(&reply), NOW);
            debug_assert_eq!(verdict, Verdict::Ok);
            verdict
        });
    });
}

fn bench_authorized_call(c: &mut Criterion) {
    let mut group = c.benchmark_group("authorized_call");
    let currencycloud = logged_in(
        Session::new(Currencycloud::default(), currencycloud_credentials()),
        &[ResponseParts::new(200, CURRENCYCLOUD_LOGIN.as_bytes())],
    );
    authorized_call(&mut group, "currencycloud", currencycloud);

    let weavr = logged_in(
        Session::new(weavr(), weavr_credentials()),
        &[
            ResponseParts::new(200, WEAVR_LOGIN.as_bytes()),
            ResponseParts::new(200, WEAVR_ACCESS_TOKEN.as_bytes()),
        ],
    );
    authorized_call(&mut group, "weavr", weavr);

    let access_key = logged_in(
        Session::new(AccessKey, access_key_credentials()),
        &[ResponseParts::new(201, SEED_JWT.as_bytes())],
    );
    authorized_call(&mut group, "access_key", access_key);
    group.finish();
}

// ---- login parsing, the core against serde_json into owned structs ----

// The owned structs hold what the core reads from each body; criterion's
// `black_box` takes them whole, which the compiler does not count as reads.

#[derive(Deserialize)]
#[allow(dead_code)]
struct OwnedCurrencycloudLogin {
    auth_token: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct OwnedIdentity {
    #[serde(rename = "type")]
    kind: String,
    id: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct OwnedWeavrLogin {
    token: String,
    identity: Option<OwnedIdentity>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct OwnedWeavrAccessToken {
    token: String,
    status: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct OwnedClaims {
    iat: Option<u64>,
    exp: Option<u64>,
}

/// What a client on `serde_json` does with the access-key API's `201`: the
/// body is the bare JWT, so it keeps the token and reads the claims out of
/// its payload.
fn owned_access_key_login(body: &[u8]) -> (String, OwnedClaims) {
    let token = std::str::from_utf8(body).unwrap().trim();
    let payload = token.split('.').nth(1).unwrap();
    let json = URL_SAFE_NO_PAD.decode(payload).unwrap();
    let claims: OwnedClaims = serde_json::from_slice(&json).unwrap();
    (token.to_owned(), claims)
}

/// Benchmarks `read_login` of `provider` at `step` on `body` against
/// `owned` parsing the same body, in one group.
fn login_parse<P: Provider, T>(
    c: &mut Criterion,
    name: &str,
    mut provider: P,
    step: LoginStep,
    response: ResponseParts<'_>,
    owned: impl Fn(&[u8]) -> T,
) {
    let mut token = P::Token::default();
    // The benchmark measures the path that succeeds.
    let outcome = provider.read_login(step, &response, &mut token);
    assert!(
        matches!(outcome, LoginOutcome::LoggedIn(_) | LoginOutcome::Next(_)),
        "{name}: {outcome:?}"
    );
    let mut group = c.benchmark_group(format!("login_parse/{name}"));
    group.throughput(Throughput::Bytes(response.body.len() as u64));
    group.bench_function("authsession (serde-json-core)", |b| {
        b.iter(|| provider.read_login(step, black_box(&response), &mut token));
    });
    group.bench_function("serde_json (owned)", |b| {
        b.iter(|| owned(black_box(response.body)));
    });
    group.finish();
}

fn bench_login_parse(c: &mut Criterion) {
    login_parse(
        c,
        "currencycloud",
        Currencycloud::default(),
        LoginStep::FIRST,
        ResponseParts::new(200, CURRENCYCLOUD_LOGIN.as_bytes()),
        |body| serde_json::from_slice::<OwnedCurrencycloudLogin>(body).unwrap(),
    );
    login_parse(
        c,
        "weavr_password",
        weavr(),
        LoginStep::FIRST,
        ResponseParts::new(200, WEAVR_LOGIN.as_bytes()),
        |body| serde_json::from_slice::<OwnedWeavrLogin>(body).unwrap(),
    );
    login_parse(
        c,
        "weavr_access_token",
        weavr(),
        // The exchange step, as the session numbers it.
        LoginStep(2),
        ResponseParts::new(200, WEAVR_ACCESS_TOKEN.as_bytes()),
        |body| serde_json::from_slice::<OwnedWeavrAccessToken>(body).unwrap(),
    );
    login_parse(
        c,
        "access_key",
        AccessKey,
        LoginStep::FIRST,
        ResponseParts::new(201, SEED_JWT.as_bytes()),
        owned_access_key_login,
    );
}

// ---- JWT claims ----

fn bench_jwt(c: &mut Criterion) {
    for token in [SEED_JWT_AS_PRINTED, SEED_JWT] {
        let claims = decode_claims(token).unwrap();
        assert_eq!(claims.lifetime(), Some(Duration::from_secs(3600)));
    }

    let mut group = c.benchmark_group("jwt_claims");
    group.bench_function(
        BenchmarkId::new("authsession", "seed token as printed"),
        |b| {
            b.iter(|| decode_claims(black_box(SEED_JWT_AS_PRINTED)));
        },
    );
    group.bench_function(
        BenchmarkId::new("authsession", "seed token, JSON payload"),
        |b| {
            b.iter(|| decode_claims(black_box(SEED_JWT)));
        },
    );
    group.bench_function(
        BenchmarkId::new("base64+serde_json (owned)", "seed token, JSON payload"),
        |b| {
            b.iter(|| owned_access_key_login(black_box(SEED_JWT.as_bytes())).1);
        },
    );
    group.finish();
}

// ---- the HTTP/1.1 reader ----

/// A head as an API sends it, with the body's framing header at the end.
const HEAD: &str = "HTTP/1.1 200 OK\r\n\
Date: Mon, 24 Nov 2025 06:57:00 GMT\r\n\
Content-Type: application/json;charset=UTF-8\r\n\
Connection: keep-alive\r\n\
X-Request-Id: 5b3c0e5e-3a4f-4bb8-9f0b-6a2f1d1c7e21\r\n\
Cache-Control: no-cache, no-store, max-age=0, must-revalidate\r\n\
Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n";

/// A JSON body that makes the whole response, head included, 1 KiB.
fn json_body(len: usize) -> String {
    let mut body = String::from(r#"{"balances":["#);
    let mut n = 0;
    while body.len() + 120 < len {
        write!(
            body,
            r#"{{"id":"b-{n:04}","currency":"EUR","amount":"{n}00.00","updated_at":"2025-11-24T06:57:00Z"}},"#
        )
        .unwrap();
        n += 1;
    }
    body.pop();
    body.push_str(r#"],"pagination":{"total_entries":"#);
    while body.len() + 2 < len {
        body.push('0');
    }
    body.push_str("}}");
    body
}

fn content_length_response() -> Vec<u8> {
    let head_len = HEAD.len() + "Content-Length: 000\r\n\r\n".len();
    let body = json_body(1024 - head_len);
    let response = format!("{HEAD}Content-Length: {}\r\n\r\n{body}", body.len());
    assert_eq!(response.len(), 1024);
    response.into_bytes()
}

/// The same body sent in 256-byte chunks.
fn chunked_response() -> (Vec<u8>, usize) {
    let head_len = HEAD.len() + "Content-Length: 000\r\n\r\n".len();
    let body = json_body(1024 - head_len);
    let mut response = format!("{HEAD}Transfer-Encoding: chunked\r\n\r\n");
    for chunk in body.as_bytes().chunks(256) {
        write!(response, "{:x}\r\n", chunk.len()).unwrap();
        response.push_str(std::str::from_utf8(chunk).unwrap());
        response.push_str("\r\n");
    }
    response.push_str("0\r\n\r\n");
    (response.into_bytes(), body.len())
}

fn read_one(wire: &[u8], buf: &mut [u8]) -> usize {
    let mut stream = wire;
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let response = read_response(&mut stream, buf, &mut headers).unwrap();
    debug_assert_eq!(response.status(), 200);
    response.body().len()
}

fn bench_wire(c: &mut Criterion) {
    let plain = content_length_response();
    let (chunked, body_len) = chunked_response();
    let mut buf = [0u8; 2048];
    assert_eq!(read_one(&plain, &mut buf), body_len);
    assert_eq!(read_one(&chunked, &mut buf), body_len);

    let mut group = c.benchmark_group("http1_read");
    for (name, wire) in [("content-length", &plain), ("chunked", &chunked)] {
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_with_input(BenchmarkId::new(name, wire.len()), wire, |b, wire| {
            b.iter(|| read_one(black_box(wire), &mut buf));
        });
    }
    group.finish();
}

/// Makes sure the session really ends up where the benchmarks assume.
fn check_fixtures() {
    let mut session = Session::new(AccessKey, access_key_credentials());
    session.login(NOW);
    let id = session.poll_transmit().unwrap().id;
    session.handle_response(id, &ResponseParts::new(201, SEED_JWT.as_bytes()), NOW);
    assert_eq!(
        session.poll_event(),
        Some(Event::LoggedIn { generation: 1 })
    );
}

fn config() -> Criterion {
    check_fixtures();
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(100)
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_authorized_call, bench_login_parse, bench_jwt, bench_wire
}
criterion_main!(benches);
