//! The tables of the three APIs (`PROVIDERS.md` §1 to §3) as the model
//! tests use them: one [`Fixture`] each.

use core::fmt::Write as _;
use core::time::Duration;

use authsession_core::providers::access_key::{AccessKey, AccessKeyCredentials};
use authsession_core::providers::weavr::IdentityType;
use authsession_core::providers::{
    Currencycloud, CurrencycloudCredentials, Weavr, WeavrCredentials,
};
use authsession_core::{Channel, Level, Method, Session};

use super::fixture::{
    Answered, Canned, Facts, Fixture, LoginMeaning, Meaning, Memory, PAYMENT_SCA, ReplyMeaning,
    Req, Setup, StepUpMeaning, Then, common_reply, login_failure, mangled_body, mangled_login,
    pick,
};
use super::input::{Answer, Mangle, Reply};

/// A token nobody else would print: `prefix`, then `number` in hex.
fn fresh(prefix: &str, number: u64) -> String {
    format!("{prefix}{number:012x}")
}

fn retry_without_wait() -> LoginMeaning {
    LoginMeaning::Retry {
        wait: None,
        rate_limited: false,
    }
}

/// A token that is not a JWT is no broken answer where none is required:
/// the API's plain success.
fn no_jwt_required(answer: Answer) -> Answer {
    match answer {
        Answer::Mangled(Mangle::NotJwt) => Answer::Success(0),
        other => other,
    }
}

// ---- Currencycloud ----

/// Currencycloud (`PROVIDERS.md` §1).
#[derive(Debug)]
pub struct CurrencycloudFixture;

const CC_AUTH_FAILED: &str = r#"{"error_code":"auth_failed","error_messages":{"username":[{"code":"invalid_supplied_credentials","message":"Authentication failed with the supplied credentials","params":{}}]}}"#;

impl Fixture for CurrencycloudFixture {
    type P = Currencycloud;
    const NAME: &'static str = "Currencycloud";
    const VARIANTS: u8 = 2;

    fn session(setup: &Setup) -> Session<Currencycloud> {
        let provider = match setup.variant % Self::VARIANTS {
            0 => Currencycloud::default(),
            _ => Currencycloud::with_idle_timeout(Duration::from_secs(90)),
        };
        Session::with_config(provider, Self::credentials(false), setup.config)
    }

    fn facts(setup: &Setup) -> Facts {
        Facts {
            idle_timeout: Some(match setup.variant % Self::VARIANTS {
                0 => Currencycloud::IDLE_TIMEOUT,
                _ => Duration::from_secs(90),
            }),
            has_logout: true,
            step_up: false,
            resend_interval: Duration::ZERO,
            payment_sca: true,
        }
    }

    fn credentials(second: bool) -> CurrencycloudCredentials {
        let (login_id, api_key) = CC_CREDENTIALS[usize::from(second)];
        CurrencycloudCredentials::new(login_id, api_key).expect("valid fixture credentials")
    }

    fn secrets() -> Vec<String> {
        CC_CREDENTIALS
            .iter()
            .flat_map(|(id, key)| [(*id).to_owned(), (*key).to_owned()])
            .collect()
    }

    fn token_headers() -> &'static [(&'static str, &'static str)] {
        &[("X-Auth-Token", "")]
    }

    fn request_of(method: Method, path: &str) -> Option<Req> {
        match (method, path) {
            (Method::Post, "/v2/authenticate/api") => Some(Req::Login(0)),
            (Method::Post, "/v2/authenticate/close_session") => Some(Req::Logout),
            _ => None,
        }
    }

    fn answer(_: &Setup, request: Req, answer: Answer, memory: Memory, number: u64) -> Answered {
        if request == Req::Logout {
            return logout_answer(answer, memory, Canned::new(200, "{}"));
        }
        let token = fresh("cc0ffee0", number);
        let good = format!(r#"{{"auth_token":"{token}"}}"#);
        let (response, meaning, token) = match no_jwt_required(answer) {
            Answer::Success(_) => (
                Canned::new(200, good),
                LoginMeaning::LoggedIn {
                    stepped_up: false,
                    lifetime: None,
                    expires_unix: None,
                },
                Some(token),
            ),
            Answer::Mangled(mangle) => (
                mangled_body(mangle, &good, Some("auth_token")),
                mangled_login(mangle),
                None,
            ),
            other => {
                let (response, meaning) = login_failure(other, CC_AUTH_FAILED);
                (response, meaning, None)
            }
        };
        Answered {
            response,
            meaning: Meaning::Login(meaning),
            token,
            memory,
        }
    }

    fn reply(level: Level, reply: Reply) -> (Canned, ReplyMeaning) {
        match reply {
            Reply::PaymentSca(n) => (
                Canned::new(401, pick(&PAYMENT_SCA, n)),
                ReplyMeaning::PaymentSca,
            ),
            other => common_reply(level, other, CC_AUTH_FAILED),
        }
    }
}

