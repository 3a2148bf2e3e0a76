//! What the model needs to know of one API: its facts (timers, logout,
//! step-up), how to recognise the session's requests, and its table of
//! answers: for each abstract [`Answer`] to each request, the response the
//! server sends and what `PROVIDERS.md` says it means. A provider is added
//! to the model tests by one implementation of [`Fixture`].

use core::time::Duration;

use authsession_core::{Channel, Config, Level, Method, Provider, ResponseParts, Session};

use super::input::{Answer, Mangle, Reply, RetryAfter};

/// One of the session's own requests, as the model names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Req {
    /// A login step.
    Login(u8),
    /// Asking for a step-up challenge.
    StartStepUp(Channel),
    /// Sending a one-time code.
    VerifyCode(Channel),
    /// Closing the session.
    Logout,
}

/// How a session is set up for one random sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    /// The session's configuration.
    pub config: Config,
    /// A provider-specific choice (Weavr: whether an identity is
    /// configured; short timers or the API's own).
    pub variant: u8,
}

/// What the session's behaviour depends on besides its config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    /// The API's idle timeout.
    pub idle_timeout: Option<Duration>,
    /// Whether the API has a logout endpoint.
    pub has_logout: bool,
    /// Whether the API knows step-up.
    pub step_up: bool,
    /// The least time between two step-up challenges.
    pub resend_interval: Duration,
    /// Whether the API's payments have their own strong customer
    /// authentication, whose `401`s are not the token's (invariant 12).
    pub payment_sca: bool,
}

/// A response owned by the test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canned {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: Vec<(&'static str, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Canned {
    /// A response without headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Canned {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds `Retry-After` as `retry_after` says, and returns the wait it
    /// asks for (in seconds only: the core has no wall clock for a date).
    pub fn retry_after(&mut self, retry_after: RetryAfter) -> Option<Duration> {
        let (value, wait): (Vec<u8>, _) = match retry_after {
            RetryAfter::Absent => return None,
            RetryAfter::Seconds(n) => (
                n.to_string().into_bytes(),
                Some(Duration::from_secs(u64::from(n))),
            ),
            RetryAfter::HttpDate => (b"Wed, 21 Oct 2015 07:28:00 GMT".to_vec(), None),
            RetryAfter::Garbage => (b"soon\x01".to_vec(), None),
            RetryAfter::Huge => (
                HUGE_RETRY_AFTER.to_string().into_bytes(),
                Some(Duration::from_secs(HUGE_RETRY_AFTER)),
            ),
        };
        self.headers.push(("Retry-After", value));
        wait
    }

    /// The header pairs, borrowed, for [`ResponseParts`].
    pub fn header_pairs(&self) -> Vec<(&str, &[u8])> {
        self.headers
            .iter()
            .map(|(name, value)| (*name, value.as_slice()))
            .collect()
    }

    /// The response as the core reads it, over `pairs` from
    /// [`header_pairs`](Self::header_pairs).
    pub fn parts<'a>(&'a self, pairs: &'a [(&'a str, &'a [u8])]) -> ResponseParts<'a> {
        ResponseParts::new(self.status, &self.body).with_headers(pairs)
    }
}

/// The `Retry-After` of [`RetryAfter::Huge`]: a thousand years.
pub const HUGE_RETRY_AFTER: u64 = 31_536_000_000;

/// What an answer to a login step means (`PROVIDERS.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginMeaning {
    /// The next step.
    Next(u8),
    /// Logged in.
    LoggedIn {
        /// Whether the token is already stepped up.
        stepped_up: bool,
        /// The lifetime its claims state (`exp - iat`), if they do.
        lifetime: Option<Duration>,
        /// The token's end in Unix seconds, when it states no lifetime.
        expires_unix: Option<u64>,
    },
    /// The credentials were refused, or the token given cannot be used:
    /// never retried by itself.
    Rejected,
    /// A passing failure.
    Retry {
        /// The wait the server asked for.
        wait: Option<Duration>,
        /// Whether it was a `429`.
        rate_limited: bool,
    },
}

