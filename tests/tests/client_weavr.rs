//! The blocking client against the sandbox's Weavr, over real sockets on
//! 127.0.0.1: the login and the exchange, a user call, a stepped-up call
//! refused with `403 STEP_UP_REQUIRED`, the program's callback asked for
//! the SMS code, the call replayed; no callback; a wrong code; the resend
//! rule; two identities; expiry after step-up; step-up asked for up front;
//! push approved and declined; an expired password and a locked user; 32
//! threads; and no secret in anything the client prints.
//!
//! Every test starts its own sandbox with short timers (idle 300 ms, resend
//! 200 ms) and a client that knows them, whose waits are bounded (at most
//! 5 s for anything), so the suite stays quick.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use authsession_core::providers::weavr::{IdentityType, Weavr, WeavrCredentials};
use authsession_core::{Channel, Config, ErrorKind, Level, SessionState};
use authsession_core::{CodePrompt, PromptReason, StepUpRefused};
use authsession_sandbox::{
    Fault, Sandbox, SandboxConfig, WEAVR_API_KEY, WEAVR_EMAIL, WEAVR_EXPIRED_EMAIL,
    WEAVR_MANAGED_ACCOUNT_ID, WEAVR_OTP_CODE, WEAVR_PASSWORD, WEAVR_TWO_IDENTITIES_CONSUMER_ID,
    WEAVR_TWO_IDENTITIES_EMAIL,
};
use authsession_std::{Client, ClientBuilder, Error, StepUpAnswer, Timeouts};
use authsession_tests::tap::Tap;

const ACCOUNTS: &str = "/managed_accounts";
/// The sandbox's idle timeout and resend interval in tests, which the
/// clients are told.
const IDLE: Duration = Duration::from_millis(300);
const RESEND: Duration = Duration::from_millis(200);
/// The client treats a token as lapsed this much before the server would.
const MARGIN: Duration = Duration::from_millis(50);
/// The client's idea of the idle timeout when only the server should
/// expire tokens.
const LONG_IDLE: Duration = Duration::from_secs(60);
/// The longest any call waits.
const MAX_WAIT: Duration = Duration::from_secs(5);
/// A code that is not the sandbox's.
const WRONG_CODE: &str = "654321";

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn statement() -> String {
    format!("/managed_accounts/{WEAVR_MANAGED_ACCOUNT_ID}/statement")
}

// ---- fixtures ----

fn start_sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).unwrap_or_else(|error| panic!("sandbox did not start: {error}"))
}

fn sandbox() -> Sandbox {
    start_sandbox(SandboxConfig {
        worker_threads: 4,
        ..SandboxConfig::for_tests()
    })
}

fn session_config() -> Config {
    Config {
        expiry_margin: MARGIN,
        backoff_base: ms(50),
        backoff_max: ms(200),
        max_attempts: 4,
        rate_limit_wait: ms(500),
        seed: 11,
        ..Config::default()
    }
}

fn credentials(email: &str, password: &str) -> WeavrCredentials {
    WeavrCredentials::new(WEAVR_API_KEY, email, password)
        .unwrap_or_else(|error| panic!("credentials refused: {error}"))
}

/// The provider with the sandbox's timers; `idle` is what the client
/// believes the idle timeout is.
fn provider(idle: Duration) -> Weavr {
    Weavr::default().with_timers(idle, RESEND)
}