const CC_CREDENTIALS: [(&str, &str); 2] = [
    (
        "development@example.com",
        "1f6a3e944f8c4ebdc6658d6fc1103f12ebbc33f5ed05ca3549fdbc3883556544",
    ),
    (
        "second.login@example.org",
        "9e8d7c6b5a49382716051f2e3d4c5b6a79880706f5e4d3c2b1a0ffeeddccbbaa",
    ),
];

/// Any answer to a logout ends the session; a success is the API's own.
fn logout_answer(answer: Answer, memory: Memory, success: Canned) -> Answered {
    let response = match answer {
        Answer::Success(_) => success,
        Answer::Mangled(mangle) => mangled_body(mangle, "{}", None),
        other => login_failure(other, "{}").0,
    };
    Answered {
        response,
        meaning: Meaning::Logout,
        token: None,
        memory,
    }
}

// ---- Weavr ----

/// Weavr Multi (`PROVIDERS.md` §2). Variants: bit 0, an identity is
/// configured (no identity list); bit 1, short timers.
#[derive(Debug)]
pub struct WeavrFixture;

const WEAVR_CREDENTIALS: [(&str, &str, &str); 2] = [
    (
        "Wv4yT0sQm8Lx2Nc6Rk9BzA==",
        "ada.lovelace@example.com",
        "Pa55-word!first",
    ),
    (
        "Qz1xK7pLm3Nb8Vc2Hd5FgS==",
        "grace.hopper@example.org",
        "S3cond-pa55phrase",
    ),
];
const SHORT_IDLE: Duration = Duration::from_secs(90);
const SHORT_RESEND: Duration = Duration::from_secs(2);
const IDENTITY: &str = r#"{"type":"CORPORATE","id":"110138374263767072"}"#;

impl WeavrFixture {
    fn configured(setup: &Setup) -> bool {
        setup.variant & 1 == 1
    }

    fn short(setup: &Setup) -> bool {
        setup.variant & 2 == 2
    }

