//! The inputs of a random session: what a caller, a clock and a server can
//! do to it, in abstract terms that a [`Fixture`](super::Fixture) turns
//! into concrete calls and responses. A response is named by what it is
//! ("the success of whatever was asked", "a 429 without Retry-After"), so
//! that any sequence is meaningful for any provider.

use core::time::Duration;

use authsession_core::{Channel, Level};

/// How much time passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Span {
    /// Up to a minute, in milliseconds.
    Millis(u16),
    /// Up to about 18 hours, in seconds.
    Seconds(u16),
    /// Hours: a long jump.
    Hours(u8),
}

impl Span {
    /// The duration.
    pub fn duration(self) -> Duration {
        match self {
            Span::Millis(n) => Duration::from_millis(u64::from(n)),
            Span::Seconds(n) => Duration::from_secs(u64::from(n)),
            Span::Hours(n) => Duration::from_secs(u64::from(n) * 3600),
        }
    }
}

/// Which of the requests (or calls) sent so far an answer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Pick {
    /// The newest one: usually the one in flight.
    Latest,
    /// The n-th before the newest (modulo how many there were): a late,
    /// repeated or reordered answer.
    Back(u8),
}

/// What `Retry-After` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum RetryAfter {
    /// No header.
    Absent,
    /// A number of seconds.
    Seconds(u16),
    /// An HTTP date, which the core cannot read without a wall clock.
    HttpDate,
    /// Not a wait at all.
    Garbage,
    /// A year in seconds and more (`31536000000`): a server that means
    /// "never" (invariant 10: the wait is capped).
    Huge,
}

/// A broken body on a success status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Mangle {
    /// No body.
    Empty,
    /// Not JSON.
    NotJson,
    /// The right body cut in half.
    Truncated,
    /// The token is a number.
    WrongType,
    /// The token holds a control character (raw in the body for a bare
    /// token, as a JSON escape otherwise).
    ControlInToken,
    /// The token holds a space.
    SpaceInToken,
    /// The token holds a non-ASCII character.
    NonAsciiToken,
    /// The token is longer than any token buffer.
    LongToken,
    /// Arrays nested deeper than any API's.
    Deep,
    /// A status of 2xx other than the expected, with an empty body.
    NoContent,
    /// The token is empty (a bare token: a body of whitespace).
    EmptyToken,
    /// The token holds a raw CR LF, as if to add a header.
    CrLfInToken,
    /// The token is written with a JSON escape of a character that needs
    /// none (`\/`); a bare token holds the backslash.
    EscapedToken,
    /// The token is no JWT: an unusable token where the API gives JWTs,
    /// an ordinary success elsewhere.
    NotJwt,
    /// A part of the body is longer than the buffer it is read into (a
    /// JWT's claims, an identity's id, the token itself).
    Overflow,
}

/// What the server answers to one of the session's own requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Answer {
    /// The success the API documents for the request; the flavour picks
    /// among its documented shapes (with or without an identity, one or
    /// several identities, a stepped-up token, a short-lived JWT...).
    Success(u8),
    /// A success status with a broken body.
    Mangled(Mangle),
    /// A refusal: `400`, `401`, `403`, `404`, `409`, `422`, `423`, or a
    /// status outside any table (picked by the byte).
    Refused(u8),
    /// `429`.
    TooMany(RetryAfter),
    /// A `5xx` (picked by the byte).
    ServerError(u8, RetryAfter),
    /// A step-up refusal (`409` with an `errorCode`, or `400`), picked by
    /// the byte among the documented codes.
    StepUpError(u8),
}

/// What the server answers to an application call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Reply {
    /// `200`.
    Ok,
    /// `401`: the token was refused.
    Unauthorized,
    /// `403` step-up required, the code in `errorCode` or (`true`) in
    /// `message`.
    StepUpRequired(bool),
    /// `403` for another reason.
    Forbidden,
    /// `429`.
    TooMany(RetryAfter),
    /// A `5xx`.
    ServerError(u8),
    /// A `2xx` or error status with a broken body.
    Mangled(Mangle),
    /// `404`.
    NotFound,
    /// `401` about a payment's strong customer authentication
    /// (Currencycloud's `sca_required`, `x-sca-token`), picked by the byte:
    /// the call's own error, not the token's (invariant 12).
    PaymentSca(u8),
}