fn builder_for(base_url: &str, provider: Weavr, email: &str) -> ClientBuilder<Weavr> {
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
fn builder(sandbox: &Sandbox) -> ClientBuilder<Weavr> {
    builder_for(&sandbox.weavr_url(), provider(IDLE), WEAVR_EMAIL)
}

fn build(builder: ClientBuilder<Weavr>) -> Client<Weavr> {
    builder
        .build()
        .unwrap_or_else(|error| panic!("client not built: {error}"))
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the step-up callback was asked: the prompt and when.
#[derive(Debug, Default)]
struct Asked(Mutex<Vec<(CodePrompt, Instant)>>);

impl Asked {
    fn note(&self, prompt: &CodePrompt) -> usize {
        let mut asked = locked(&self.0);
        asked.push((*prompt, Instant::now()));
        asked.len()
    }

    fn reasons(&self) -> Vec<PromptReason> {
        locked(&self.0)
            .iter()
            .map(|(prompt, _)| prompt.reason)
            .collect()
    }

    fn count(&self) -> usize {
        locked(&self.0).len()
    }

    fn channels(&self) -> Vec<Channel> {
        locked(&self.0)
            .iter()
            .map(|(prompt, _)| prompt.channel)
            .collect()
    }

    fn times(&self) -> Vec<Instant> {
        locked(&self.0).iter().map(|(_, at)| *at).collect()
    }
}

/// `builder` with an SMS step-up callback that answers the `n`-th question
/// (from 1) with `answer(n)`, noting each in `asked`.
fn with_sms(
    builder: ClientBuilder<Weavr>,
    asked: &Arc<Asked>,
    answer: impl Fn(usize) -> StepUpAnswer + Send + Sync + 'static,
) -> ClientBuilder<Weavr> {
    let asked = asked.clone();
    builder.step_up(Channel::Sms, move |prompt| answer(asked.note(prompt)))
}

/// `builder` with a callback that always gives the sandbox's code.
fn with_right_code(builder: ClientBuilder<Weavr>, asked: &Arc<Asked>) -> ClientBuilder<Weavr> {
    with_sms(builder, asked, |_| {
        StepUpAnswer::Code(WEAVR_OTP_CODE.to_owned())
    })
}

/// `GET path`, which must answer `200`.
fn get_ok(client: &Client<Weavr>, path: &str) -> http::Response<Vec<u8>> {
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
fn get_stepped_up_ok(client: &Client<Weavr>, path: &str) -> http::Response<Vec<u8>> {
    let response = client
        .call(Level::SteppedUp, "GET", path, Vec::new())
        .unwrap_or_else(|error| panic!("stepped-up GET {path} failed: {error}"));
    assert_eq!(response.status(), 200, "GET {path}");
    response
}

/// The Weavr counters: logins, exchanges, challenges, verifications.
fn weavr_counts(sandbox: &Sandbox) -> [u64; 4] {
    let counters = sandbox.counters();
    [
        counters.weavr_logins,
        counters.weavr_exchanges,
        counters.weavr_challenges,
        counters.weavr_verifications,
    ]
}

/// The API error inside a client error.
fn api_error(error: &Error) -> &authsession_core::ApiError {
    match error {
        Error::Rejected(authsession_core::Error::Api(api))
        | Error::StepUpFailed(authsession_core::Error::Api(api))
        | Error::Api(authsession_core::Error::Api(api)) => api,
        other => panic!("no API error in {other:?}"),
    }
}

// ---- what the tap saw ----

/// The Weavr base URL through `tap`.
fn weavr_url(tap: &Tap) -> String {
    format!("{}/multi", tap.url())
}

/// The request lines (`POST /multi/... HTTP/1.1`) sent through `tap` so
/// far, in order (bodies run into the next request line: no newline ends
/// them).
fn request_lines(tap: &Tap) -> Vec<String> {
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

// ---- the whole flow ----

#[test]
fn the_client_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Client<Weavr>>();
}

#[test]
fn login_exchange_user_call_then_a_stepped_up_call_through_the_sms_code() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());
    let client = build(with_right_code(builder(&sandbox), &asked));

    // The user call: a login and an exchange, no step-up.
    let accounts = get_ok(&client, ACCOUNTS);
    assert!(String::from_utf8_lossy(accounts.body()).contains(WEAVR_MANAGED_ACCOUNT_ID));
    assert_eq!(weavr_counts(&sandbox), [1, 1, 0, 0]);
    assert_eq!(asked.count(), 0);

    // The statement is refused with 403 STEP_UP_REQUIRED; the callback is
    // asked for the SMS code; the call is replayed.
    let statement_answer = get_ok(&client, &statement());
    assert!(String::from_utf8_lossy(statement_answer.body()).contains("\"entry\""));
    assert_eq!(asked.channels(), [Channel::Sms]);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);

    // The token stays stepped up: no more questions, at either level.
    get_ok(&client, &statement());
    get_stepped_up_ok(&client, &statement());
    assert_eq!(asked.count(), 1);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
    let counters = sandbox.counters();
    assert_eq!(counters.calls, 4);
    assert_eq!(counters.logins, 1);
    assert_eq!(counters.unauthorized, 0);
    assert_eq!(client.generation(), 1);
    assert_eq!(client.state(), SessionState::Active);
}

