//! The three ways the async benchmarks make a call, side by side: the
//! `AsyncClient`, raw reqwest with the token set by hand, and the
//! middleware on a `ClientWithMiddleware` sharing the client's session.
#![allow(dead_code)] // Each benchmark uses what it needs.

use std::sync::Arc;
use std::time::Duration;

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID};
use authsession_std::{AsyncClient, Client};
use reqwest_middleware::ClientWithMiddleware;

/// A call that needs the token.
pub const PATH: &str = "/v2/accounts/current";

/// The three ways a call is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    Client,
    Raw,
    Middleware,
}

pub const WAYS: [Way; 3] = [Way::Client, Way::Raw, Way::Middleware];

impl Way {
    pub fn name(self) -> &'static str {
        match self {
            Way::Client => "authsession AsyncClient",
            Way::Raw => "raw reqwest",
            Way::Middleware => "SessionMiddleware",
        }
    }
}

/// Everything a call needs, on every side.
pub struct Sides {
    pub client: AsyncClient<Currencycloud>,
    middleware: ClientWithMiddleware,
    raw: reqwest::Client,
    url: String,
    token: String,
}

impl Sides {
    /// The three sides on the sandbox at `base`, each logged in (two
    /// logins: the middleware shares the client's), within a tokio
    /// runtime.
    pub async fn start(base: &str) -> Sides {
        let credentials =
            CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY).unwrap();
        let client = Client::builder(Currencycloud::default(), credentials)
            .base_url(base)
            .build_async()
            .unwrap();
        client.login().await.unwrap();
        let middleware = reqwest_middleware::ClientBuilder::new(client.reqwest_client())
            .with(client.middleware())
            .build();
        let raw = raw_client();
        let token = raw_login(&raw, base).await;
        Sides {
            client,
            middleware,
            raw,
            url: format!("{base}{PATH}"),
            token,
        }
    }

    /// One call, its status checked and its whole body read; the body's
    /// length.
    pub async fn get(&self, way: Way) -> usize {
        match way {
            Way::Client => {
                let response = self.client.get(PATH).await.unwrap();
                assert_eq!(response.status(), 200);
                response.body().len()
            }
            Way::Raw => {
                let response = self
                    .raw
                    .get(&self.url)
                    .header("X-Auth-Token", &self.token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap().len()
            }
            Way::Middleware => {
                let response = self.middleware.get(&self.url).send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap().len()
            }
        }
    }
}

/// The reqwest client `AsyncClient` builds for itself (see
/// `reqwest_exchange.rs`), built by hand with the builder's default
/// timeouts: the two differ only in who puts the token on the request.
fn raw_client() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    })
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(40))
        .user_agent(concat!("authsession/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap()
}

/// `value` as a urlencoded form value.
fn form_value(value: &str) -> String {
    value
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// Logs in once with a raw request, as a program without authsession
/// would, and returns the token.
async fn raw_login(raw: &reqwest::Client, base: &str) -> String {
    let form = format!(
        "login_id={}&api_key={}",
        form_value(CURRENCYCLOUD_LOGIN_ID),
        form_value(CURRENCYCLOUD_API_KEY)
    );
    let response = raw
        .post(format!("{base}/v2/authenticate/api"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    body["auth_token"].as_str().unwrap().to_owned()
}
