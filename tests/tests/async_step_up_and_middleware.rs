//! The async client's step-up through an async callback, and its session
//! as a `reqwest_middleware` middleware on a `ClientWithMiddleware`,
//! against the sandbox.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client_currencycloud_support;
mod client_weavr_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use authsession_core::Channel;
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, SandboxConfig, WEAVR_EMAIL, WEAVR_OTP_CODE};
use authsession_std::{Error, StepUpAnswer};
use authsession_tests::millis;
use client_currencycloud_support::{ACCOUNT, BALANCES, LONG_IDLE, start_sandbox};
use client_weavr_support::{builder_for, provider, statement, weavr_counts};

/// A sandbox whose Weavr tokens idle out after a minute (the user may take
/// their time), and an async client of it whose user answers `answer()`
/// after `pause`; how many times the user was asked.
fn weavr_asking(
    pause: Duration,
    answer: fn() -> StepUpAnswer,
) -> (
    authsession_sandbox::Sandbox,
    Arc<AtomicUsize>,
    authsession_std::AsyncClient<authsession_core::providers::Weavr>,
) {
    let sandbox = start_sandbox(SandboxConfig {
        weavr_idle_timeout: LONG_IDLE,
        ..SandboxConfig::for_tests()
    });
    let asked = Arc::new(AtomicUsize::new(0));
    let callback_asked = Arc::clone(&asked);
    let client = builder_for(&sandbox.weavr_url(), provider(LONG_IDLE), WEAVR_EMAIL)
        .step_up_async(Channel::Sms, move |_prompt| {
            let asked = Arc::clone(&callback_asked);
            async move {
                asked.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(pause).await;
                answer()
            }
        })
        .build_async()
        .unwrap();
    (sandbox, asked, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_step_up_callback_serves_every_task_with_one_challenge() {
    // The user takes their time.
    let (sandbox, asked, client) = weavr_asking(Duration::from_secs(1), || {
        StepUpAnswer::Code(WEAVR_OTP_CODE.to_owned())
    });
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get(&statement()).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().status(), 200);
    }
    assert_eq!(asked.load(Ordering::SeqCst), 1, "the user was asked once");
    // Logins, exchanges, challenges, verifications.
    assert_eq!(weavr_counts(&sandbox), [1, 1, 1, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_middleware_carries_a_client_with_middleware_across_an_idle_expiry() {
    let sandbox = start_sandbox(SandboxConfig {
        idle_timeout: millis(400),
        ..SandboxConfig::for_tests()
    });
    let session = client_currencycloud_support::builder_for(
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_API_KEY,
        LONG_IDLE,
        Duration::ZERO,
    )
    .build_async()
    .unwrap();
    let http = reqwest_middleware::ClientBuilder::new(session.reqwest_client())
        .with(session.middleware())
        .build();
    let base = sandbox.currencycloud_url();
    for path in [ACCOUNT, BALANCES] {
        let answer = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        // The answer handed on says where it came from.
        assert_eq!(answer.url().as_str(), format!("{base}{path}"));
    }
    assert_eq!(sandbox.counters().logins, 1);

    // The server idles the token out: the next request meets a `401`, the
    // middleware logs in once and sends it again.
    tokio::time::sleep(millis(700)).await;
    let answer = http.get(format!("{base}{ACCOUNT}")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.text().await.unwrap().contains("account"));
    let counters = sandbox.counters();
    assert_eq!(
        (counters.logins, counters.unauthorized, counters.calls),
        (2, 1, 3)
    );

    // A request to another origin goes as it was given, without the
    // token: that server refuses it, and nothing is logged in again.
    let other = start_sandbox(SandboxConfig::for_tests());
    let answer = http
        .get(format!("{}{ACCOUNT}", other.currencycloud_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(other.counters().unauthorized, 1);
    assert_eq!(sandbox.counters().logins, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_declined_step_up_ends_every_waiting_task_with_the_decline() {
    let (sandbox, asked, client) = weavr_asking(millis(200), || StepUpAnswer::Declined);
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get(&statement()).await })
        })
        .collect();
    // The tasks that waited for the step-up are woken when it ends, and
    // take its outcome: the user is asked once, and said no once.
    for task in tasks {
        let error = task.await.unwrap().unwrap_err();
        assert!(matches!(error, Error::StepUpDeclined), "{error:?}");
    }
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert_eq!(weavr_counts(&sandbox)[2], 1, "one challenge");
}

const BENEFICIARY: &str = "b9e1a0a8-0b6f-4b7e-9d7c-2b8e3c1f5a10";
const PAYMENT: [(&str, &str); 5] = [
    ("currency", "EUR"),
    ("beneficiary_id", BENEFICIARY),
    ("amount", "250.00"),
    ("reason", "Invoice"),
    ("reference", "INV-1"),
];

/// An async client with Currencycloud's payment SCA, whose user types the
/// right code after `pause`.
fn paying_client(
    sandbox: &authsession_sandbox::Sandbox,
    pause: Duration,
) -> authsession_std::AsyncClient<authsession_core::providers::Currencycloud> {
    use authsession_core::providers::Currencycloud;
    use authsession_core::providers::currencycloud::PaymentSca;
    use authsession_sandbox::CURRENCYCLOUD_SCA_CODE;

    let provider =
        Currencycloud::with_idle_timeout(LONG_IDLE).with_payment_sca(PaymentSca::default());
    authsession_std::Client::builder(
        provider,
        client_currencycloud_support::credentials(CURRENCYCLOUD_API_KEY),
    )
    .base_url(sandbox.currencycloud_url())
    .step_up_async(Channel::Sms, move |_prompt| async move {
        tokio::time::sleep(pause).await;
        StepUpAnswer::Code(CURRENCYCLOUD_SCA_CODE.to_owned())
    })
    .build_async()
    .unwrap()
}

/// Validations, codes sent, codes checked, payments created, logins.
fn payment_counts(sandbox: &authsession_sandbox::Sandbox) -> (u64, u64, u64, u64, u64) {
    let c = sandbox.counters();
    (
        c.payment_validations,
        c.payment_sms_sent,
        c.payment_codes_checked,
        c.payments_created,
        c.logins,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_payment_with_sca_goes_through_its_challenge_with_the_async_callback() {
    use authsession_core::providers::currencycloud::PAYMENT_CREATE_PATH;

    let sandbox = start_sandbox(SandboxConfig {
        idle_timeout: LONG_IDLE,
        ..SandboxConfig::for_tests()
    });
    let client = paying_client(&sandbox, Duration::ZERO);
    let created = client
        .post_form(PAYMENT_CREATE_PATH, &PAYMENT)
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    assert_eq!(payment_counts(&sandbox), (1, 1, 1, 1, 1));

    // The same through the middleware: the payment's challenge is the
    // client's flow.
    let http = reqwest_middleware::ClientBuilder::new(client.reqwest_client())
        .with(client.middleware())
        .build();
    let (body, content_type) = authsession_std::multipart_form(&PAYMENT).unwrap();
    let created = http
        .post(format!(
            "{}{PAYMENT_CREATE_PATH}",
            sandbox.currencycloud_url()
        ))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    assert_eq!(payment_counts(&sandbox), (2, 2, 2, 2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_payment_whose_caller_stopped_waiting_is_not_made() {
    use authsession_core::providers::currencycloud::PAYMENT_CREATE_PATH;

    let sandbox = start_sandbox(SandboxConfig {
        idle_timeout: LONG_IDLE,
        ..SandboxConfig::for_tests()
    });
    // The user takes 400 ms to type the code; the caller gives up at 150.
    let client = paying_client(&sandbox, millis(400));
    let gave_up =
        tokio::time::timeout(millis(150), client.post_form(PAYMENT_CREATE_PATH, &PAYMENT)).await;
    assert!(gave_up.is_err());
    // Long after the code was typed: the payment was validated (the code
    // sent), but never created, so a second try cannot pay twice.
    tokio::time::sleep(millis(700)).await;
    assert_eq!(payment_counts(&sandbox), (1, 1, 0, 0, 1));
}

/// A one-answer-per-connection HTTP server on loopback answering every
/// request with `answer`; the request heads it saw.
fn answering(answer: String) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let heads = Arc::clone(&seen);
    std::thread::spawn(move || {
        // Bounded: the test makes two requests at most to each server.
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { return };
            let mut head = [0_u8; 4096];
            let read = stream.read(&mut head).unwrap_or(0);
            heads
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head[..read]).into_owned());
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_followed_below_the_middleware_closes_the_session_and_fails() {
    use authsession_core::Level;
    use authsession_core::providers::Weavr;

    let (elsewhere, elsewhere_saw) =
        answering("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".into());
    let (api, _) = answering(format!(
        "HTTP/1.1 302 Found\r\nlocation: {elsewhere}/steal\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    ));
    let session = authsession_std::Client::builder(
        Weavr::default(),
        client_weavr_support::credentials(WEAVR_EMAIL, "Passw0rd!"),
    )
    .base_url(format!("{api}/multi"))
    .build_async()
    .unwrap();
    // A reqwest client as most programs build it: it follows redirects.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let follows = reqwest::Client::builder().build().unwrap();
    let http = reqwest_middleware::ClientBuilder::new(follows)
        .with(session.middleware())
        .build();
    // At the account level: Weavr's `api-key`, no login.
    let error = http
        .get(format!("{api}/multi/managed_accounts"))
        .with_extension(Level::Account)
        .send()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("redirect"), "{error}");
    // The other origin did get the request with the account's key: what
    // the middleware catches, too late to stop, in time to end the
    // session and fail instead of handing the answer over as the API's.
    let saw = elsewhere_saw.lock().unwrap();
    assert_eq!(saw.len(), 1);
    assert!(
        saw[0].to_ascii_lowercase().contains("api-key"),
        "{}",
        saw[0]
    );
}