#[test]
fn without_a_callback_a_call_that_needs_step_up_is_an_error() {
    let sandbox = sandbox();
    let client = build(builder(&sandbox));

    // Refused by the server with 403 STEP_UP_REQUIRED.
    let error = client.get(&statement()).unwrap_err();
    assert!(matches!(error, Error::StepUpRequired), "{error:?}");
    // Refused by the session before anything is sent.
    let error = client
        .call(Level::SteppedUp, "GET", &statement(), Vec::new())
        .unwrap_err();
    assert!(matches!(error, Error::StepUpRequired), "{error:?}");

    assert_eq!(weavr_counts(&sandbox), [1, 1, 0, 0]);
    // The session is otherwise fine.
    get_ok(&client, ACCOUNTS);
    assert_eq!(sandbox.counters().weavr_logins, 1);
}

#[test]
fn a_wrong_code_then_the_right_one_steps_up_with_one_challenge() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());
    let client = build(with_sms(builder(&sandbox), &asked, |n| {
        StepUpAnswer::Code(if n == 1 { WRONG_CODE } else { WEAVR_OTP_CODE }.to_owned())
    }));

    get_ok(&client, &statement());

    assert_eq!(asked.channels(), [Channel::Sms, Channel::Sms]);
    assert_eq!(
        asked.reasons(),
        [PromptReason::FirstAsk, PromptReason::CodeRefused]
    );
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
    assert_eq!(sandbox.counters().weavr_codes_checked, 2);
}

#[test]
fn a_refused_code_given_again_is_refused_locally_not_sent() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());
    let client = build(with_sms(builder(&sandbox), &asked, |_| {
        StepUpAnswer::Code(WRONG_CODE.to_owned())
    }));

    let error = client.get(&statement()).unwrap_err();

    // The code the server refused is not sent again: the session refuses
    // it itself, and the server checked one code.
    assert!(
        matches!(
            error,
            Error::StepUpRefused(StepUpRefused::CodeAlreadyRefused)
        ),
        "{error:?}"
    );
    assert_eq!(
        asked.reasons(),
        [PromptReason::FirstAsk, PromptReason::CodeRefused]
    );
    assert_eq!(sandbox.counters().weavr_codes_checked, 1);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 0]);
    assert_eq!(client.state(), SessionState::Active);
}

#[test]
fn a_refusal_the_user_gives_up_on_fails_with_the_apis_code() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());
    let client = build(with_sms(builder(&sandbox), &asked, |n| {
        if n == 1 {
            StepUpAnswer::Code(WRONG_CODE.to_owned())
        } else {
            StepUpAnswer::Declined
        }
    }));

    let error = client.get(&statement()).unwrap_err();

    assert!(matches!(error, Error::StepUpFailed(_)), "{error:?}");
    assert_eq!(error.api_code(), Some("VERIFICATION_CODE_INVALID"));
    assert_eq!(sandbox.counters().weavr_codes_checked, 1);
}

#[test]
fn a_panicking_callback_ends_its_step_up_and_the_next_call_steps_up() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());
    let client = build(with_sms(builder(&sandbox), &asked, |n| {
        assert!(n > 1, "the user's device fell over");
        StepUpAnswer::Code(WEAVR_OTP_CODE.to_owned())
    }));

    // The panic reaches the calling thread.
    let panicked =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| client.get(&statement())));
    assert!(panicked.is_err());

    // The step-up is not wedged: the next call asks again and passes.
    get_ok(&client, &statement());
    assert_eq!(asked.count(), 2);
    assert_eq!(sandbox.counters().weavr_verifications, 1);
}

