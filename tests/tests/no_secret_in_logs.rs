//! No secret reaches a log, at any level, from our code or a dependency's:
//! with a trace-level `log` logger and a trace-level `tracing` subscriber
//! (fed the `log` records through `tracing-log`'s bridge, as
//! `tracing-subscriber` does by default), every provider logs in against
//! the sandbox, makes calls, steps up (Weavr), pays with SCA
//! (Currencycloud) and logs out, and neither sink holds an API key, a
//! password, a secret, a one-time code or a token: not in
//! a line, nor in the rows of ureq-proto's trace dump of the wire joined
//! again (16 bytes a row, so a token spans several).
//!
//! A process has one `log` logger and one global `tracing` subscriber, so
//! this binary holds this one test and nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use authsession_core::providers::access_key::{AccessKey, AccessKeyCredentials};
use authsession_core::providers::currencycloud::PaymentSca;
use authsession_core::providers::weavr::{Weavr, WeavrCredentials};
use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::{Channel, Level};
use authsession_sandbox::{
    ACCESS_KEY_ID, ACCESS_KEY_SECRET, CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID,
    CURRENCYCLOUD_SCA_CODE, Sandbox, SandboxConfig, WEAVR_API_KEY, WEAVR_EMAIL,
    WEAVR_MANAGED_ACCOUNT_ID, WEAVR_OTP_CODE, WEAVR_PASSWORD,
};
use authsession_std::{Client, ClientBuilder, StepUpAnswer};
use authsession_tests::tap::{Tap, json_strings};

/// Every record the `log` logger saw, as `LEVEL target: message`.
static LOG_LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Everything the `tracing` subscriber wrote, events with their fields.
static TRACING_TEXT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A `log` logger that keeps every record and hands it on to `tracing`,
/// as `tracing_log::LogTracer` alone would.
struct Recorder {
    bridge: tracing_log::LogTracer,
}

impl log::Log for Recorder {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}: {}", record.level(), record.target(), record.args());
        locked(&LOG_LINES).push(line);
        self.bridge.log(record);
    }

    fn flush(&self) {}
}

/// Where the `tracing` subscriber writes.
struct TracingSink;

impl io::Write for TracingSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        locked(&TRACING_TEXT).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Both sinks, at trace level. No time stamps: their digits could hold
/// the six-digit OTP code by chance.
fn install_sinks() {
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .without_time()
        .with_writer(|| TracingSink)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("a tracing subscriber was set");
    let recorder = Recorder {
        bridge: tracing_log::LogTracer::new(),
    };
    log::set_boxed_logger(Box::new(recorder)).expect("a log logger was set");
    log::set_max_level(log::LevelFilter::Trace);
}

fn log_lines() -> Vec<String> {
    locked(&LOG_LINES).clone()
}

fn tracing_lines() -> Vec<String> {
    String::from_utf8_lossy(&locked(&TRACING_TEXT))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The printable side of ureq-proto's trace dump of the wire, its rows
/// (16 bytes each, hex then text) joined again: a secret a row boundary
/// cuts in two shows here whole. Empty when nothing was dumped.
fn wire_dump(lines: &[String]) -> String {
    lines
        .iter()
        .filter_map(|line| dump_row(line))
        .filter_map(|row| row.get(row.len().saturating_sub(16)..))
        .collect()
}

/// The message of `line` if it is a row of the dump, in either sink's
/// format: `TRACE ureq_proto::util: {row}` from the `log` logger, `TRACE
/// log: {row} log.target="ureq_proto::util" …` from the bridge.
fn dump_row(line: &str) -> Option<&str> {
    if let Some(row) = line.strip_prefix("TRACE ureq_proto::util: ") {
        return Some(row);
    }
    let (row, fields) = line
        .strip_prefix("TRACE log: ")?
        .split_once(" log.target=")?;
    fields.starts_with("\"ureq_proto::util\"").then_some(row)
}

// ---- the providers' sessions, through a recording relay ----

fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig {
        worker_threads: 4,
        ..SandboxConfig::default()
    })
    .unwrap_or_else(|error| panic!("sandbox did not start: {error}"))
}

