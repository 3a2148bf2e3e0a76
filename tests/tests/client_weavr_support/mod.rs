//! The fixtures of the `client_weavr_*.rs` tests: the constants, a
//! sandbox with short timers, clients of it, the step-up callbacks and
//! what they were [`Asked`], `get_ok`, and what a tap saw. (Here rather
//! than in the kit's `src`: they need `authsession-std` and
//! `authsession-sandbox`, dev-dependencies only.) Each test binary uses
//! part of it.
//!
//! Every test starts its own sandbox with short timers (idle 300 ms, resend
//! 200 ms) and a client that knows them, whose waits are bounded (at most
//! 5 s for anything), so the suites stay quick.
#![allow(dead_code)]

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use authsession_core::providers::weavr::{Weavr, WeavrCredentials};
use authsession_core::{Channel, CodePrompt, Config, Level, PromptReason};
use authsession_sandbox::{
    Sandbox, SandboxConfig, WEAVR_API_KEY, WEAVR_EMAIL, WEAVR_MANAGED_ACCOUNT_ID, WEAVR_OTP_CODE,
    WEAVR_PASSWORD,
};
use authsession_std::{Client, ClientBuilder, Error, StepUpAnswer, Timeouts};
use authsession_tests::millis;
use authsession_tests::tap::Tap;

pub const ACCOUNTS: &str = "/managed_accounts";
/// The sandbox's idle timeout and resend interval in tests, which the
/// clients are told.
pub const IDLE: Duration = Duration::from_millis(300);
pub const RESEND: Duration = Duration::from_millis(200);
/// The client treats a token as lapsed this much before the server would.
pub const MARGIN: Duration = Duration::from_millis(50);
/// The client's idea of the idle timeout when only the server should
/// expire tokens.
pub const LONG_IDLE: Duration = Duration::from_secs(60);
/// The longest any call waits.
pub const MAX_WAIT: Duration = Duration::from_secs(5);
/// A code that is not the sandbox's.
pub const WRONG_CODE: &str = "654321";

pub fn statement() -> String {
    format!("/managed_accounts/{WEAVR_MANAGED_ACCOUNT_ID}/statement")
}

pub fn start_sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).unwrap_or_else(|error| panic!("sandbox did not start: {error}"))
}

pub fn sandbox() -> Sandbox {
    start_sandbox(SandboxConfig {
        worker_threads: 4,
        ..SandboxConfig::for_tests()
    })
}

pub fn session_config() -> Config {
    Config {
        expiry_margin: MARGIN,
        backoff_base: millis(50),
        backoff_max: millis(200),
        max_attempts: 4,
        rate_limit_wait: millis(500),
        seed: 11,
        ..Config::default()
    }
}

pub fn credentials(email: &str, password: &str) -> WeavrCredentials {
    WeavrCredentials::new(WEAVR_API_KEY, email, password)
        .unwrap_or_else(|error| panic!("credentials refused: {error}"))
}

/// The provider with the sandbox's timers; `idle` is what the client
/// believes the idle timeout is.
pub fn provider(idle: Duration) -> Weavr {
    Weavr::default().with_timers(idle, RESEND)
}

pub fn builder_for(base_url: &str, provider: Weavr, email: &str) -> ClientBuilder<Weavr> {
    Client::builder(provider, credentials(email, WEAVR_PASSWORD))
        .base_url(base_url)
        .config(session_config())
        .timeouts(Timeouts {
            connect: Duration::from_secs(2),
            response: Duration::from_secs(5),
            body_limit: 1024 * 1024,
        })
        .max_wait(MAX_WAIT)
}

/// A builder for the one-identity user of `sandbox`, whose client knows
/// the sandbox's idle timeout.
pub fn builder(sandbox: &Sandbox) -> ClientBuilder<Weavr> {
    builder_for(&sandbox.weavr_url(), provider(IDLE), WEAVR_EMAIL)
}

pub fn build(builder: ClientBuilder<Weavr>) -> Client<Weavr> {
    builder
        .build()
        .unwrap_or_else(|error| panic!("client not built: {error}"))
}