#[test]
fn a_declined_sms_step_up_is_an_error_and_the_next_call_may_step_up() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());
    let client = build(with_sms(builder(&sandbox), &asked, |n| {
        if n == 1 {
            StepUpAnswer::Declined
        } else {
            StepUpAnswer::Code(WEAVR_OTP_CODE.to_owned())
        }
    }));

    let error = client.get(&statement()).unwrap_err();
    assert!(matches!(error, Error::StepUpDeclined), "{error:?}");
    // Past the resend pause, with a user call on the way so that the token
    // does not idle out: a challenge right at the pause's end may reach the
    // server too soon (see the ignored
    // `a_challenge_the_server_finds_too_soon_is_waited_out_not_failed`).
    thread::sleep(RESEND / 2 + ms(20));
    get_ok(&client, ACCOUNTS);
    thread::sleep(RESEND / 2 + ms(20));
    get_ok(&client, &statement());

    assert_eq!(asked.count(), 2);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 2, 1]);
}

// ---- the resend rule ----

#[test]
fn a_second_step_up_right_after_a_new_login_waits_out_the_resend_interval() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());
    let client = build(with_right_code(builder(&sandbox), &asked));
    get_ok(&client, &statement());

    // The token is refused: the next call logs in again, and the new token
    // needs step-up at once, well within the resend interval.
    sandbox.inject(Fault::Status(401), 1);
    let started = Instant::now();
    get_ok(&client, &statement());

    assert_eq!(asked.count(), 2);
    assert_eq!(weavr_counts(&sandbox), [2, 2, 2, 2]);
    let times = asked.times();
    let gap = times[1].duration_since(times[0]);
    assert!(
        gap >= RESEND.saturating_sub(ms(50)),
        "the second challenge came {gap:?} after the first"
    );
    assert!(started.elapsed() < MAX_WAIT);
}

/// The server counts its resend pause from when a challenge arrives, later
/// than the session queued it, so a challenge sent right at the end of the
/// session's pause can reach the server too soon (the injected delay makes
/// it certain). The client waits out the server's `RETRY_IN_15SEC`, for the
/// resend interval the provider was given, and the call succeeds.
#[test]
fn a_challenge_the_server_finds_too_soon_is_waited_out_not_failed() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());
    let client = build(with_sms(builder(&sandbox), &asked, |n| {
        if n == 1 {
            StepUpAnswer::Declined
        } else {
            StepUpAnswer::Code(WEAVR_OTP_CODE.to_owned())
        }
    }));
    get_ok(&client, ACCOUNTS);

    // The first challenge reaches the server 100 ms late, so the session's
    // resend clock runs 100 ms ahead of the server's: its second challenge,
    // on the same token, is one the server finds too soon (409
    // RETRY_IN_15SEC).
    sandbox.inject(Fault::Delay(ms(100)), 1);
    let error = client
        .call(Level::SteppedUp, "GET", &statement(), Vec::new())
        .unwrap_err();
    assert!(matches!(error, Error::StepUpDeclined), "{error:?}");
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 0]);

    let started = Instant::now();
    let result = client.call(Level::SteppedUp, "GET", &statement(), Vec::new());

    assert!(
        result
            .as_ref()
            .is_ok_and(|response| response.status() == 200),
        "{result:?}"
    );
    assert_eq!(asked.count(), 2);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 2, 1]);
    assert!(started.elapsed() < MAX_WAIT);
}

// ---- identities ----

