//! A program that sends its calls through a `reqwest_middleware` client
//! gains the session in one line: every request to the API goes with the
//! token, one login serves them all, and a refused token is replayed once
//! after the new login. Against the built-in sandbox.
//!
//! `cargo run -p authsession-std --features tokio --example middleware`

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Sandbox, SandboxConfig};
use authsession_std::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    let credentials = CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY)?;
    let session = Client::builder(Currencycloud::default(), credentials)
        .base_url(sandbox.currencycloud_url())
        .build_async()?;

    // The session's own reqwest client: it follows no redirect, so the
    // token never travels to another host.
    let http = reqwest_middleware::ClientBuilder::new(session.reqwest_client())
        .with(session.middleware())
        .build();
    for path in ["/v2/accounts/current", "/v2/balances/find"] {
        let answer = http
            .get(format!("{}{path}", sandbox.currencycloud_url()))
            .send()
            .await?;
        println!("GET {path}: {}", answer.status());
    }
    println!("{} login for both", sandbox.counters().logins);
    session.logout().await?;
    Ok(())
}
