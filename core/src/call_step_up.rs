//! Call step-up: strong customer authentication bound to one call's own
//! data (PSD2's dynamic linking), as Currencycloud's payments do it. The
//! call's data is validated first, which sends the user a one-time code for
//! that data; the call then goes with the challenge's id and the code, and
//! spends the challenge.
//!
//! A [`CallStepUp`] is one call's challenge, sans I/O like the session: it
//! gives the headers of the validate request and of the call, and reads
//! their answers. The session stays out of it except for the token: both
//! requests are application calls, authorized by
//! [`Session::authorize`](crate::Session::authorize) and judged by
//! [`Session::handle_reply`](crate::Session::handle_reply) (a `401` about
//! the payment never expires the token; one about the token is replayed
//! after one login, with the same challenge and the same code).
//!
//! The code goes into the call's headers only; a [`CallStepUp`] keeps the
//! fingerprints of the codes the server refused for its challenge and
//! sends none of them again (invariant 11).
//!
//! ```
//! use authsession_core::providers::currencycloud::{Currencycloud, PaymentSca};
//! use authsession_core::{CallAnswer, Provider, ResponseParts, Validated};
//!
//! let provider = Currencycloud::default().with_payment_sca(PaymentSca::default());
//! let mut challenge = provider.call_step_up("POST", "/v2/payments/create").unwrap();
//! assert_eq!(challenge.validate_path(), "/v2/payments/validate");
//! let validate_headers = challenge.validate_headers();
//! assert_eq!(validate_headers.get("x-sca-opt-in").unwrap().parts(), ["", "true"]);
//!
//! // The validate's answer: a code is on its way by SMS.
//! let validated = ResponseParts::new(200, br#"{"validation_result":"success"}"#).with_headers(&[
//!     ("x-sca-id", b"2c3b1a7e-77a4-4a44-9d5e-1f9b3a1c0d2e"),
//!     ("x-sca-type", b"SMS"),
//!     ("x-sca-required", b"true"),
//! ]);
//! let Validated::CodeSent(prompt) = challenge.read_validation(&validated)? else { panic!() };
//! assert_eq!(prompt.tries_left, Some(5));
//!
//! // The call with the user's code; the server refuses it.
//! let call_headers = challenge.call_headers(Some("111111")).unwrap();
//! assert!(call_headers.get("x-sca-token").unwrap().is_sensitive());
//! let refused = ResponseParts::new(401, br#"{"error_code":"sca_check_failed",
//!     "error_messages":{"x-sca-token":[{"code":"x-sca-token","message":"x-sca-token is invalid"}]}}"#);
//! let CallAnswer::CodeRefused(prompt) = challenge.read_answer(&refused) else { panic!() };
//! assert_eq!(prompt.tries_left, Some(4));
//! // The same code is never sent again to this challenge.
//! assert!(challenge.call_headers(Some("111111")).is_err());
//! # Ok::<(), authsession_core::Error>(())
//! ```

use core::fmt;

use crate::challenge::{Challenges, CodePrompt, PromptReason};
use crate::error::{ApiError, Error, ErrorKind, PaymentScaError};
use crate::json::Text;
use crate::provider::{Channel, is_header_safe};
use crate::response::{Response, is_success};
use crate::session::StepUpRefused;
use crate::transmit::{HeaderValue, Headers};

/// The header that asks for SCA on validate and marks the call as using it.
pub const OPT_IN_HEADER: &str = "x-sca-opt-in";
/// The header that sends the code to the authenticated user rather than
/// to the account's contact.
pub const TO_AUTHENTICATED_USER_HEADER: &str = "x-sca-to-authenticated-user";
/// The challenge's id, from validate to the call.
pub const ID_HEADER: &str = "x-sca-id";
/// How the code is sent: `SMS`, or `NONE` when no code is needed.
pub const TYPE_HEADER: &str = "x-sca-type";
/// Whether the call needs a code: `true` or `false`.
pub const REQUIRED_HEADER: &str = "x-sca-required";
/// The one-time code, on the call.
pub const CODE_HEADER: &str = "x-sca-token";
/// Wrong codes a challenge takes before it is over (Currencycloud: five).
pub const WRONG_CODES_ALLOWED: u32 = 5;

/// How an error answer is read: the API's error, its kind
/// [`ErrorKind::PaymentSca`] when it speaks of the challenge.
pub type ReadError = fn(&dyn Response) -> Error;