#[test]
fn a_user_with_two_identities_and_none_configured_is_a_clear_error_never_retried() {
    let sandbox = sandbox();
    let client = build(builder_for(
        &sandbox.weavr_url(),
        provider(IDLE),
        WEAVR_TWO_IDENTITIES_EMAIL,
    ));

    let error = client.get(ACCOUNTS).unwrap_err();

    assert!(
        matches!(
            error,
            Error::Rejected(authsession_core::Error::AmbiguousIdentity { count: 2 })
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("2 identities"), "{error}");
    assert_eq!(client.state(), SessionState::Rejected);
    assert_eq!(weavr_counts(&sandbox), [1, 0, 0, 0]);
    // Not retried by itself.
    let again = client.get(ACCOUNTS).unwrap_err();
    assert!(
        matches!((&again, &error), (Error::Rejected(a), Error::Rejected(b)) if a == b),
        "{again:?}"
    );
    assert_eq!(weavr_counts(&sandbox), [1, 0, 0, 0]);
}

#[test]
fn a_user_with_two_identities_works_with_the_one_configured() {
    let sandbox = sandbox();
    let provider = provider(IDLE)
        .with_identity(IdentityType::Consumer, WEAVR_TWO_IDENTITIES_CONSUMER_ID)
        .unwrap();
    let asked = Arc::new(Asked::default());
    let client = build(with_right_code(
        builder_for(&sandbox.weavr_url(), provider, WEAVR_TWO_IDENTITIES_EMAIL),
        &asked,
    ));

    let accounts = get_ok(&client, ACCOUNTS);
    let body = String::from_utf8_lossy(accounts.body()).into_owned();
    assert!(body.contains("Alex Owner"), "not the consumer's: {body}");
    assert_eq!(weavr_counts(&sandbox), [1, 1, 0, 0]);

    // Its own account's statement, after step-up.
    let key = "\"id\":\"";
    let at = body.find(key).unwrap() + key.len();
    let account = &body[at..at + body[at..].find('"').unwrap()];
    assert_ne!(account, WEAVR_MANAGED_ACCOUNT_ID);
    get_ok(&client, &format!("/managed_accounts/{account}/statement"));
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
}

// ---- expiry after step-up ----

#[test]
fn after_the_idle_timeout_the_new_token_is_not_stepped_up_until_it_steps_up_again() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());
    let client = build(with_right_code(builder(&sandbox), &asked));
    get_ok(&client, &statement());
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);

    thread::sleep(IDLE + ms(100));
    // The client knows the token lapsed: a user call logs in again, and is
    // not stepped up for it.
    get_ok(&client, ACCOUNTS);
    assert_eq!(weavr_counts(&sandbox), [2, 2, 1, 1]);
    assert_eq!(asked.count(), 1);
    assert_eq!(sandbox.counters().unauthorized, 0);

    // The stepped-up call needs a step-up of its own.
    get_ok(&client, &statement());
    assert_eq!(asked.count(), 2);
    assert_eq!(weavr_counts(&sandbox), [2, 2, 2, 2]);
    assert_eq!(client.generation(), 2);
}

#[test]
fn a_token_the_server_idled_out_after_step_up_is_replaced_and_stepped_up_again() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());
    // The client believes tokens last a minute: only the server expires it.
    let client = build(with_right_code(
        builder_for(&sandbox.weavr_url(), provider(LONG_IDLE), WEAVR_EMAIL),
        &asked,
    ));
    get_stepped_up_ok(&client, &statement());

    thread::sleep(IDLE + ms(100));
    // 401, a new login, step-up again, the call replayed.
    get_stepped_up_ok(&client, &statement());

    assert_eq!(sandbox.counters().unauthorized, 1);
    assert_eq!(asked.count(), 2);
    assert_eq!(weavr_counts(&sandbox), [2, 2, 2, 2]);
}

// ---- step-up up front ----

#[test]
fn a_stepped_up_level_steps_up_before_the_first_send() {
    let sandbox = sandbox();
    let tap = Tap::start(sandbox.addr());
    let asked = Arc::new(Asked::default());
    let client = build(with_right_code(
        builder_for(&weavr_url(&tap), provider(IDLE), WEAVR_EMAIL),
        &asked,
    ));

    get_stepped_up_ok(&client, &statement());

    assert_eq!(asked.count(), 1);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
    let lines = request_lines(&tap);
    let statement_line = format!("GET /multi{} HTTP/1.1", statement());
    assert_eq!(
        lines,
        [
            "POST /multi/login_with_password HTTP/1.1",
            "GET /multi/identities HTTP/1.1",
            "POST /multi/access_token HTTP/1.1",
            "POST /multi/stepup/challenges/otp/SMS HTTP/1.1",
            "POST /multi/stepup/challenges/otp/SMS/verify HTTP/1.1",
            statement_line.as_str(),
        ]
    );
}

// ---- push ----