/// What follows a failed step-up request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// The code may be typed again.
    RetryCode,
    /// A new challenge may be asked for, after the wait.
    NewChallenge(Option<Duration>),
    /// Step-up is over for this token: log in again.
    LogInAgain,
}

/// What an answer to a step-up request means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepUpMeaning {
    /// An SMS code is on its way.
    CodeSent,
    /// A push waits for the user.
    AwaitingApproval,
    /// The token is stepped up.
    SteppedUp,
    /// The server weighed the code and refused it; it may say how many
    /// tries are left. The challenge stands.
    CodeRefused {
        /// Tries left, if the server says.
        tries_left: Option<u32>,
    },
    /// The code expired: a new challenge may be asked for at once.
    CodeExpired,
    /// Refused.
    Failed(Then),
}

/// What an application reply means for the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMeaning {
    /// Nothing.
    Fine,
    /// The token was refused.
    TokenRefused,
    /// The call needs step-up.
    StepUpRequired,
    /// Slow down until the wait is over (the config's wait if `None`).
    RateLimited(Option<Duration>),
    /// The call cannot succeed.
    Fatal,
    /// The call's payment failed its strong customer authentication: the
    /// call's error, never the token's (invariant 12).
    PaymentSca,
}

/// The provider's memory between login steps that its answers depend on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// Weavr: whether the password login named an identity.
    pub login_identity: bool,
    /// Whether the last code submitted was the right one.
    pub right_code: bool,
}

/// An answer to a session request: the response, what it means, the
/// token it hands out (kept by the session only if it means success), and
/// what the provider remembers of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answered {
    /// The response.
    pub response: Canned,
    /// What it means, by the kind of request.
    pub meaning: Meaning,
    /// The token in the body, when the session is to keep it.
    pub token: Option<String>,
    /// The provider's memory after reading it.
    pub memory: Memory,
}

/// What an answer means, by the kind of request it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meaning {
    /// An answer to a login step.
    Login(LoginMeaning),
    /// An answer to a step-up request.
    StepUp(StepUpMeaning),
    /// An answer to the logout: whatever it says, the session is out.
    Logout,
}

/// One API, as the model tests need to know it.
pub trait Fixture: 'static {
    /// The provider under test.
    type P: Provider;

    /// The name in failure messages.
    const NAME: &'static str;

    /// How many setup variants there are.
    const VARIANTS: u8;

    /// A session for `setup`, logged out, with the first credentials.
    fn session(setup: &Setup) -> Session<Self::P>;

    /// The facts of the provider of `setup`.
    fn facts(setup: &Setup) -> Facts;

    /// The first (`false`) or the second (`true`) set of credentials.
    fn credentials(second: bool) -> <Self::P as Provider>::Credentials;

    /// Every secret the credentials hold, as text.
    fn secrets() -> Vec<String>;

    /// The headers that carry a token, with the prefix before it.
    fn token_headers() -> &'static [(&'static str, &'static str)];

    /// Which request a transmit is.
    fn request_of(method: Method, path: &str) -> Option<Req>;

    /// The server's answer to `request` for `answer`. `token` is a fresh
    /// token to hand out if the answer hands out one.
    fn answer(
        setup: &Setup,
        request: Req,
        answer: Answer,
        memory: Memory,
        token_number: u64,
    ) -> Answered;

    /// The server's reply to an application call at `level`, and what it
    /// means.
    fn reply(level: Level, reply: Reply) -> (Canned, ReplyMeaning);
}

// ---- shared table pieces ----

/// The statuses of [`Answer::Refused`].
pub const REFUSALS: [u16; 9] = [400, 401, 403, 404, 409, 422, 423, 302, 418];

/// The statuses of [`Answer::ServerError`].
pub const SERVER_ERRORS: [u16; 5] = [500, 502, 503, 504, 599];