/// `url`, a base URL of `sandbox`, through `tap` instead.
fn through(tap: &Tap, sandbox: &Sandbox, url: &str) -> String {
    url.replacen(&sandbox.currencycloud_url(), &tap.url(), 1)
}

fn build<P: authsession_core::Provider>(builder: ClientBuilder<P>) -> Client<P> {
    builder
        .max_wait(Duration::from_secs(5))
        .build()
        .unwrap_or_else(|error| panic!("client not built: {error}"))
}

fn call_ok<P: authsession_core::Provider>(client: &Client<P>, level: Level, path: &str) {
    let response = client
        .call(level, "GET", path, Vec::new())
        .unwrap_or_else(|error| panic!("GET {path} failed: {error}"));
    assert_eq!(
        response.status(),
        200,
        "GET {path}: {}",
        String::from_utf8_lossy(response.body())
    );
}

fn currencycloud(sandbox: &Sandbox, tap: &Tap) {
    let credentials = CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY)
        .expect("the sandbox's credentials");
    let client = build(
        Client::builder(Currencycloud::default(), credentials).base_url(through(
            tap,
            sandbox,
            &sandbox.currencycloud_url(),
        )),
    );
    call_ok(&client, Level::User, "/v2/accounts/current");
    call_ok(&client, Level::User, "/v2/balances/find");
    client.logout().expect("currencycloud logout");

    // A payment with SCA: a wrong code, refused, then the right one.
    let credentials = CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY)
        .expect("the sandbox's credentials");
    let typed = Mutex::new(0);
    let provider = Currencycloud::default().with_payment_sca(PaymentSca::default());
    let client = build(
        Client::builder(provider, credentials)
            .base_url(through(tap, sandbox, &sandbox.currencycloud_url()))
            .step_up(Channel::Sms, move |_| {
                let mut typed = locked(&typed);
                *typed += 1;
                let code = if *typed == 1 {
                    WRONG_PAYMENT_CODE
                } else {
                    CURRENCYCLOUD_SCA_CODE
                };
                StepUpAnswer::Code(code.to_owned())
            }),
    );
    let payment = client
        .post_form(
            "/v2/payments/create",
            &[
                ("currency", "EUR"),
                ("beneficiary_id", "b9e1a0a8-0b6f-4b7e-9d7c-2b8e3c1f5a10"),
                ("amount", "250.00"),
                ("reason", "Invoice"),
            ],
        )
        .expect("the payment");
    assert_eq!(payment.status(), 200);
    client.logout().expect("currencycloud logout");
}

/// The wrong code of the payment: distinctive, so that finding it
/// anywhere is a leak.
const WRONG_PAYMENT_CODE: &str = "Zq7Wx3Kp9";

fn weavr(sandbox: &Sandbox, tap: &Tap) {
    let credentials = WeavrCredentials::new(WEAVR_API_KEY, WEAVR_EMAIL, WEAVR_PASSWORD)
        .expect("the sandbox's credentials");
    let client = build(
        Client::builder(Weavr::default(), credentials)
            .base_url(through(tap, sandbox, &sandbox.weavr_url()))
            .step_up(Channel::Sms, |_| {
                StepUpAnswer::Code(WEAVR_OTP_CODE.to_owned())
            }),
    );
    call_ok(&client, Level::User, "/managed_accounts");
    // Refused with `403 STEP_UP_REQUIRED`, stepped up through the callback,
    // replayed.
    let statement = format!("/managed_accounts/{WEAVR_MANAGED_ACCOUNT_ID}/statement");
    call_ok(&client, Level::User, &statement);
    call_ok(&client, Level::SteppedUp, &statement);
    client.logout().expect("weavr logout");
}

