//! The user-written provider of `examples/custom_provider.rs`, run as a
//! test: the example's own code against its own small server.

#[allow(dead_code)]
#[path = "../examples/custom_provider.rs"]
mod example;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use authsession_std::Client;
use example::{Acme, AcmeCredentials, start_acme_server};

#[test]
fn the_example_logs_in_once_for_all_its_calls() {
    assert_eq!(example::run(5).unwrap(), 1);
}

#[test]
fn a_user_written_provider_gets_refresh_ahead_of_expires_in() {
    let (url, issued) = start_acme_server(2).unwrap();
    let credentials = AcmeCredentials::new("acme-client", "acme-secret").unwrap();
    let client = Client::builder(Acme, credentials)
        .base_url(url)
        .build()
        .unwrap();
    let started = Instant::now();
    let mut calls = 0;
    // Just over two lifetimes of calls, every 100 ms.
    while started.elapsed() < Duration::from_millis(4_300) && calls < 100 {
        let response = client.get("/widgets").unwrap();
        assert_eq!(response.status(), 200, "call {calls} failed");
        calls += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    // The first login and one refresh per lifetime, each before expiry.
    assert_eq!(issued.load(Ordering::SeqCst), 3);
}

#[test]
fn wrong_client_credentials_are_tried_once_and_never_again() {
    let (url, issued) = start_acme_server(60).unwrap();
    let credentials = AcmeCredentials::new("acme-client", "wrong").unwrap();
    let client = Client::builder(Acme, credentials)
        .base_url(url)
        .build()
        .unwrap();
    for _ in 0..3 {
        assert!(matches!(
            client.get("/widgets"),
            Err(authsession_std::Error::Rejected(_))
        ));
    }
    assert_eq!(
        issued.load(Ordering::SeqCst),
        1,
        "one login attempt, never retried"
    );
}
