//! The Weavr fixtures (seed `001_41d0dd5883504114.txt`, `PROVIDERS.md` §2):
//! the credentials, tokens, codes and bodies of the `weavr_*` tests, the
//! constructors and whole exchanges (log in, step up) of a
//! [`Harness<Weavr>`], and the checks those tests share.

use authsession_core::providers::weavr::{
    ACCESS_TOKEN_PATH, IDENTITIES_PATH, LOGIN_PATH, Weavr, WeavrCredentials,
};
use authsession_core::{
    ApiError, Channel, Config, Error, ErrorKind, Method, Session, SessionState, StepUpError,
    StepUpState,
};

use crate::harness::Harness;
use crate::record::{Seen, Sent};

// ---- fixtures ----

/// The API key of the fixtures.
pub const API_KEY: &str = "Wv4yT0sQm8Lx2Nc6Rk9BzA==";
/// The user's e-mail address.
pub const EMAIL: &str = "ada@example.com";
/// The user's password.
pub const PASSWORD: &str = "s3cret-Passw0rd!";
/// The auth token of the first login.
pub const AUTH_TOKEN: &str = "auth.7f3c9a1e5b2d4c6f8a0b1c2d3e4f5a6b";
/// The access token of the first login.
pub const ACCESS_TOKEN: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMDk4NzYiLCJpZGVudGl0eSI6IjEwOTg3NiJ9.c2lnLTE";
/// The auth token of the next login.
pub const NEXT_AUTH_TOKEN: &str = "auth.0b9f5d1c2e3a4f6b7c8d9e0f1a2b3c4d";
/// The access token of the next login.
pub const NEXT_ACCESS_TOKEN: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMDk4NzYiLCJqdGkiOiIyIn0.c2lnLTI";
/// The token of a `409` to a login with an expired password.
pub const TEMPORARY_TOKEN: &str = "temp.5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b";
/// The one-time code the user types (not the sandbox's, so that it is
/// found only where it leaked).
pub const OTP: &str = "918273";
/// The code the user types after the first was refused.
pub const SECOND_OTP: &str = "564738";
/// The corporate identity of the login answer.
pub const CORPORATE_ID: &str = "109876";
/// A consumer identity.
pub const CONSUMER_ID: &str = "204060";
/// The `request-ref` the server gives its answers in these tests.
pub const REQUEST_REF: &str = "0e7a3c1d-5b2f-4c8e-9a6d-1f2e3d4c5b6a";

/// The secrets of the fixtures: none of them may ever be printed.
pub const SECRETS: [&str; 8] = [
    API_KEY,
    PASSWORD,
    AUTH_TOKEN,
    ACCESS_TOKEN,
    NEXT_AUTH_TOKEN,
    NEXT_ACCESS_TOKEN,
    TEMPORARY_TOKEN,
    OTP,
];

/// The credentials of the fixtures.
pub fn credentials() -> WeavrCredentials {
    WeavrCredentials::new(API_KEY, EMAIL, PASSWORD).expect("the fixture credentials are valid")
}

/// The login answer with auth token `token`, for the corporate identity.
pub fn login_ok(token: &str) -> String {
    format!(
        r#"{{"token":"{token}","tokenType":"AUTH","identity":{{"type":"CORPORATE","id":"{CORPORATE_ID}"}},"credentials":{{"type":"ROOT","id":"{CORPORATE_ID}"}}}}"#
    )
}