/// A callback that answers the push the sandbox holds, approving it or
/// not, and tells the client the same.
fn push_answerer(
    sandbox: &Arc<Sandbox>,
    asked: &Arc<Asked>,
    approve: bool,
) -> impl Fn(&CodePrompt) -> StepUpAnswer + Send + Sync + 'static {
    let (sandbox, asked) = (sandbox.clone(), asked.clone());
    move |prompt| {
        asked.note(prompt);
        let id = sandbox
            .last_weavr_push_challenge()
            .expect("a push challenge waits");
        assert!(sandbox.approve_weavr_push(&id, approve));
        if approve {
            StepUpAnswer::Approved
        } else {
            StepUpAnswer::Declined
        }
    }
}

#[test]
fn a_push_approved_in_the_app_steps_up_and_the_call_is_replayed() {
    let sandbox = Arc::new(sandbox());
    let asked = Arc::new(Asked::default());
    let client =
        build(builder(&sandbox).step_up(Channel::Authy, push_answerer(&sandbox, &asked, true)));

    get_ok(&client, &statement());

    assert_eq!(asked.channels(), [Channel::Authy]);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
    assert_eq!(sandbox.last_weavr_push_challenge(), None);
    get_stepped_up_ok(&client, &statement());
    assert_eq!(asked.count(), 1);
}

#[test]
fn a_push_declined_in_the_app_is_step_up_declined() {
    let sandbox = Arc::new(sandbox());
    let asked = Arc::new(Asked::default());
    let client = build(
        builder(&sandbox).step_up(Channel::Biometric, push_answerer(&sandbox, &asked, false)),
    );

    let error = client.get(&statement()).unwrap_err();
    assert!(matches!(error, Error::StepUpDeclined), "{error:?}");

    assert_eq!(asked.channels(), [Channel::Biometric]);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 0]);
    // The token was not stepped up.
    let error = build(builder(&sandbox)).get(&statement()).unwrap_err();
    assert!(matches!(error, Error::StepUpRequired), "{error:?}");
    assert_eq!(client.state(), SessionState::Active);
}

// ---- refused logins ----

#[test]
fn an_expired_password_is_rejected_with_its_own_kind_and_never_retried() {
    let sandbox = sandbox();
    let client = build(builder_for(
        &sandbox.weavr_url(),
        provider(IDLE),
        WEAVR_EXPIRED_EMAIL,
    ));

    let error = client.get(ACCOUNTS).unwrap_err();

    assert!(matches!(error, Error::Rejected(_)), "{error:?}");
    let api = api_error(&error);
    assert_eq!(api.status, 409);
    assert_eq!(api.kind, ErrorKind::PasswordExpired);
    assert_eq!(sandbox.counters().rejected_logins, 1);
    thread::sleep(ms(100));
    assert!(matches!(client.get(ACCOUNTS), Err(Error::Rejected(_))));
    assert!(matches!(
        client.call(Level::SteppedUp, "GET", &statement(), Vec::new()),
        Err(Error::Rejected(_))
    ));
    let counters = sandbox.counters();
    assert_eq!(counters.rejected_logins, 1);
    assert_eq!(weavr_counts(&sandbox), [0, 0, 0, 0]);
    assert_eq!(counters.unauthorized, 0);
}

#[test]
fn a_locked_user_is_rejected_as_locked() {
    let sandbox = start_sandbox(SandboxConfig {
        worker_threads: 4,
        weavr_lockout_after: 2,
        ..SandboxConfig::for_tests()
    });
    let wrong = build(
        Client::builder(provider(IDLE), credentials(WEAVR_EMAIL, "not-the-password"))
            .base_url(sandbox.weavr_url())
            .config(session_config())
            .max_wait(MAX_WAIT),
    );
    // Two wrong passwords: 403, each tried once.
    let error = wrong.get(ACCOUNTS).unwrap_err();
    assert_eq!(api_error(&error).status, 403);
    assert!(matches!(wrong.get(ACCOUNTS), Err(Error::Rejected(_))));
    assert_eq!(sandbox.counters().rejected_logins, 1);
    assert!(matches!(wrong.login(), Err(Error::Rejected(_))));
    assert_eq!(sandbox.counters().rejected_logins, 2);

    // Now even the right password meets the lock.
    let client = build(builder(&sandbox));
    let error = client.get(ACCOUNTS).unwrap_err();

    assert!(matches!(error, Error::Rejected(_)), "{error:?}");
    let api = api_error(&error);
    assert_eq!(api.status, 423);
    assert_eq!(
        api.kind,
        ErrorKind::Locked {
            retry_after: Duration::from_secs(30 * 60)
        }
    );
    assert!(matches!(client.get(ACCOUNTS), Err(Error::Rejected(_))));
    assert_eq!(sandbox.counters().rejected_logins, 3);
    assert_eq!(weavr_counts(&sandbox), [0, 0, 0, 0]);
}