pub fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the step-up callback was asked: the prompt and when.
#[derive(Debug, Default)]
pub struct Asked(Mutex<Vec<(CodePrompt, Instant)>>);

impl Asked {
    pub fn note(&self, prompt: &CodePrompt) -> usize {
        let mut asked = locked(&self.0);
        asked.push((*prompt, Instant::now()));
        asked.len()
    }

    pub fn reasons(&self) -> Vec<PromptReason> {
        locked(&self.0)
            .iter()
            .map(|(prompt, _)| prompt.reason)
            .collect()
    }

    pub fn count(&self) -> usize {
        locked(&self.0).len()
    }

    pub fn channels(&self) -> Vec<Channel> {
        locked(&self.0)
            .iter()
            .map(|(prompt, _)| prompt.channel)
            .collect()
    }

    pub fn times(&self) -> Vec<Instant> {
        locked(&self.0).iter().map(|(_, at)| *at).collect()
    }
}

/// `builder` with an SMS step-up callback that answers the `n`-th question
/// (from 1) with `answer(n)`, noting each in `asked`.
pub fn with_sms(
    builder: ClientBuilder<Weavr>,
    asked: &Arc<Asked>,
    answer: impl Fn(usize) -> StepUpAnswer + Send + Sync + 'static,
) -> ClientBuilder<Weavr> {
    let asked = asked.clone();
    builder.step_up(Channel::Sms, move |prompt| answer(asked.note(prompt)))
}

/// `builder` with a callback that always gives the sandbox's code.
pub fn with_right_code(builder: ClientBuilder<Weavr>, asked: &Arc<Asked>) -> ClientBuilder<Weavr> {
    with_sms(builder, asked, |_| {
        StepUpAnswer::Code(WEAVR_OTP_CODE.to_owned())
    })
}

/// `GET path`, which must answer `200`.
pub fn get_ok(client: &Client<Weavr>, path: &str) -> http::Response<Vec<u8>> {
    let response = client
        .get(path)
        .unwrap_or_else(|error| panic!("GET {path} failed: {error}"));
    assert_eq!(
        response.status(),
        200,
        "GET {path}: {}",
        String::from_utf8_lossy(response.body())
    );
    response
}

/// `GET path` at `Level::SteppedUp`, which must answer `200`.
pub fn get_stepped_up_ok(client: &Client<Weavr>, path: &str) -> http::Response<Vec<u8>> {
    let response = client
        .call(Level::SteppedUp, "GET", path, Vec::new())
        .unwrap_or_else(|error| panic!("stepped-up GET {path} failed: {error}"));
    assert_eq!(response.status(), 200, "GET {path}");
    response
}

/// The Weavr counters: logins, exchanges, challenges, verifications.
pub fn weavr_counts(sandbox: &Sandbox) -> [u64; 4] {
    let counters = sandbox.counters();
    [
        counters.weavr_logins,
        counters.weavr_exchanges,
        counters.weavr_challenges,
        counters.weavr_verifications,
    ]
}

/// The API error inside a client error.
pub fn api_error(error: &Error) -> &authsession_core::ApiError {
    error
        .api_error()
        .unwrap_or_else(|| panic!("no API error in {error:?}"))
}

// ---- what the tap saw ----

/// The Weavr base URL through `tap`.
pub fn weavr_url(tap: &Tap) -> String {
    format!("{}/multi", tap.url())
}

/// The request lines (`POST /multi/... HTTP/1.1`) sent through `tap` so
/// far, in order (bodies run into the next request line: no newline ends
/// them).
pub fn request_lines(tap: &Tap) -> Vec<String> {
    let requests = tap.requests();
    requests
        .split("\r\n")
        .filter(|line| line.ends_with(" HTTP/1.1"))
        .filter_map(|line| {
            let start = ["GET /multi/", "POST /multi/"]
                .iter()
                .filter_map(|method| line.find(method))
                .min()?;
            Some(line[start..].to_owned())
        })
        .collect()
}