fn access_key(sandbox: &Sandbox, tap: &Tap) {
    let credentials = AccessKeyCredentials::new(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
        .expect("the sandbox's credentials");
    let client = build(Client::builder(AccessKey, credentials).base_url(through(
        tap,
        sandbox,
        &sandbox.access_key_url(),
    )));
    call_ok(&client, Level::User, "/partners/me");
    call_ok(&client, Level::User, "/partners/me");
    client.logout().expect("access-key logout");
}

/// The tokens that went over the wire: every `X-Auth-Token` and `Bearer`
/// value the clients sent, every `token` and `auth_token` the server
/// answered.
fn tokens(tap: &Tap) -> Vec<String> {
    let requests = tap.requests();
    let mut tokens: Vec<String> = requests
        .split("\r\n")
        .filter_map(|line| {
            let lower = line.to_ascii_lowercase();
            ["x-auth-token: ", "authorization: bearer "]
                .iter()
                .find(|prefix| lower.starts_with(*prefix))
                .map(|prefix| line[prefix.len()..].to_owned())
        })
        .collect();
    let answers = tap.answers();
    tokens.extend(json_strings(&answers, "token"));
    tokens.extend(json_strings(&answers, "auth_token"));
    tokens.sort();
    tokens.dedup();
    tokens
}

#[test]
fn no_log_of_any_level_holds_a_key_a_password_the_code_or_a_token() {
    install_sinks();
    let sandbox = sandbox();
    let tap = Tap::start(sandbox.addr());
    currencycloud(&sandbox, &tap);
    weavr(&sandbox, &tap);
    access_key(&sandbox, &tap);

    let mut secrets: Vec<(&str, String)> = tokens(&tap)
        .into_iter()
        .map(|token| ("a token", token))
        .collect();
    // Currencycloud's token; Weavr's auth and access tokens; the JWT.
    assert!(secrets.len() >= 4, "{secrets:?}");
    assert!(secrets.iter().all(|(_, token)| token.len() >= 16));
    secrets.extend(
        [
            ("Currencycloud's API key", CURRENCYCLOUD_API_KEY),
            ("Weavr's api-key", WEAVR_API_KEY),
            ("Weavr's password", WEAVR_PASSWORD),
            ("Weavr's OTP code", WEAVR_OTP_CODE),
            ("the payment's wrong code", WRONG_PAYMENT_CODE),
            ("the access key's secret", ACCESS_KEY_SECRET),
        ]
        .map(|(what, secret)| (what, secret.to_owned())),
    );
    // The sandbox's right code is six digits, which a request id may hold
    // by chance: it is looked for as the header's value.
    secrets.push((
        "the payment's code",
        format!("x-sca-token: {CURRENCYCLOUD_SCA_CODE}"),
    ));
    // The secrets did travel: a log without them means something.
    let requests = tap.requests();
    assert!(requests.contains(WEAVR_OTP_CODE) && requests.contains(ACCESS_KEY_SECRET));
    assert!(requests.contains(WRONG_PAYMENT_CODE));
    assert!(
        requests
            .to_ascii_lowercase()
            .contains(&format!("x-sca-token: {CURRENCYCLOUD_SCA_CODE}"))
    );

    // Both sinks heard ureq, and the tracing one our own events too: the
    // check below cannot pass for want of lines.
    let log_lines = log_lines();
    let tracing_lines = tracing_lines();
    assert!(
        log_lines.iter().any(|line| line.contains(" ureq")),
        "{log_lines:#?}"
    );
    assert!(
        tracing_lines.iter().any(|line| line.contains("ureq")),
        "{tracing_lines:#?}"
    );
    assert!(
        tracing_lines.iter().any(|line| line.contains("logged in")),
        "{tracing_lines:#?}"
    );

    let mut leaks = Vec::new();
    for (sink, lines) in [("log", &log_lines), ("tracing", &tracing_lines)] {
        let dump = wire_dump(lines);
        for line in lines.iter().chain([&dump]) {
            for (what, secret) in &secrets {
                if let Some(at) = line.find(secret.as_str()) {
                    let around = excerpt(line, at, secret.len());
                    leaks.push(format!("{sink}: {what} in …{around}…"));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "{} leaks: {leaks:#?}", leaks.len());
}

/// `line` from 40 bytes before `at` to 40 after the `len` bytes there.
fn excerpt(line: &str, at: usize, len: usize) -> &str {
    let mut start = at.saturating_sub(40);
    while !line.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + len + 40).min(line.len());
    while !line.is_char_boundary(end) {
        end += 1;
    }
    &line[start..end]
}