// ---- many threads ----

const THREADS: usize = 32;

/// `THREADS` threads call the statement at `level` at once, with a client
/// whose callback takes `pause` to answer (a person takes longer; a program
/// with the code at hand, no time): the responses' statuses.
fn statements_at_once(
    sandbox: &Sandbox,
    asked: &Arc<Asked>,
    level: Level,
    pause: Duration,
) -> Vec<u16> {
    let client = Arc::new(build(with_sms(builder(sandbox), asked, move |_| {
        thread::sleep(pause);
        StepUpAnswer::Code(WEAVR_OTP_CODE.to_owned())
    })));
    let barrier = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (client, barrier) = (client.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                client
                    .call(level, "GET", &statement(), Vec::new())
                    .map(|response| response.status().as_u16())
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|thread| {
            thread
                .join()
                .unwrap()
                .unwrap_or_else(|error| panic!("a call failed: {error:?}"))
        })
        .collect()
}

#[test]
fn thirty_two_threads_stepped_up_up_front_cause_one_login_and_one_challenge() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());

    let statuses = statements_at_once(&sandbox, &asked, Level::SteppedUp, ms(50));

    assert_eq!(statuses, [200; THREADS]);
    assert_eq!(asked.count(), 1);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
    assert_eq!(sandbox.counters().calls, THREADS as u64);
}

#[test]
fn thirty_two_threads_refused_with_step_up_required_cause_one_login_and_one_challenge() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());

    let statuses = statements_at_once(&sandbox, &asked, Level::User, ms(50));

    assert_eq!(statuses, [200; THREADS]);
    assert_eq!(asked.count(), 1);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
    assert_eq!(sandbox.counters().calls, THREADS as u64);
}

/// With a callback that answers at once, `403 STEP_UP_REQUIRED`s to calls
/// sent before the step-up arrive after it: they must not make the session
/// need step-up again (which would ask for a second challenge, refused
/// with `409 ALREADY_VERIFIED`). See
/// `a_403_to_a_call_sent_before_the_step_up_does_not_undo_it` in
/// `weavr_session.rs`.
#[test]
fn thirty_two_threads_with_an_instant_callback_cause_one_challenge() {
    let sandbox = sandbox();
    let asked = Arc::new(Asked::default());

    let statuses = statements_at_once(&sandbox, &asked, Level::User, Duration::ZERO);

    assert_eq!(statuses, [200; THREADS]);
    assert_eq!(asked.count(), 1);
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
}

// ---- secrets ----

fn assert_secret_free(what: &str, printed: &[String], secrets: &[String]) {
    for text in printed {
        for secret in secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what} prints the secret {secret:?}: {text}"
            );
        }
    }
}

fn printed_error(error: &Error) -> [String; 3] {
    [
        error.to_string(),
        format!("{error:?}"),
        format!("{error:#?}"),
    ]
}

fn printed_client(client: &Client<Weavr>) -> [String; 2] {
    [format!("{client:?}"), format!("{client:#?}")]
}