/// One call's challenge: see the [module](self) documentation.
#[derive(Clone)]
pub struct CallStepUp {
    validate_path: &'static str,
    to_authenticated_user: bool,
    read_error: ReadError,
    /// The challenge's id; empty before validate and once it is over.
    id: Text<64>,
    /// Whether the challenge waits for a code.
    needs_code: bool,
    challenges: Challenges,
}

impl fmt::Debug for CallStepUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallStepUp")
            .field("validate_path", &self.validate_path)
            .field("id", &self.id)
            .field("needs_code", &self.needs_code)
            .field("prompt", &self.prompt())
            .finish_non_exhaustive()
    }
}

/// What the validate's answer says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Validated {
    /// A code is on its way to the user: ask for it.
    CodeSent(CodePrompt),
    /// The call needs no code (`x-sca-type: NONE` or `x-sca-required:
    /// false`): send it with the challenge's id alone.
    NoCodeNeeded,
}

/// What the answer to the call means for its challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallAnswer {
    /// The call went through (a `2xx`); the challenge is spent.
    Passed,
    /// The code was wrong; the challenge stands and takes another code.
    CodeRefused(CodePrompt),
    /// The challenge is over (its code expired or was used, or too many
    /// were wrong): only a new validate, which sends a new code, can go on.
    ChallengeOver {
        /// What to tell the user (reason [`PromptReason::CodeExpired`]).
        prompt: CodePrompt,
        /// What the server said.
        error: Error,
    },
    /// The server refused the call for its challenge in a way another code
    /// does not mend (a body that differs from the validated one, a
    /// missing challenge).
    Refused(Error),
    /// The answer does not speak of the challenge: it is the call's own.
    NotAboutStepUp,
}

impl CallStepUp {
    /// A challenge for one call, validated at `validate_path`; the
    /// provider's `read_error` reads error answers.
    pub const fn new(
        validate_path: &'static str,
        to_authenticated_user: bool,
        read_error: ReadError,
    ) -> Self {
        CallStepUp {
            validate_path,
            to_authenticated_user,
            read_error,
            id: Text::new_empty(),
            needs_code: false,
            challenges: Challenges::new(),
        }
    }