/// Picks `items[n % len]`.
pub fn pick<T: Copy>(items: &[T], n: u8) -> T {
    items[usize::from(n) % items.len()]
}

/// A token that is fine everywhere but where a JWT is required.
pub const NOT_A_JWT: &str = "0123456789abcdef0123456789abcdef";

/// A JSON body for a broken success, around `good` (the right body) and
/// `field`, the name of the token field (`None` for a bare token). For
/// [`Mangle::Overflow`], a token longer than any token buffer; a provider
/// whose other fields overflow first gives its own.
pub fn mangled_body(mangle: Mangle, good: &str, field: Option<&str>) -> Canned {
    let token_body = |raw: &str| match field {
        Some(field) => format!(r#"{{"{field}":"{raw}"}}"#),
        None => raw.to_owned(),
    };
    match mangle {
        Mangle::Empty => Canned::new(200, ""),
        Mangle::NotJson => Canned::new(200, "<html>502 Bad Gateway</html>"),
        Mangle::Truncated => Canned::new(200, &good[..good.len() / 2]),
        Mangle::WrongType => Canned::new(
            200,
            match field {
                Some(field) => format!(r#"{{"{field}":12345}}"#),
                None => "12345".to_owned(),
            },
        ),
        Mangle::ControlInToken => Canned::new(
            200,
            match field {
                Some(_) => token_body(r"abcdefghijklmnopqrstuvwxyz\u0007ABCDEFGH"),
                None => "eyJhbGciOiJub25lIn0.e30.sig\u{7}nature".to_owned(),
            },
        ),
        Mangle::SpaceInToken => Canned::new(200, token_body("abcdefgh ijklmnop.qrst.uvwx")),
        Mangle::NonAsciiToken => Canned::new(200, token_body("abcdéfgh.ijklmnop.qrstuvwx")),
        Mangle::LongToken => Canned::new(200, token_body(&"A".repeat(5000))),
        Mangle::Deep => Canned::new(200, format!("{}{}", "[".repeat(100), "]".repeat(100))),
        Mangle::NoContent => Canned::new(204, ""),
        Mangle::EmptyToken => Canned::new(
            200,
            match field {
                Some(_) => token_body(""),
                None => " \r\n ".to_owned(),
            },
        ),
        Mangle::CrLfInToken => Canned::new(
            200,
            token_body("eyJhbGciOiJub25lIn0.e30.sig\r\nX-Injected: 1"),
        ),
        Mangle::EscapedToken => Canned::new(200, token_body(r"eyJhbGciOiJub25lIn0.e30.sig\/x")),
        Mangle::NotJwt => Canned::new(200, token_body(NOT_A_JWT)),
        Mangle::Overflow => Canned::new(200, token_body(&"a".repeat(2049))),
    }
}

/// What a broken success to a login step means, when its body names the
/// token in a JSON field: a token that cannot be used ends the login like
/// a refusal (it would come again on every retry: invariant 10); a body
/// that cannot be read at all may be a proxy's passing fault.
/// [`Mangle::NotJwt`] is no broken body where no JWT is required: a
/// provider answers it as a success and never asks.
pub fn mangled_login(mangle: Mangle) -> LoginMeaning {
    match mangle {
        Mangle::ControlInToken
        | Mangle::SpaceInToken
        | Mangle::NonAsciiToken
        | Mangle::LongToken
        | Mangle::EmptyToken
        | Mangle::CrLfInToken
        | Mangle::EscapedToken
        | Mangle::Overflow => LoginMeaning::Rejected,
        Mangle::Empty
        | Mangle::NotJson
        | Mangle::Truncated
        | Mangle::WrongType
        | Mangle::Deep
        | Mangle::NoContent => LoginMeaning::Retry {
            wait: None,
            rate_limited: false,
        },
        Mangle::NotJwt => panic!("a token that is not a JWT is a success here"),
    }
}

/// What an answer that is not a success means for a login: a `429` or
/// `5xx` passes, anything else refuses the credentials.
pub fn login_failure(answer: Answer, error_body: &str) -> (Canned, LoginMeaning) {
    match answer {
        Answer::TooMany(retry_after) => {
            let mut response = Canned::new(429, error_body);
            let wait = response.retry_after(retry_after);
            (
                response,
                LoginMeaning::Retry {
                    wait,
                    rate_limited: true,
                },
            )
        }
        Answer::ServerError(n, retry_after) => {
            let mut response = Canned::new(pick(&SERVER_ERRORS, n), error_body);
            let wait = response.retry_after(retry_after);
            (
                response,
                LoginMeaning::Retry {
                    wait,
                    rate_limited: false,
                },
            )
        }
        Answer::Refused(n) => (
            Canned::new(pick(&REFUSALS, n), error_body),
            LoginMeaning::Rejected,
        ),
        Answer::StepUpError(_) => (
            Canned::new(409, r#"{"errorCode":"STATE_INVALID"}"#),
            LoginMeaning::Rejected,
        ),
        Answer::Success(_) | Answer::Mangled(_) => (
            Canned::new(500, error_body),
            LoginMeaning::Retry {
                wait: None,
                rate_limited: false,
            },
        ),
    }
}

/// The common part of an application reply's table: `401` refuses the
/// token (or is fatal on a call that carried none), `429` slows down,
/// everything else is the call's own business.
pub fn common_reply(level: Level, reply: Reply, unauthorized_body: &str) -> (Canned, ReplyMeaning) {
    match reply {
        Reply::Ok => (Canned::new(200, r#"{"ok":true}"#), ReplyMeaning::Fine),
        Reply::Unauthorized => (
            Canned::new(401, unauthorized_body),
            if level == Level::Account {
                ReplyMeaning::Fatal
            } else {
                ReplyMeaning::TokenRefused
            },
        ),
        Reply::TooMany(retry_after) => {
            let mut response = Canned::new(429, "{}");
            let wait = response.retry_after(retry_after);
            (response, ReplyMeaning::RateLimited(wait))
        }
        Reply::ServerError(n) => (Canned::new(pick(&SERVER_ERRORS, n), ""), ReplyMeaning::Fine),
        Reply::Mangled(mangle) => {
            let mut response = mangled_body(mangle, r#"{"errorCode":"STEP_UP_REQUIRED"}"#, None);
            response.status = 403;
            (response, ReplyMeaning::Fine)
        }
        Reply::NotFound => (Canned::new(404, "{}"), ReplyMeaning::Fine),
        Reply::StepUpRequired(_) | Reply::Forbidden => (
            Canned::new(403, r#"{"errorCode":"STEP_UP_REQUIRED"}"#),
            ReplyMeaning::Fine,
        ),
        // An API without payment SCA reads it as any other 401.
        Reply::PaymentSca(n) => common_reply(level, Reply::Unauthorized, pick(&PAYMENT_SCA, n)),
    }
}

/// Currencycloud's `401`s about a payment's strong customer authentication
/// (`PROVIDERS.md` §1, "SCA errors"): the code as `error_code`, as an
/// entry's `code`, or as the field an entry is about.
pub const PAYMENT_SCA: [&str; 4] = [
    r#"{"error_code":"sca_check_failed","error_messages":{"x-sca-id":[{"code":"sca_required","message":"SCA required","params":{}}]}}"#,
    r#"{"error_code":"sca_required","error_messages":{}}"#,
    r#"{"error_code":"sca_check_failed","error_messages":{"x-sca-token":[{"code":"x-sca-token","message":"x-sca-token has expired","params":{}}]}}"#,
    r#"{"error_code":"unauthorized","error_messages":{"x-sca-token":[{"code":"sca_check_failed","message":"Too many attempts","params":{}}]}}"#,
];