/// One entry of an identity list.
pub fn listed(kind: &str, id: &str) -> String {
    format!(r#"{{"id":{{"type":"{kind}","id":"{id}"}},"name":"Identity {id}"}}"#)
}

/// The identity list of `entries`.
pub fn identities(entries: &[String]) -> String {
    let n = entries.len();
    format!(
        r#"{{"identities":[{}],"count":{n},"responseCount":{n}}}"#,
        entries.join(",")
    )
}

/// A list of the corporate identity alone.
pub fn one_identity() -> String {
    identities(&[listed("CORPORATE", CORPORATE_ID)])
}

/// A list of the corporate and the consumer identity.
pub fn two_identities() -> String {
    identities(&[
        listed("CORPORATE", CORPORATE_ID),
        listed("CONSUMER", CONSUMER_ID),
    ])
}

/// The exchange's answer with access token `token` and step-up `status`.
pub fn access_ok(token: &str, status: &str) -> String {
    format!(
        r#"{{"token":"{token}","identity":{{"type":"CORPORATE","id":"{CORPORATE_ID}"}},"credentials":{{"type":"ROOT","id":"{CORPORATE_ID}"}},"status":"{status}"}}"#
    )
}

/// A `409` body with error code `code`.
pub fn conflict(code: &str) -> String {
    format!(r#"{{"errorCode":"{code}"}}"#)
}

/// A `400` to a login without an e-mail address.
pub const BAD_LOGIN: &str = r#"{"message":"Bad request","syntaxErrors":{"invalidFields":[{"params":[],"fieldName":"email","error":"REQUIRED"}]}}"#;

// ---- checks ----

/// What every Weavr request must be.
pub trait WeavrRequest {
    /// Asserts the request is `method path`, with the `api-key` (marked
    /// secret) and the bearer `token` (or no `Authorization` at all).
    fn expect(&self, method: Method, path: &str, bearer: Option<&str>);
}

impl WeavrRequest for Sent {
    fn expect(&self, method: Method, path: &str, bearer: Option<&str>) {
        assert_eq!(
            (self.method, self.path.as_str()),
            (method, path),
            "{self:?}"
        );
        let api_key = self.headers.iter().find(|h| h.name == "api-key");
        assert!(
            api_key.is_some_and(|h| h.full_value() == API_KEY && h.sensitive),
            "no api-key on {self:?}"
        );
        let expected = bearer.map(|token| format!("Bearer {token}"));
        assert_eq!(self.header("Authorization"), expected, "{path}");
        if let Some(authorization) = self.headers.iter().find(|h| h.name == "Authorization") {
            assert!(authorization.sensitive);
        }
    }
}

/// The step-up error an event carries.
pub fn step_up_error(event: &Seen) -> (ApiError, StepUpError) {
    let Seen::StepUpFailed(Error::Api(api)) = event else {
        panic!("not a step-up failure from the API: {event:?}");
    };
    let ErrorKind::StepUp(code) = api.kind else {
        panic!("not a typed step-up error: {api:?}");
    };
    (api.clone(), code)
}

// ---- the harness ----

impl Harness<Weavr> {
    /// A logged-out Weavr session with the fixture credentials and the
    /// default provider and config, at instant zero.
    pub fn weavr() -> Self {
        Self::weavr_with(Weavr::default(), Config::default())
    }

    /// The same with `provider` and `config`.
    pub fn weavr_with(provider: Weavr, config: Config) -> Self {
        Self::with_session(Session::with_config(provider, credentials(), config))
    }

    /// A session logged in the usual way (one identity, none configured)
    /// at instant zero, its outputs taken.
    pub fn weavr_logged_in() -> Self {
        let mut h = Self::weavr();
        h.log_in(AUTH_TOKEN, ACCESS_TOKEN);
        h
    }

    /// Logs in (a login must be queued or queueable): login, identities
    /// with one identity, exchange; expects `LoggedIn`. Takes the outputs.
    pub fn log_in(&mut self, auth_token: &str, access_token: &str) {
        let generation = self.session.generation();
        if self.nothing_sent() {
            self.login();
        }
        let login = self.take_one_sent();
        login.expect(Method::Post, LOGIN_PATH, None);
        self.answer(&login, 200, &login_ok(auth_token));
        let listing = self.take_one_sent();
        listing.expect(Method::Get, IDENTITIES_PATH, Some(auth_token));
        self.answer(&listing, 200, &one_identity());
        let exchange = self.take_one_sent();
        exchange.expect(Method::Post, ACCESS_TOKEN_PATH, Some(auth_token));
        self.answer(&exchange, 200, &access_ok(access_token, "STANDARD"));
        let events = self.take_events();
        assert_eq!(
            events.last(),
            Some(&Seen::LoggedIn {
                generation: generation + 1
            }),
            "{events:?}"
        );
        assert_eq!(self.state(), SessionState::Active);
    }

    /// Logs in up to the identities: the login sent and answered with
    /// [`AUTH_TOKEN`]; the listing of identities, not answered.
    pub fn listing_sent(&mut self) -> Sent {
        self.login();
        let login = self.take_one_sent();
        self.answer(&login, 200, &login_ok(AUTH_TOKEN));
        self.take_one_sent()
    }

    /// Logs in up to the exchange: the listing answered with one identity;
    /// the exchange for an access token, not answered.
    pub fn exchange_sent(&mut self) -> Sent {
        let listing = self.listing_sent();
        self.answer(&listing, 200, &one_identity());
        self.take_one_sent()
    }

    /// Starts an SMS challenge now and answers it `204`.
    pub fn code_sent(&mut self) {
        self.start_step_up(Channel::Sms)
            .expect("the challenge may start");
        let challenge = self.take_one_sent();
        self.answer(&challenge, 204, "");
        assert_eq!(self.take_events(), [Seen::CodeSent]);
    }

    /// A challenge on `channel` answered with `status` and `body`: the
    /// events that followed.
    pub fn challenge_answered(&mut self, channel: Channel, status: u16, body: &str) -> Vec<Seen> {
        self.start_step_up(channel)
            .expect("the challenge may start");
        let challenge = self.take_one_sent();
        self.answer_with(
            &challenge,
            status,
            &[("request-ref", REQUEST_REF.as_bytes())],
            body,
        );
        self.take_events()
    }

    /// Steps up by SMS with the right code.
    pub fn step_up(&mut self) {
        self.code_sent();
        self.submit_code(OTP).expect("the code may be submitted");
        let verify = self.take_one_sent();
        self.answer(&verify, 204, "");
        assert_eq!(self.take_events(), [Seen::SteppedUp]);
        assert_eq!(self.step_up_state(), StepUpState::SteppedUp);
    }

    /// Fails if anything printed shows one of [`SECRETS`].
    pub fn assert_no_secret_printed(&self) {
        for secret in SECRETS {
            self.assert_never_printed(secret);
        }
    }
}
