//! A provider written outside the library, for an API authsession has never
//! heard of: "Acme", which hands out tokens at `POST /oauth/token` to a
//! client that authenticates with HTTP Basic, answers
//! `{"access_token", "token_type", "expires_in"}`, and takes the token as
//! `Authorization: Bearer`. The whole protocol is the `impl Provider` below:
//! the token request and the reading of its answer. The trait's defaults
//! put the token on calls as `Bearer` and read a `401` as a refused token;
//! the kit (`authsession_core::kit`) checks credentials and tokens; the
//! session brings the rest (single-flight login, refresh ahead of
//! `expires_in`, backoff, replay after a `401`, secrets kept out of logs).
//!
//! Run it with `cargo run -p authsession-std --example custom_provider`: it
//! starts a small Acme server on loopback and talks to it.

use std::fmt;
use std::time::Duration;

use authsession_core::kit::{
    self, LoginOutcome, NewToken, RequestHead, RequestSecrets, SessionRequest,
};
use authsession_core::{
    ApiError, Error, HeaderValue, LoginStep, Method, Provider, Response, SecretBuf, Text,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The Acme API.
#[derive(Debug, Default)]
pub struct Acme;

/// Acme's client id and secret, kept as the ready `Basic` credential.
pub struct AcmeCredentials {
    basic: SecretBuf<256>,
}

impl AcmeCredentials {
    pub fn new(client_id: &str, client_secret: &str) -> Result<Self, Error> {
        let encoded = STANDARD.encode(format!("{client_id}:{client_secret}"));
        let basic = kit::checked_credential("client credentials", &encoded)?;
        Ok(AcmeCredentials { basic })
    }
}

impl fmt::Debug for AcmeCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        kit::redacted(f, "AcmeCredentials")
    }
}

/// Acme's error bodies are not read: the status says all.
fn error_of<R: Response + ?Sized>(answer: &R) -> Error {
    Error::Api(ApiError::status(answer.status()))
}

impl Provider for Acme {
    type Credentials = AcmeCredentials;
    type Token = SecretBuf<1024>;
    type Body = SecretBuf<64>;

    const NAME: &'static str = "Acme";

    fn has_logout(&self) -> bool {
        false
    }

    /// The one request of the session's own: the token request.
    fn describe<'a>(
        &'a self,
        _request: SessionRequest,
        secrets: RequestSecrets<'a, AcmeCredentials, Self::Token>,
        body: &mut Self::Body,
    ) -> Result<RequestHead<'a>, Error> {
        body.extend(b"grant_type=client_credentials", "token request")?;
        let mut head = RequestHead::new(Method::Post, "/oauth/token");
        let basic = secrets.credentials.basic.as_str();
        head.headers
            .push("Authorization", HeaderValue::secret("Basic ", basic))?;
        let form = HeaderValue::plain("application/x-www-form-urlencoded");
        head.headers.push("Content-Type", form)?;
        Ok(head)
    }

    fn read_login<R: Response + ?Sized>(
        &mut self,
        _step: LoginStep,
        response: &R,
        token: &mut Self::Token,
    ) -> LoginOutcome {
        #[derive(serde::Deserialize)]
        struct Granted {
            access_token: Text<1024>,
            expires_in: Option<u64>,
        }
        let read_token = || {
            let granted: Granted =
                kit::parse_json(response.body(), "token response", response.status())?;
            kit::store_token(granted.access_token.as_bytes(), token)?;
            let lifetime = granted.expires_in.map(Duration::from_secs);
            Ok(NewToken {
                lifetime,
                ..NewToken::default()
            })
        };
        kit::login_outcome(response, read_token, error_of)
    }
}

/// A few lines of Acme server: tokens that live `lifetime_secs`, one
/// protected path. Returns its base URL and a count of token requests.
pub fn start_acme_server(
    lifetime_secs: u64,
) -> std::io::Result<(String, std::sync::Arc<std::sync::atomic::AtomicU64>)> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    let server = tiny_http::Server::http("127.0.0.1:0").map_err(std::io::Error::other)?;
    let url = format!("http://{}", server.server_addr());
    let issued = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&issued);
    let expected_basic = format!("Basic {}", STANDARD.encode("acme-client:acme-secret"));
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let authorization = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Authorization"))
                .map(|h| h.value.to_string());
            if request.url() == "/oauth/token" {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            let (status, body) = match request.url() {
                "/oauth/token" if authorization.as_deref() == Some(expected_basic.as_str()) => {
                    let token = format!("acme-token-{}", counter.load(Ordering::SeqCst));
                    (
                        200,
                        format!(
                            r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{lifetime_secs}}}"#
                        ),
                    )
                }
                "/oauth/token" => (401, r#"{"error":"invalid_client"}"#.to_owned()),
                "/widgets"
                    if authorization
                        .as_deref()
                        .is_some_and(|value| value.starts_with("Bearer acme-token-")) =>
                {
                    (200, r#"{"widgets":[]}"#.to_owned())
                }
                _ => (401, r#"{"error":"invalid_token"}"#.to_owned()),
            };
            let _ =
                request.respond(tiny_http::Response::from_string(body).with_status_code(status));
        }
    });
    Ok((url, issued))
}

/// Logs in to a local Acme server and makes `calls` calls; returns how many
/// token requests the server saw.
pub fn run(calls: u32) -> Result<u64, Box<dyn std::error::Error>> {
    let (url, issued) = start_acme_server(3600)?;
    let credentials = AcmeCredentials::new("acme-client", "acme-secret")?;
    let client = authsession_std::Client::builder(Acme, credentials)
        .base_url(url)
        .build()?;
    for _ in 0..calls {
        let response = client.get("/widgets")?;
        println!(
            "GET /widgets -> {} {}",
            response.status(),
            String::from_utf8_lossy(response.body())
        );
    }
    Ok(issued.load(std::sync::atomic::Ordering::SeqCst))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tokens = run(3)?;
    println!("3 calls, {tokens} token request");
    Ok(())
}
