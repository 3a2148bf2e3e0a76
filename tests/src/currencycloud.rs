//! The Currencycloud fixtures (seed `000_55fb0fa7bc37453b`, `PROVIDERS.md`
//! §1): the seed's credentials, token and bodies, the constructors of a
//! [`Harness<Currencycloud>`], and the helpers the `currencycloud_*`
//! tests share.

use authsession_core::providers::currencycloud::LOGIN_PATH;
use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::{Config, Error, LoginStep, ResponseParts, Session, SessionState};

use crate::harness::Harness;
use crate::record::{Seen, Sent};

/// The login id of the fixtures (the seed's is an e-mail address).
pub const LOGIN_ID: &str = "development@example.com";
/// The seed's API key.
pub const API_KEY: &str = "1f6a3e944f8c4ebdc6658d6fc1103f12ebbc33f5ed05ca3549fdbc3883556544";
/// The seed's token.
pub const TOKEN: &str = "ea6d13c7bc50feb46cf978d137bc01a2";
/// A second token, for the login after a re-login.
pub const NEXT_TOKEN: &str = "0b9f5d1c2e3a4f6b7c8d9e0f1a2b3c4d";

/// The seed's login answer, as printed there.
pub const LOGIN_OK: &str = r#"{
    "auth_token": "ea6d13c7bc50feb46cf978d137bc01a2"
}"#;
/// The answer to the re-login.
pub const NEXT_LOGIN_OK: &str = r#"{"auth_token": "0b9f5d1c2e3a4f6b7c8d9e0f1a2b3c4d"}"#;

/// The seed's `401` body: bad credentials on a login, an expired token on a
/// call.
pub const AUTH_FAILED: &str = r#"{
  "error_code": "auth_failed",
  "error_messages": {
    "username": [
      {
        "code": "invalid_supplied_credentials",
        "message": "Authentication failed with the supplied credentials",
        "params": {}
      }
    ]
  }
}"#;

/// A `400` to a login with bad input, two fields at fault (PROVIDERS.md).
pub const BAD_LOGIN_DETAILS: &str = r#"{
  "error_code": "auth_invalid_user_login_details",
  "error_messages": {
    "login_id": [
      {"code": "login_id_is_too_short", "message": "login_id can not be shorter than 1 character(s)", "params": {"minimum_length": 1}}
    ],
    "api_key": [
      {"code": "api_key_length_is_invalid", "message": "api_key should be 64 character(s) long", "params": {"length": 64}}
    ]
  }
}"#;

/// A `429` body (PROVIDERS.md).
pub const TOO_MANY_REQUESTS: &str = r#"{
  "error_code": "too_many_requests",
  "error_messages": {
    "base": [
      {"code": "too_many_requests", "message": "Too many requests have been made to the api. Please refer to the Developer Center for more information", "params": {}}
    ]
  }
}"#;

/// A `500` body.
pub const INTERNAL_SERVER_ERROR: &str = r#"{"error_code":"internal_server_error","error_messages":{"base":[{"code":"internal_server_error","message":"Internal server error","params":{}}]}}"#;

/// A `503` body.
pub const SERVICE_UNAVAILABLE: &str = r#"{"error_code":"service_unavailable","error_messages":{"base":[{"code":"service_unavailable","message":"Service unavailable","params":{}}]}}"#;

/// The logout answer.
pub const LOGOUT_OK: &str = "{}";

/// An application call's success body.
pub const BALANCES_OK: &str = r#"{"balances":[],"pagination":{"total_entries":0}}"#;

/// The credentials of the fixtures.
pub fn currencycloud_credentials() -> CurrencycloudCredentials {
    CurrencycloudCredentials::new(LOGIN_ID, API_KEY).expect("the fixture credentials are valid")
}

/// The secrets of the fixtures: none of them may ever be printed.
pub const SECRETS: [&str; 4] = [API_KEY, TOKEN, NEXT_TOKEN, LOGIN_ID];

/// Fails if `text` shows any of [`SECRETS`].
pub fn assert_no_secret(text: &str) {
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "a secret was printed: {secret:?} in {text:?}"
        );
    }
}

// ---- shared by the currencycloud_* tests ----

/// The request id the server gives its answers in these tests.
pub const REQUEST_ID: &str = "5b3c0e5e-3a4f-4bb8-9f0b-6a2f1d1c7e21";

/// The state while the (one-step) login is in flight.
pub const LOGGING_IN: SessionState = SessionState::LoggingIn {
    step: LoginStep::FIRST,
};

/// What a `200` to a login whose body holds no token is.
pub const MALFORMED_LOGIN: Error = Error::Malformed {
    what: "login response",
    status: 200,
};

/// The login request after `status` with `headers` answered it, and the
/// events that followed.
pub fn answer_login(
    h: &mut Harness<Currencycloud>,
    status: u16,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Vec<Seen> {
    h.login();
    let login = h.take_one_sent();
    h.answer_id(
        login.id,
        &ResponseParts::new(status, body).with_headers(headers),
    );
    h.take_events()
}

/// How a request failed, in the backoff and logout tests.
#[derive(Clone, Copy, Debug)]
pub enum Failure {
    /// The server answered with this status and body.
    Status(u16, &'static str),
    /// No answer came.
    Transport,
}

/// Fails `login` (or any request) the way `failure` says.
pub fn fail_login(h: &mut Harness<Currencycloud>, login: &Sent, failure: Failure) {
    match failure {
        Failure::Status(status, body) => h.answer(login, status, body),
        Failure::Transport => h.fail(login),
    }
}

// ---- the harness ----

impl Harness<Currencycloud> {
    /// A logged-out Currencycloud session with the fixture credentials and
    /// the default config, at instant zero.
    pub fn currencycloud() -> Self {
        Self::with_config(Config::default())
    }

    /// The same with `config`.
    pub fn with_config(config: Config) -> Self {
        Self::with_session(Session::with_config(
            Currencycloud::default(),
            currencycloud_credentials(),
            config,
        ))
    }

    /// A session that has logged in with the seed's token at instant zero,
    /// its outputs taken.
    pub fn logged_in() -> Self {
        let mut h = Self::currencycloud();
        h.log_in_with(LOGIN_OK);
        h
    }

    /// Logs in from any state that can: asks, expects one login request,
    /// answers it with `200` and `body`, and expects `LoggedIn`. Takes the
    /// outputs.
    pub fn log_in_with(&mut self, body: &str) {
        let before = self.session.generation();
        if self.nothing_sent() {
            self.login();
        }
        let login = self.take_one_sent();
        assert_eq!(login.path, LOGIN_PATH);
        self.answer(&login, 200, body);
        let events = self.take_events();
        assert_eq!(
            events.last(),
            Some(&Seen::LoggedIn {
                generation: before + 1
            })
        );
        assert_eq!(self.session.state(), SessionState::Active);
    }
}
