//! The async client on a multi-threaded tokio runtime, against the built-in
//! sandbox: a hundred tasks share one login, and a task dropped while that
//! login is on its way holds none of them up.
//!
//! `cargo run -p authsession-std --features tokio --example async_client`

use std::time::Duration;

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Sandbox, SandboxConfig};
use authsession_std::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    let credentials = CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY)?;
    let client = Client::builder(Currencycloud::default(), credentials)
        .base_url(sandbox.currencycloud_url())
        .max_wait(Duration::from_secs(30))
        .build_async()?;

    // Dropped after a millisecond, while it waits for the login it started.
    let impatient = tokio::time::timeout(Duration::from_millis(1), client.get("/v2/balances/find"));
    let impatient = impatient.await;
    // A hundred tasks at once (clones share the session): the same login.
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get("/v2/accounts/current").await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await??.status(), 200);
    }
    println!(
        "100 calls answered, {} login; the impatient call was {}",
        sandbox.counters().logins,
        if impatient.is_err() {
            "dropped"
        } else {
            "answered"
        },
    );
    client.logout().await?;
    Ok(())
}