    /// Where the call's data is validated (with the call's own method,
    /// headers and body).
    pub const fn validate_path(&self) -> &'static str {
        self.validate_path
    }

    /// How many challenges were asked for (validates that sent a code).
    pub const fn challenges_sent(&self) -> u32 {
        self.challenges.sent()
    }

    /// The headers the validate request adds to the call's own: the opt-in
    /// (and the code to the authenticated user, if asked). Never a
    /// challenge id: the API refuses one on validate.
    pub fn validate_headers(&self) -> Headers<'static> {
        let mut headers = Headers::new();
        // Cannot fail: a fresh list holds four.
        let _ = headers.push(OPT_IN_HEADER, HeaderValue::plain("true"));
        if self.to_authenticated_user {
            let _ = headers.push(TO_AUTHENTICATED_USER_HEADER, HeaderValue::plain("true"));
        }
        headers
    }

    /// Reads the validate's `2xx` answer: its challenge id, type and
    /// whether a code is needed. A missing, malformed or oversized header
    /// is a typed error, and the challenge is then none.
    pub fn read_validation<R: Response + ?Sized>(
        &mut self,
        response: &R,
    ) -> Result<Validated, Error> {
        self.id = Text::new_empty();
        self.needs_code = false;
        let status = response.status();
        if !is_success(status) {
            return Err((self.read_error)(&response));
        }
        let id = header_text(response, ID_HEADER)?;
        let by_sms = match header_text(response, TYPE_HEADER)? {
            kind if kind.eq_ignore_ascii_case("SMS") => true,
            kind if kind.eq_ignore_ascii_case("NONE") => false,
            _ => return Err(malformed(TYPE_HEADER, status)),
        };
        let required = match header_text(response, REQUIRED_HEADER)? {
            flag if flag.eq_ignore_ascii_case("true") => true,
            flag if flag.eq_ignore_ascii_case("false") => false,
            _ => return Err(malformed(REQUIRED_HEADER, status)),
        };
        self.id = Text::new(id).map_err(|_| Error::Overflow {
            what: ID_HEADER,
            capacity: 64,
        })?;
        self.needs_code = by_sms && required;
        if !self.needs_code {
            // Nothing to ask the user, whatever an earlier challenge left.
            self.challenges.reason = None;
            self.challenges.tries_left = None;
            return Ok(Validated::NoCodeNeeded);
        }
        self.challenges.code_sent(Channel::Sms);
        self.challenges.tries_left = Some(WRONG_CODES_ALLOWED);
        // Set just above; `prompt` is `Some` whenever a code is awaited.
        Ok(self
            .prompt()
            .map_or(Validated::NoCodeNeeded, Validated::CodeSent))
    }

    /// What the user is asked now, if anything: the code of the challenge
    /// (the first ask, after a refused code, a new challenge), or, once
    /// the challenge is over, whether to ask for a new one.
    pub fn prompt(&self) -> Option<CodePrompt> {
        let awaits_code = self.needs_code && !self.id.is_empty();
        let over = self.challenges.reason == Some(PromptReason::CodeExpired);
        (awaits_code || over).then(|| CodePrompt {
            channel: Channel::Sms,
            reason: self.challenges.reason.unwrap_or(PromptReason::FirstAsk),
            tries_left: self.challenges.tries_left,
        })
    }

    /// The headers the call adds to its own: the opt-in, the challenge's
    /// id, and the code when the challenge needs one. Refused locally
    /// (nothing to send) without a live challenge, without a code where
    /// one is needed, or with a code that is malformed, was refused before
    /// for this challenge, or is one too many.
    pub fn call_headers<'a>(
        &'a mut self,
        code: Option<&'a str>,
    ) -> Result<Headers<'a>, StepUpRefused> {
        if self.id.is_empty() {
            return Err(StepUpRefused::NothingToAnswer);
        }
        let code = match (self.needs_code, code) {
            (true, None) => return Err(StepUpRefused::NothingToAnswer),
            (true, Some(code)) => {
                self.challenges.check_code(code)?;
                self.challenges.verifying(code);
                Some(code)
            }
            (false, _) => None,
        };
        let mut headers = Headers::new();
        // Cannot fail: a fresh list holds four.
        let _ = headers.push(OPT_IN_HEADER, HeaderValue::plain("true"));
        let _ = headers.push(ID_HEADER, HeaderValue::plain(self.id.as_str()));
        if let Some(code) = code {
            let _ = headers.push(CODE_HEADER, HeaderValue::secret("", code));
        }
        Ok(headers)
    }

    /// Reads the answer to the call (after the session judged it: a `401`
    /// about the token never reaches here, it is replayed).
    pub fn read_answer<R: Response + ?Sized>(&mut self, response: &R) -> CallAnswer {
        if is_success(response.status()) {
            self.spend();
            return CallAnswer::Passed;
        }
        let error = (self.read_error)(&response);
        let Error::Api(ApiError {
            kind: ErrorKind::PaymentSca(problem),
            ..
        }) = error
        else {
            self.challenges.code_unjudged();
            return CallAnswer::NotAboutStepUp;
        };
        match problem {
            PaymentScaError::CodeRefused => {
                let tries_left = self
                    .challenges
                    .tries_left
                    .map(|tries| tries.saturating_sub(1));
                self.challenges.code_refused(tries_left);
                match self.prompt() {
                    Some(prompt) if tries_left != Some(0) => CallAnswer::CodeRefused(prompt),
                    _ => self.over(error),
                }
            }
            PaymentScaError::CodeExpired
            | PaymentScaError::CodeUsed
            | PaymentScaError::TooManyAttempts => self.over(error),
            _ => {
                self.challenges.code_unjudged();
                CallAnswer::Refused(error)
            }
        }
    }

    /// The challenge ended with the call it served.
    fn spend(&mut self) {
        self.id = Text::new_empty();
        self.needs_code = false;
        self.challenges.reset();
    }

    /// The challenge is over: a new one may be asked for.
    fn over(&mut self, error: Error) -> CallAnswer {
        self.challenges.code_unjudged();
        self.id = Text::new_empty();
        self.needs_code = false;
        self.challenges.reason = Some(PromptReason::CodeExpired);
        self.challenges.tries_left = None;
        let prompt = CodePrompt {
            channel: Channel::Sms,
            reason: PromptReason::CodeExpired,
            tries_left: None,
        };
        CallAnswer::ChallengeOver { prompt, error }
    }
}

/// The value of header `name` as text fit for a header, or the error.
fn header_text<'r, R: Response + ?Sized>(
    response: &'r R,
    name: &'static str,
) -> Result<&'r str, Error> {
    let status = response.status();
    let value = response.header(name).ok_or(malformed(name, status))?;
    if !is_header_safe(value) {
        return Err(Error::InvalidHeaderValue { what: name });
    }
    // Visible ASCII, so UTF-8.
    core::str::from_utf8(value).map_err(|_| malformed(name, status))
}

const fn malformed(what: &'static str, status: u16) -> Error {
    Error::Malformed { what, status }
}