/// A one-time code typed by the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Code {
    /// The code the server sent.
    Right,
    /// Another well-formed code, one of [`WRONG_CODES`].
    Wrong(u8),
    /// Empty, too long, or not letters and digits: refused locally.
    Malformed(u8),
    /// The code typed last (the right one if none was): after a refusal,
    /// a code the server already refused (invariant 11).
    Again,
}

/// The code the server sent: letters and digits that no `Debug` output
/// would show by chance.
pub const RIGHT_CODE: &str = "K7Q2ZP";
/// Well-formed wrong codes: more than the session remembers for one
/// challenge, so that a long run of wrong codes meets its limit.
pub const WRONG_CODES: [&str; 10] = [
    "X9W4VB", "J3H8RT", "M2N6QX", "P5L1ZD", "T8C3WY", "B4V7KM", "R6D2PS", "H1F9GN", "W7Y5CJ",
    "Z3Q8LB",
];
/// Codes the session refuses locally.
pub const MALFORMED_CODES: [&str; 4] = ["", "ABC-123", "12345678901234567", "ab cd"];

impl Code {
    /// The text the user types, given the text typed last.
    pub fn text(self, last: Option<&'static str>) -> &'static str {
        match self {
            Code::Right => RIGHT_CODE,
            Code::Wrong(n) => WRONG_CODES[usize::from(n) % WRONG_CODES.len()],
            Code::Malformed(n) => MALFORMED_CODES[usize::from(n) % MALFORMED_CODES.len()],
            Code::Again => last.unwrap_or(RIGHT_CODE),
        }
    }
}

/// One input to the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Input {
    /// Time passes and the session is not told.
    Wait(Span),
    /// Time passes and `handle_timeout` is called then (early, late, or
    /// with no timer set).
    Tick(Span),
    /// The caller sleeps until `poll_timeout` and calls `handle_timeout`, as
    /// the drain rule says (a short wait if no timer is set).
    Sleep,
    /// `authorize` for a call at this level; a grant sends the call.
    Authorize(#[cfg_attr(feature = "arbitrary", arbitrary(with = any_level))] Level),
    /// Several calls authorized at once (a burst under one token).
    Burst(u8),
    /// The server answers one of the application calls.
    Reply(Pick, Reply),
    /// The server answers one of the session's requests.
    Answer(Pick, Answer),
    /// The answer to the newest request arrives after this much time, of
    /// which the session is not told before (a token may lapse on its way:
    /// invariant 10).
    SlowAnswer(Span, Answer),
    /// Nobody answers the newest request: `handle_timeout` is called this
    /// many milliseconds after its deadline (the instant it was sent plus
    /// the request timeout; invariant 13).
    Overdue(u16),
    /// One of the session's requests got no answer.
    Fail(Pick),
    /// `login`.
    Login,
    /// `logout`.
    Logout,
    /// `set_credentials`, with the first or the second set.
    NewCredentials(bool),
    /// `start_step_up` on a channel.
    StartStepUp(#[cfg_attr(feature = "arbitrary", arbitrary(with = any_channel))] Channel),
    /// `submit_code`.
    SubmitCode(Code),
    /// `report_push_result`.
    PushResult(bool),
}

/// The levels, for strategies and decoders.
pub const LEVELS: [Level; 3] = [Level::Account, Level::User, Level::SteppedUp];

/// The channels, for strategies and decoders.
pub const CHANNELS: [Channel; 3] = [Channel::Sms, Channel::Authy, Channel::Biometric];

#[cfg(feature = "arbitrary")]
fn any_level(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Level> {
    u.choose(&LEVELS).copied()
}

#[cfg(feature = "arbitrary")]
fn any_channel(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Channel> {
    u.choose(&CHANNELS).copied()
}
