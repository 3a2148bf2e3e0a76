//! The access-key JWT API fixtures (`PROVIDERS.md` §3): the seed's key
//! pair, token and error bodies, JWTs with chosen claims, the constructors
//! and login of a [`Harness<AccessKey>`], and the checks its tests share.

use authsession_core::providers::{AccessKey, AccessKeyCredentials};
use authsession_core::{Config, Session, SessionState};

use crate::harness::Harness;
use crate::record::Seen;

// ---- fixtures ----

/// The seed's access key.
pub const ACCESS_KEY: &str = "986d8167a9b9a15e37db4ab4ad50877b01347a94";
/// The seed's secret.
pub const SECRET: &str = "79bPqahzbeYuIgyod1GBjsBy38wN7KuBBNNmN/emwjFCuAfq";

/// The token exactly as the vendor's page prints it. Its payload is not
/// quite JSON: the first key, `uid`, lacks its opening quote. It was
/// issued at [`ISSUED_AT`] and expires an hour later.
pub const SEED_TOKEN: &str = "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyB1aWQiOiI2NWQwZjVjOS03ZmIwLTQ1NWMtOTAzNi05ZTcyZjBhOGQwZjYiLCJhciI6WyJQYXJ0bmVyIiwiUGFydG5lckFkbWluIl0sImFrIjoiNDU3NzFlYTEtYjAxMi00YjgwLThiYTQtNDk4OTFjNWQ4ZDQ3IiwicmVhbG0iOiJQYXJ0bmVyIiwiY2EiOiIwZWE3MDAwMS0wZjU4LTQ0YTItODBhZC05NTM2MzNmZjJjYzciLCJjaWQiOiIyOTI2MzczOS0yY2Y4LTQ4M2QtYWYxNS02MTUxZGM4NDQ4YjQiLCJkb21haW4iOiIvcGFydG5lcnMtaW50IiwiaWF0IjoxNjkxMTUxMjU3LCJleHAiOjE2OTExNTQ4NTd9.wBdfxnNYap0_M-omZUmnor7lB6c3ooVK2AENYtsIcfLzofW5bvkYgQzhaVABtJsU";

/// The seed token's `iat`, in Unix seconds.
pub const ISSUED_AT: u64 = 1_691_151_257;

/// The seed's `400` body: the secret is missing.
pub const MISSING_SECRET: &str = r#"{"statusCode":"Error","error":{"name":"InvalidRequestFormatError","message":"The request body is invalid. See error object `details` property for more info","details":[{"path":"","code":"required","message":"must have required property 'secret'","info":{"missingProperty":"secret"}}]}}"#;

/// The seed's `401` body: the key is refused.
pub const KEY_REFUSED: &str = r#"{"statusCode":"Error","error":{"message":"Service was unable to complete your request.","name":"AuthenticationError","code":"AuthenticationError","details":{"reason":"AccessKeyUnauthorized"}}}"#;

/// The secrets of the fixtures: none of them may ever be printed.
pub const SECRETS: [&str; 3] = [ACCESS_KEY, SECRET, SEED_TOKEN];

/// The seed's key pair.
pub fn credentials() -> AccessKeyCredentials {
    AccessKeyCredentials::new(ACCESS_KEY, SECRET).expect("the fixture credentials are valid")
}

/// base64url without padding, as JWTs write their parts.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A token with the seed's header, `payload` (any text, JSON or not) as
/// its payload, and a dummy signature.
pub fn jwt_of(payload: &str) -> String {
    format!(
        "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.{}.c2lnbmF0dXJl",
        base64url(payload.as_bytes())
    )
}

/// A token issued at the seed's [`ISSUED_AT`] that lives `seconds` by its
/// claims (`exp - iat`), its `uid` told apart by `tag`.
pub fn jwt_living(seconds: u64, tag: u32) -> String {
    jwt_of(&format!(
        r#"{{"uid":"u-{tag}","iat":{ISSUED_AT},"exp":{}}}"#,
        ISSUED_AT + seconds
    ))
}

// ---- the harness ----

impl Harness<AccessKey> {
    /// A logged-out access-key session with the seed's key pair and the
    /// default config, at instant zero.
    pub fn access_key() -> Self {
        Self::access_key_with(Config::default())
    }

    /// The same with `config`.
    pub fn access_key_with(config: Config) -> Self {
        Self::with_session(Session::with_config(AccessKey, credentials(), config))
    }

    /// Logs in now as a call does: a call is refused, one login goes to
    /// `/login`, `201` with `body` answers it, and `LoggedIn` follows.
    /// Takes the outputs.
    pub fn log_in(&mut self, body: &str) {
        let generation = self.session.generation();
        assert!(self.authorize().is_err(), "a call before the login");
        let login = self.take_one_sent();
        assert_eq!(login.path, "/login");
        self.answer(&login, 201, body);
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

    /// The whole `Authorization` header of a call's grant now, which must
    /// be given.
    pub fn bearer(&mut self) -> String {
        self.grant()
            .header("Authorization")
            .expect("the grant has an Authorization header")
    }

    /// Fails if anything printed shows one of [`SECRETS`].
    pub fn assert_no_secret_printed(&self) {
        for secret in SECRETS {
            self.assert_never_printed(secret);
        }
    }
}