#[test]
fn nothing_printed_holds_the_api_key_the_password_a_token_or_the_code() {
    let sandbox = start_sandbox(SandboxConfig {
        worker_threads: 4,
        weavr_lockout_after: 2,
        ..SandboxConfig::for_tests()
    });
    let tap = Tap::start(sandbox.addr());
    let url = weavr_url(&tap);
    let mut printed = Vec::new();
    let mut errors = Vec::new();

    // A step-up with a wrong code first, then the right one.
    let asked = Arc::new(Asked::default());
    let client = build(with_sms(
        builder_for(&url, provider(IDLE), WEAVR_EMAIL),
        &asked,
        |n| StepUpAnswer::Code(if n == 1 { WRONG_CODE } else { WEAVR_OTP_CODE }.to_owned()),
    ));
    printed.extend(printed_client(&client));
    get_ok(&client, &statement());
    printed.extend(printed_client(&client));

    // No callback; codes that are all wrong; a declined one.
    let bare = build(builder_for(&url, provider(IDLE), WEAVR_EMAIL));
    errors.push(bare.get(&statement()).unwrap_err());
    printed.extend(printed_client(&bare));
    let failing = build(with_sms(
        builder_for(&url, provider(IDLE), WEAVR_EMAIL),
        &asked,
        |_| StepUpAnswer::Code(WRONG_CODE.to_owned()),
    ));
    errors.push(failing.get(&statement()).unwrap_err());
    printed.extend(printed_client(&failing));
    let declining = build(with_sms(
        builder_for(&url, provider(IDLE), WEAVR_EMAIL),
        &asked,
        |_| StepUpAnswer::Declined,
    ));
    errors.push(declining.get(&statement()).unwrap_err());

    // Refused logins: an expired password (its 409 carries a token), two
    // identities, a wrong password, a locked user.
    let expired = build(builder_for(&url, provider(IDLE), WEAVR_EXPIRED_EMAIL));
    errors.push(expired.get(ACCOUNTS).unwrap_err());
    printed.extend(printed_client(&expired));
    let ambiguous = build(builder_for(
        &url,
        provider(IDLE),
        WEAVR_TWO_IDENTITIES_EMAIL,
    ));
    errors.push(ambiguous.get(ACCOUNTS).unwrap_err());
    let wrong_password = "Wrong-Passw0rd!";
    let wrong = build(
        Client::builder(provider(IDLE), credentials(WEAVR_EMAIL, wrong_password))
            .base_url(&url)
            .config(session_config())
            .max_wait(MAX_WAIT),
    );
    errors.push(wrong.get(ACCOUNTS).unwrap_err());
    errors.push(wrong.login().unwrap_err());
    printed.extend(printed_client(&wrong));
    let locked_out = build(builder_for(&url, provider(IDLE), WEAVR_EMAIL));
    errors.push(locked_out.get(ACCOUNTS).unwrap_err());

    let kinds: Vec<String> = errors.iter().map(|error| format!("{error:?}")).collect();
    assert!(matches!(errors[0], Error::StepUpRequired), "{kinds:?}");
    assert!(
        matches!(
            errors[1],
            Error::StepUpRefused(StepUpRefused::CodeAlreadyRefused)
        ),
        "{kinds:?}"
    );
    assert!(matches!(errors[2], Error::StepUpDeclined), "{kinds:?}");
    assert_eq!(api_error(&errors[3]).kind, ErrorKind::PasswordExpired);
    assert!(matches!(
        errors[4],
        Error::Rejected(authsession_core::Error::AmbiguousIdentity { .. })
    ));
    assert_eq!(api_error(&errors[5]).status, 403);
    assert_eq!(api_error(&errors[7]).status, 423);

    // The `"token"` values of every answer the tap saw: auth tokens,
    // access tokens, temporary tokens.
    let tokens = tap.answer_strings("token");
    // Auth and access tokens of four logins, and the expired password's.
    assert!(tokens.len() >= 8, "{tokens:?}");
    assert!(tokens.iter().all(|token| token.len() >= 16), "{tokens:?}");
    let mut secrets = tokens;
    secrets.extend(
        [
            WEAVR_API_KEY,
            WEAVR_PASSWORD,
            wrong_password,
            WEAVR_OTP_CODE,
            WRONG_CODE,
        ]
        .map(str::to_owned),
    );
    for error in &errors {
        printed.extend(printed_error(error));
    }
    printed.push(format!(
        "{:?}",
        StepUpAnswer::Code(WEAVR_OTP_CODE.to_owned())
    ));
    printed.push(format!("{:?}", credentials(WEAVR_EMAIL, WEAVR_PASSWORD)));
    assert_secret_free("the client or an error", &printed, &secrets);
    // The tap did see them: the check above checked something.
    assert!(tap.requests().contains(WEAVR_OTP_CODE));
    assert!(tap.requests().contains(WEAVR_API_KEY));
}