    fn login_answer(
        setup: &Setup,
        step: u8,
        answer: Answer,
        mut memory: Memory,
        number: u64,
    ) -> Answered {
        let auth = fresh("eyJ0eXAiOiJBVVRIIn0.YXV0a", number);
        let access = fresh("eyJ0eXAiOiJKV1QifQ.YWNjZ", number);
        let (good, field) = match step {
            0 => (
                format!(r#"{{"token":"{auth}","tokenType":"AUTH"}}"#),
                Some("token"),
            ),
            1 => (
                format!(r#"{{"identities":[{{"id":{IDENTITY},"name":"A"}}],"count":1}}"#),
                None,
            ),
            _ => (
                format!(r#"{{"token":"{access}","status":"STANDARD"}}"#),
                Some("token"),
            ),
        };
        let (response, meaning, token) = match (no_jwt_required(answer), step) {
            (Answer::Success(flavour), 0) => {
                let with_identity = flavour % 2 == 0;
                let body = if with_identity {
                    format!(
                        r#"{{"token":"{auth}","tokenType":"AUTH","identity":{IDENTITY},"credentials":{{"type":"ROOT","id":"7"}}}}"#
                    )
                } else {
                    good
                };
                let next = if Self::configured(setup) { 2 } else { 1 };
                if !Self::configured(setup) {
                    memory.login_identity = with_identity;
                }
                (Canned::new(200, body), LoginMeaning::Next(next), Some(auth))
            }
            (Answer::Success(flavour), 1) => {
                // Mostly the one identity of a plain user; sometimes two
                // (a root user of several), sometimes none listed.
                let (body, meaning) = match flavour % 8 {
                    0..=5 => (good, LoginMeaning::Next(2)),
                    6 => (
                        format!(
                            r#"{{"identities":[{{"id":{IDENTITY},"name":"A"}},{{"id":{{"type":"CONSUMER","id":"9"}},"name":"B"}}],"count":2}}"#
                        ),
                        LoginMeaning::Rejected,
                    ),
                    _ => (
                        r#"{"identities":[],"count":0}"#.to_owned(),
                        if memory.login_identity {
                            LoginMeaning::Next(2)
                        } else {
                            LoginMeaning::Rejected
                        },
                    ),
                };
                (Canned::new(200, body), meaning, None)
            }
            (Answer::Success(flavour), _) => {
                let stepped_up = flavour % 4 == 3;
                let status = if stepped_up { "STEPPED_UP" } else { "STANDARD" };
                (
                    Canned::new(
                        200,
                        format!(
                            r#"{{"token":"{access}","identity":{IDENTITY},"status":"{status}"}}"#
                        ),
                    ),
                    LoginMeaning::LoggedIn {
                        stepped_up,
                        lifetime: None,
                        expires_unix: None,
                    },
                    Some(access),
                )
            }
            // An identity's id longer than its buffer: the list would come
            // again on every retry.
            (Answer::Mangled(Mangle::Overflow), 1) => {
                (overflowing_identities(), LoginMeaning::Rejected, None)
            }
            // The identity list has no token: a body that is no list may
            // be a passing fault.
            (Answer::Mangled(mangle), 1) => (
                mangled_body(mangle, &good, field),
                retry_without_wait(),
                None,
            ),
            (Answer::Mangled(mangle), _) => (
                mangled_body(mangle, &good, field),
                mangled_login(mangle),
                None,
            ),
            (other, _) => {
                let (response, meaning) = login_failure(other, r#"{"message":"Forbidden"}"#);
                (response, meaning, None)
            }
        };
        Answered {
            response,
            meaning: Meaning::Login(meaning),
            token,
            memory,
        }
    }

    fn step_up_answer(
        request: Req,
        answer: Answer,
        memory: Memory,
        resend_interval: Duration,
    ) -> Answered {
        let verifying = matches!(request, Req::VerifyCode(_));
        let push = matches!(request, Req::StartStepUp(channel) if channel.is_push());
        let success = if verifying {
            StepUpMeaning::SteppedUp
        } else if push {
            StepUpMeaning::AwaitingApproval
        } else {
            StepUpMeaning::CodeSent
        };
        let (response, meaning) = match answer {
            Answer::Success(_) if verifying && !memory.right_code => (
                Canned::new(409, r#"{"errorCode":"VERIFICATION_CODE_INVALID"}"#),
                StepUpMeaning::CodeRefused { tries_left: None },
            ),
            Answer::Success(_) if push => (Canned::new(200, r#"{"id":"c-1"}"#), success),
            Answer::Success(_) => (Canned::new(204, ""), success),
            // The status says it all: a 200 is a success whatever its body.
            Answer::Mangled(mangle) => {
                let response = mangled_body(mangle, "{}", Some("id"));
                let meaning = if matches!(response.status, 200 | 204) {
                    success
                } else {
                    StepUpMeaning::Failed(Then::NewChallenge(None))
                };
                (response, meaning)
            }
            Answer::Refused(n) => {
                let status = pick(&super::fixture::REFUSALS, n);
                let then = match status {
                    400 | 401 => Then::LogInAgain,
                    _ => Then::NewChallenge(None),
                };
                (
                    Canned::new(status, r#"{"message":"Refused"}"#),
                    StepUpMeaning::Failed(then),
                )
            }
            Answer::TooMany(retry_after) => {
                let mut response = Canned::new(429, "");
                response.retry_after(retry_after);
                (response, StepUpMeaning::Failed(Then::NewChallenge(None)))
            }
            Answer::ServerError(n, retry_after) => {
                let mut response = Canned::new(pick(&super::fixture::SERVER_ERRORS, n), "");
                response.retry_after(retry_after);
                (response, StepUpMeaning::Failed(Then::NewChallenge(None)))
            }
            Answer::StepUpError(n) => {
                let (status, code) = pick(&STEP_UP_ERRORS, n);
                (
                    Canned::new(status, format!(r#"{{"errorCode":"{code}"}}"#)),
                    step_up_error(code, resend_interval),
                )
            }
        };
        Answered {
            response,
            meaning: Meaning::StepUp(meaning),
            token: None,
            memory,
        }
    }
}

/// An identity list whose one identity has an id longer than its buffer.
fn overflowing_identities() -> Canned {
    Canned::new(
        200,
        format!(
            r#"{{"identities":[{{"id":{{"type":"CORPORATE","id":"{}"}},"name":"A"}}],"count":1}}"#,
            "7".repeat(300)
        ),
    )
}

/// Weavr's step-up refusals (`PROVIDERS.md` §2).
const STEP_UP_ERRORS: [(u16, &str); 10] = [
    (409, "RETRY_IN_15SEC"),
    (409, "CHALLENGE_LIMIT_EXCEEDED"),
    (409, "VERIFICATION_CODE_INVALID"),
    (409, "VERIFICATION_CODE_EXPIRED"),
    (409, "ONE_CHALLENGE_LIMIT_REMAINING"),
    (409, "STATE_INVALID"),
    (409, "ALREADY_VERIFIED"),
    (409, "CHANNEL_NOT_REGISTERED"),
    (409, "CHANNEL_NOT_SUPPORTED"),
    (400, "INVALID_REQUEST"),
];

/// What follows a step-up refusal with `code`: a wrong code keeps the
/// challenge (the second wrong one says a single try is left); a spent
/// budget needs a new login; the rest a new challenge, after the resend
/// interval (15 s, or a sandbox's) for `RETRY_IN_15SEC`.
fn step_up_error(code: &str, resend_interval: Duration) -> StepUpMeaning {
    match code {
        "VERIFICATION_CODE_INVALID" => StepUpMeaning::CodeRefused { tries_left: None },
        "ONE_CHALLENGE_LIMIT_REMAINING" => StepUpMeaning::CodeRefused {
            tries_left: Some(1),
        },
        "VERIFICATION_CODE_EXPIRED" => StepUpMeaning::CodeExpired,
        "RETRY_IN_15SEC" => StepUpMeaning::Failed(Then::NewChallenge(Some(resend_interval))),
        "CHALLENGE_LIMIT_EXCEEDED" | "INVALID_REQUEST" => StepUpMeaning::Failed(Then::LogInAgain),
        _ => StepUpMeaning::Failed(Then::NewChallenge(None)),
    }
}

impl Fixture for WeavrFixture {
    type P = Weavr;
    const NAME: &'static str = "Weavr";
    const VARIANTS: u8 = 4;

    fn session(setup: &Setup) -> Session<Weavr> {
        let mut provider = Weavr::default();
        if Self::configured(setup) {
            provider = provider
                .with_identity(IdentityType::Corporate, "110138374263767072")
                .expect("a short identity id");
        }
        if Self::short(setup) {
            provider = provider.with_timers(SHORT_IDLE, SHORT_RESEND);
        }
        Session::with_config(provider, Self::credentials(false), setup.config)
    }

    fn facts(setup: &Setup) -> Facts {
        let (idle, resend) = if Self::short(setup) {
            (SHORT_IDLE, SHORT_RESEND)
        } else {
            (Weavr::IDLE_TIMEOUT, Weavr::RESEND_INTERVAL)
        };
        Facts {
            idle_timeout: Some(idle),
            has_logout: true,
            step_up: true,
            resend_interval: resend,
            payment_sca: false,
        }
    }

    fn credentials(second: bool) -> WeavrCredentials {
        let (key, email, password) = WEAVR_CREDENTIALS[usize::from(second)];
        WeavrCredentials::new(key, email, password).expect("valid fixture credentials")
    }

    fn secrets() -> Vec<String> {
        WEAVR_CREDENTIALS
            .iter()
            .flat_map(|(key, email, password)| [*key, *email, *password].map(str::to_owned))
            .collect()
    }

    fn token_headers() -> &'static [(&'static str, &'static str)] {
        &[("Authorization", "Bearer ")]
    }

    fn request_of(method: Method, path: &str) -> Option<Req> {
        Some(match (method, path) {
            (Method::Post, "/login_with_password") => Req::Login(0),
            (Method::Get, "/identities") => Req::Login(1),
            (Method::Post, "/access_token") => Req::Login(2),
            (Method::Post, "/stepup/challenges/otp/SMS") => Req::StartStepUp(Channel::Sms),
            (Method::Post, "/stepup/challenges/push/AUTHY") => Req::StartStepUp(Channel::Authy),
            (Method::Post, "/stepup/challenges/push/BIOMETRIC") => {
                Req::StartStepUp(Channel::Biometric)
            }
            (Method::Post, "/stepup/challenges/otp/SMS/verify") => Req::VerifyCode(Channel::Sms),
            (Method::Post, "/logout") => Req::Logout,
            _ => return None,
        })
    }

    fn answer(
        setup: &Setup,
        request: Req,
        answer: Answer,
        memory: Memory,
        number: u64,
    ) -> Answered {
        match request {
            Req::Login(step) => Self::login_answer(setup, step, answer, memory, number),
            Req::StartStepUp(_) | Req::VerifyCode(_) => {
                Self::step_up_answer(request, answer, memory, Self::facts(setup).resend_interval)
            }
            Req::Logout => logout_answer(answer, memory, Canned::new(204, "")),
        }
    }

    fn reply(level: Level, reply: Reply) -> (Canned, ReplyMeaning) {
        match reply {
            Reply::StepUpRequired(in_message) => {
                let body = if in_message {
                    r#"{"message":"STEP_UP_REQUIRED"}"#
                } else {
                    r#"{"errorCode":"STEP_UP_REQUIRED"}"#
                };
                (Canned::new(403, body), ReplyMeaning::StepUpRequired)
            }
            Reply::Forbidden => (
                Canned::new(403, r#"{"errorCode":"INSUFFICIENT_PERMISSIONS"}"#),
                ReplyMeaning::Fine,
            ),
            other => common_reply(level, other, ""),
        }
    }
}

// ---- the access-key JWT API ----

/// The access-key JWT API (`PROVIDERS.md` §3): a bare JWT whose
/// `exp - iat` plans the next login.
#[derive(Debug)]
pub struct AccessKeyFixture;

const ACCESS_KEY_CREDENTIALS: [(&str, &str); 2] = [
    (
        "986d8167a9b9a15e37db4ab4ad50877b01347a94",
        "79bPqahzbeYuIgyod1GBjsBy38wN7KuBBNNmN/emwjFCuAfq",
    ),
    (
        "45771ea1b0124b808ba449891c5d8d47aa00bb11",
        "Zx9Lq2Wv8Rt5Yu1Io3Pa7Sd4Fg6Hj0KlMnBvCxZaQwErTy",
    ),
];

/// The `iat` of the JWTs handed out, in Unix seconds.
pub const JWT_ISSUED_AT: u64 = 1_691_151_257;

/// base64url without padding, for the JWTs the fixture hands out.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A JWT with these claims (`None` leaves a claim out).
pub fn jwt(number: u64, iat: Option<u64>, exp: Option<u64>) -> String {
    let mut claims = format!(r#"{{"uid":"u-{number}","ar":["Partner"],"realm":"Partner""#);
    if let Some(iat) = iat {
        let _ = write!(claims, r#","iat":{iat}"#);
    }
    if let Some(exp) = exp {
        let _ = write!(claims, r#","exp":{exp}"#);
    }
    claims.push('}');
    format!(
        "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.{}.{}",
        base64url(claims.as_bytes()),
        base64url(format!("signature-{number:012x}").as_bytes())
    )
}

/// A JWT whose claims are longer than the buffer they are decoded into.
fn huge_jwt(number: u64) -> String {
    let claims = format!(
        r#"{{"uid":"u-{number}","pad":"{}","iat":{JWT_ISSUED_AT},"exp":{}}}"#,
        "x".repeat(1600),
        JWT_ISSUED_AT + 3600
    );
    format!(
        "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.{}.c2ln",
        base64url(claims.as_bytes())
    )
}

impl Fixture for AccessKeyFixture {
    type P = AccessKey;
    const NAME: &'static str = "access-key API";
    const VARIANTS: u8 = 1;

    fn session(setup: &Setup) -> Session<AccessKey> {
        Session::with_config(AccessKey, Self::credentials(false), setup.config)
    }

    fn facts(_: &Setup) -> Facts {
        Facts {
            idle_timeout: None,
            has_logout: false,
            step_up: false,
            resend_interval: Duration::ZERO,
            payment_sca: false,
        }
    }

    fn credentials(second: bool) -> AccessKeyCredentials {
        let (key, secret) = ACCESS_KEY_CREDENTIALS[usize::from(second)];
        AccessKeyCredentials::new(key, secret).expect("valid fixture credentials")
    }

    fn secrets() -> Vec<String> {
        ACCESS_KEY_CREDENTIALS
            .iter()
            .flat_map(|(key, secret)| [(*key).to_owned(), (*secret).to_owned()])
            .collect()
    }

    fn token_headers() -> &'static [(&'static str, &'static str)] {
        &[("Authorization", "Bearer ")]
    }

    fn request_of(method: Method, path: &str) -> Option<Req> {
        (method == Method::Post && path == "/login").then_some(Req::Login(0))
    }

    fn answer(_: &Setup, request: Req, answer: Answer, memory: Memory, number: u64) -> Answered {
        let iat = JWT_ISSUED_AT;
        let good = jwt(number, Some(iat), Some(iat + 3600));
        let (response, meaning, token) = match (request, answer) {
            (Req::Login(_), Answer::Success(flavour)) => {
                // (iat, exp) and the lifetime they state.
                // Lifetimes of a second or less lapse on arrival
                // (invariant 10).
                let (claims, lifetime, expires_unix) = match flavour % 9 {
                    0 => ((Some(iat), Some(iat + 3600)), Some(3600), None),
                    1 => ((Some(iat), Some(iat + 60)), Some(60), None),
                    2 => ((Some(iat), Some(iat + 5)), Some(5), None),
                    3 => ((Some(iat), Some(iat)), Some(0), None),
                    4 => ((None, Some(iat + 600)), None, Some(iat + 600)),
                    5 => ((None, None), None, None),
                    6 => ((Some(iat + 100), Some(iat)), None, None),
                    7 => ((Some(iat), Some(iat + 1)), Some(1), None),
                    _ => ((Some(iat), Some(iat + 2)), Some(2), None),
                };
                let token = jwt(number, claims.0, claims.1);
                (
                    Canned::new(201, token.clone()),
                    LoginMeaning::LoggedIn {
                        stepped_up: false,
                        lifetime: lifetime.map(Duration::from_secs),
                        expires_unix,
                    },
                    Some(token),
                )
            }
            // Anything but a JWT is no token of this API, and would come
            // again on every retry: the login ends (invariant 10). So does
            // a JWT whose claims overflow their buffer.
            (Req::Login(_), Answer::Mangled(mangle)) => {
                let mut response = match mangle {
                    Mangle::Overflow => Canned::new(201, huge_jwt(number)),
                    _ => mangled_body(mangle, &good, None),
                };
                if response.status == 200 {
                    response.status = 201;
                }
                (response, LoginMeaning::Rejected, None)
            }
            (Req::Login(_), other) => {
                let body = r#"{"statusCode":"Error","error":{"message":"Service was unable to complete your request.","name":"AuthenticationError","code":"AuthenticationError","details":{"reason":"AccessKeyUnauthorized"}}}"#;
                let (response, meaning) = login_failure(other, body);
                (response, meaning, None)
            }
            // The session never sends anything else to this API.
            _ => (Canned::new(404, ""), retry_without_wait(), None),
        };
        Answered {
            response,
            meaning: Meaning::Login(meaning),
            token,
            memory,
        }
    }

    fn reply(level: Level, reply: Reply) -> (Canned, ReplyMeaning) {
        common_reply(level, reply, "")
    }
}
