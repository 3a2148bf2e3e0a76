//! A payment's strong customer authentication (Currencycloud's "SCA for
//! API payments", the core's [`CallStepUp`]) fed the server's answers from
//! fuzz bytes: the validate's answer (`read_validation`), the call's
//! headers (`call_headers`), the answer to the call (`read_answer`), and
//! on, as the client goes on: another code while the challenge stands, a
//! new validate once it is over.
//!
//! ```text
//! [validate's answer: prefixed frame]
//! then, at most MAX_ROUNDS times, while bytes are left:
//!   while the challenge stands: [code selector] [call's answer: prefixed frame]
//!   once it is over:            [validate's answer: prefixed frame]
//! ```
//!
//! Frames are read with [`Frame::read_prefixed`] over [`SCA_HEADER_NAMES`]
//! (each frame's body is as long as its length byte says, or the rest). A
//! code selector `0` gives no code, `n` gives `CODES[(n - 1) % CODES.len()]`.
//! The flow ends where the client's does: an error from validate, headers
//! refused locally, a call that passed or was refused for good.
//!
//! What is checked, besides "no panic", against a small model of the
//! challenge (its id, whether it needs a code, the codes refused, the tries
//! left):
//!
//! - `read_validation` is `Ok` exactly when the answer is a `2xx` whose
//!   `x-sca-id` is visible ASCII of 1 to 64 bytes, `x-sca-type` is `SMS` or
//!   `NONE` and `x-sca-required` `true` or `false` (ASCII case-insensitive);
//!   `CodeSent` exactly when they are `SMS` and `true`, with five tries. A
//!   CR, LF, space or non-ASCII byte in the id is always an error.
//! - `call_headers` gives the opt-in, the id byte for byte, and the code
//!   (secret, never printed) exactly when one was given and is needed; it
//!   refuses a missing, malformed or refused code.
//! - `read_answer`: a `2xx` is `Passed`; an error is about the challenge
//!   exactly when the provider's `classify` of it (as a `401`) says so, and
//!   which answer it is follows from the problem and the tries left; a
//!   refused code is refused by every later `call_headers` of the challenge
//!   (invariant 11), another code is taken; a code not judged may be sent
//!   again; once the challenge is over or spent nothing can be sent.

// A harness: a failed expectation is a finding, as a failed assertion is.
#![allow(clippy::expect_used)]

use authsession_core::call_step_up::{
    CODE_HEADER, ID_HEADER, OPT_IN_HEADER, REQUIRED_HEADER, TYPE_HEADER, WRONG_CODES_ALLOWED,
};
use authsession_core::kit::{Classification, is_success};
use authsession_core::providers::currencycloud::{
    Currencycloud, PAYMENT_CREATE_PATH, PAYMENT_VALIDATE_PATH, PaymentSca,
};
use authsession_core::{
    ApiError, CallAnswer, CallStepUp, Channel, CodePrompt, Error, ErrorKind, HeaderValue, Headers,
    Level, PaymentScaError, PromptReason, Provider, StepUpRefused, Validated,
};

use crate::frame::{Frame, SCA_HEADER_NAMES, encode_prefixed};
use crate::replies::{check_error, contains, printable, printable_error};

/// The most validates and calls one input makes.
pub const MAX_ROUNDS: usize = 16;

/// The codes a selector picks (after `0`, no code): seven well-formed ones
/// (more than the five wrong codes a challenge takes), then malformed ones
/// the core refuses before sending (empty, a space, 17 digits, non-ASCII
/// digits).
pub const CODES: [&str; 11] = [
    "111111",
    "222222",
    "333333",
    "444444",
    "555555",
    "666666",
    "123456",
    "",
    "123 456",
    "12345678901234567",
    "١٢٣٤٥٦",
];

/// The longest challenge id the core keeps.
const ID_CAPACITY: usize = 64;

/// The fuzz target's body.
pub fn payment_sca(data: &[u8]) {
    let _ = run(data);
}

/// What happened at each step of one input, for the tests of the seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The validate's answer sent a code.
    CodeSent,
    /// The validate's answer needs no code.
    NoCodeNeeded,
    /// The validate's answer was an error: the flow ends.
    ValidateFailed,
    /// `call_headers` refused the code (or its absence): the flow ends.
    HeadersRefused(StepUpRefused),
    /// The call passed: the flow ends.
    Passed,
    /// The code was refused; the challenge stands.
    CodeRefused,
    /// The challenge is over; a validate follows.
    ChallengeOver,
    /// The call was refused for its challenge: the flow ends.
    Refused,
    /// The answer is the call's own: the flow ends.
    NotAboutStepUp,
}

/// What the target knows of the challenge.
#[derive(Debug, Default)]
struct Model<'a> {
    /// The live challenge: its id and whether it needs a code.
    live: Option<(&'a [u8], bool)>,
    /// The codes the server refused for the live challenge.
    refused: Vec<&'static str>,
    /// The codes the live challenge still takes, as the core counts them.
    tries_left: Option<u32>,
}

/// Runs one input and returns its steps.
pub fn run(data: &[u8]) -> Vec<Step> {
    let provider = Currencycloud::default().with_payment_sca(PaymentSca::default());
    let mut challenge = provider
        .call_step_up("POST", PAYMENT_CREATE_PATH)
        .expect("a payment with SCA on has a challenge");
    assert_eq!(challenge.validate_path(), PAYMENT_VALIDATE_PATH);
    let validate_headers = challenge.validate_headers();
    assert_eq!(validate_headers.len(), 1, "{validate_headers:?}");
    assert_eq!(
        validate_headers.get(OPT_IN_HEADER).map(HeaderValue::parts),
        Some(["", "true"])
    );
    assert!(challenge.prompt().is_none());

    let mut model = Model::default();
    let mut steps = Vec::new();
    let mut rest = data;
    for round in 0..MAX_ROUNDS {
        if round > 0 && rest.is_empty() {
            break;
        }
        let step = if let Some((id, needs_code)) = model.live {
            let Some((&selector, after)) = rest.split_first() else {
                break;
            };
            let code = code_of(selector);
            let (frame, after) = Frame::read_prefixed(after, &SCA_HEADER_NAMES);
            rest = after;
            call(
                &provider,
                &mut challenge,
                &mut model,
                (id, needs_code),
                code,
                &frame,
            )
        } else {
            let (frame, after) = Frame::read_prefixed(rest, &SCA_HEADER_NAMES);
            rest = after;
            validate(&mut challenge, &mut model, &frame)
        };
        steps.push(step);
        let goes_on = matches!(
            step,
            Step::CodeSent | Step::NoCodeNeeded | Step::CodeRefused | Step::ChallengeOver
        );
        if !goes_on {
            break;
        }
    }
    printable(&challenge);
    steps
}

/// The code a selector picks.
fn code_of(selector: u8) -> Option<&'static str> {
    let index = usize::from(selector.checked_sub(1)?);
    Some(CODES[index % CODES.len()])
}

/// The first header `name` of the frame, in any case (as the core reads
/// one).
fn header<'a>(frame: &Frame<'a>, name: &str) -> Option<&'a [u8]> {
    frame
        .headers
        .iter()
        .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
        .map(|(_, value)| *value)
}

/// `Some(true)` for `yes`, `Some(false)` for `no` (ASCII case-insensitive),
/// `None` for anything else.
fn flag(value: Option<&[u8]>, yes: &str, no: &str) -> Option<bool> {
    let value = value?;
    if value.eq_ignore_ascii_case(yes.as_bytes()) {
        Some(true)
    } else if value.eq_ignore_ascii_case(no.as_bytes()) {
        Some(false)
    } else {
        None
    }
}

/// Whether the core takes `code` (1 to 16 ASCII letters or digits).
fn well_formed(code: &str) -> bool {
    (1..=16).contains(&code.len()) && code.bytes().all(|byte| byte.is_ascii_alphanumeric())
}

/// The validate's answer.
fn validate<'a>(challenge: &mut CallStepUp, model: &mut Model<'a>, frame: &Frame<'a>) -> Step {
    let response = frame.parts();
    let sent_before = challenge.challenges_sent();
    let result = challenge.read_validation(&response);
    printable(&result);

    let id = header(frame, ID_HEADER);
    let id_fits = id.is_some_and(|id| {
        (1..=ID_CAPACITY).contains(&id.len()) && id.iter().all(|byte| (0x21..=0x7e).contains(byte))
    });
    let by_sms = flag(header(frame, TYPE_HEADER), "SMS", "NONE");
    let required = flag(header(frame, REQUIRED_HEADER), "true", "false");
    let readable = is_success(frame.status) && id_fits && by_sms.is_some() && required.is_some();
    assert_eq!(
        result.is_ok(),
        readable,
        "validate's answer {frame:?} read as {result:?}"
    );
    if id.is_some_and(|id| {
        id.iter()
            .any(|&byte| matches!(byte, b'\r' | b'\n' | b' ' | 0x80..))
    }) {
        assert!(result.is_err(), "an x-sca-id unfit for a header was taken");
    }

    let validated = match result {
        Ok(validated) => validated,
        Err(error) => {
            printable_error(&error);
            if is_success(frame.status) {
                assert!(
                    matches!(
                        error,
                        Error::Malformed { .. }
                            | Error::InvalidHeaderValue { .. }
                            | Error::Overflow { .. }
                    ),
                    "a 2xx validate refused for {error:?}"
                );
            } else {
                check_error(&error, &response, "X-Request-Id");
            }
            assert_eq!(challenge.challenges_sent(), sent_before);
            assert_eq!(
                challenge.clone().call_headers(Some(CODES[0])).err(),
                Some(StepUpRefused::NothingToAnswer),
                "headers for a challenge that failed to validate"
            );
            model.live = None;
            return Step::ValidateFailed;
        }
    };
    let id = id.expect("a validation read without an id");

    let needs_code = by_sms == Some(true) && required == Some(true);
    let step = match validated {
        Validated::CodeSent(prompt) => {
            assert!(needs_code, "a code sent for {frame:?}");
            assert_eq!(prompt.channel, Channel::Sms);
            let first = if sent_before == 0 {
                PromptReason::FirstAsk
            } else {
                PromptReason::NewChallenge
            };
            assert_eq!(prompt.reason, first);
            assert_eq!(prompt.tries_left, Some(WRONG_CODES_ALLOWED));
            assert_eq!(challenge.challenges_sent(), sent_before + 1);
            assert_eq!(challenge.prompt(), Some(prompt));
            model.refused.clear();
            model.tries_left = prompt.tries_left;
            Step::CodeSent
        }
        Validated::NoCodeNeeded => {
            assert!(!needs_code, "no code needed for {frame:?}");
            assert_eq!(challenge.challenges_sent(), sent_before);
            assert_eq!(challenge.prompt(), None, "a prompt for no code");
            Step::NoCodeNeeded
        }
        other => panic!("a validation the target does not know: {other:?}"),
    };
    model.live = Some((id, needs_code));

    // Without a code: refused where one is needed, the id alone otherwise.
    let mut probe = challenge.clone();
    match probe.call_headers(None) {
        Ok(headers) => {
            assert!(!needs_code, "headers without the code it needs");
            check_call_headers(&headers, id, None);
        }
        Err(refused) => {
            assert!(needs_code, "headers refused for a call without code");
            assert_eq!(refused, StepUpRefused::NothingToAnswer);
        }
    }
    step
}

/// The call with `code`, and its answer.
fn call<'a>(
    provider: &Currencycloud,
    challenge: &mut CallStepUp,
    model: &mut Model<'a>,
    (id, needs_code): (&'a [u8], bool),
    code: Option<&'static str>,
    frame: &Frame<'_>,
) -> Step {
    let expected = match (needs_code, code) {
        (false, _) => Ok(None),
        (true, None) => Err(StepUpRefused::NothingToAnswer),
        (true, Some(code)) if !well_formed(code) => Err(StepUpRefused::InvalidCode),
        (true, Some(code)) if model.refused.contains(&code) => {
            Err(StepUpRefused::CodeAlreadyRefused)
        }
        (true, Some(code)) => Ok(Some(code)),
    };
    match (challenge.call_headers(code), expected) {
        (Ok(headers), Ok(sent)) => check_call_headers(&headers, id, sent),
        (Err(refused), Err(expected)) => {
            assert_eq!(refused, expected, "code {code:?}");
            return Step::HeadersRefused(refused);
        }
        (got, expected) => panic!("code {code:?}: headers {got:?}, expected {expected:?}"),
    }
    if let Some(code) = code.filter(|code| needs_code && !contains(id, code.as_bytes())) {
        assert!(
            !printable(&*challenge).contains(code),
            "the challenge prints its code"
        );
    }
    read_answer(provider, challenge, model, (id, needs_code), code, frame)
}

/// The answer to the call that went with `code`.
fn read_answer<'a>(
    provider: &Currencycloud,
    challenge: &mut CallStepUp,
    model: &mut Model<'a>,
    (id, needs_code): (&'a [u8], bool),
    code: Option<&'static str>,
    frame: &Frame<'_>,
) -> Step {
    let response = frame.parts();
    let answer = challenge.read_answer(&response);
    printable(&answer);

    if is_success(frame.status) {
        assert_eq!(
            answer,
            CallAnswer::Passed,
            "a {} is not Passed",
            frame.status
        );
        assert_eq!(challenge.prompt(), None, "a prompt after the call passed");
        assert_nothing_to_send(challenge, "a spent challenge");
        model.live = None;
        return Step::Passed;
    }
    let problem = sca_problem(provider, frame);
    match answer {
        CallAnswer::Passed => panic!("a {} passed", frame.status),
        CallAnswer::NotAboutStepUp => {
            assert_eq!(problem, None, "an answer about SCA is the call's own");
            assert_unjudged(challenge, code, id);
            Step::NotAboutStepUp
        }
        CallAnswer::CodeRefused(prompt) => {
            assert_eq!(problem, Some(PaymentScaError::CodeRefused));
            assert!(needs_code, "a code refused where none was needed");
            code_refused(challenge, model, id, code, prompt);
            Step::CodeRefused
        }
        CallAnswer::ChallengeOver { prompt, error } => {
            let over = match problem {
                Some(PaymentScaError::CodeRefused) => {
                    let tries_left = model.tries_left.map(|tries| tries.saturating_sub(1));
                    !needs_code || tries_left == Some(0)
                }
                Some(
                    PaymentScaError::CodeExpired
                    | PaymentScaError::CodeUsed
                    | PaymentScaError::TooManyAttempts,
                ) => true,
                _ => false,
            };
            assert!(
                over,
                "over for {problem:?}, {:?} tries left",
                model.tries_left
            );
            check_sca_error(&error, problem, frame);
            assert_eq!(prompt.channel, Channel::Sms);
            assert_eq!(prompt.reason, PromptReason::CodeExpired);
            assert_eq!(prompt.tries_left, None);
            assert_eq!(challenge.prompt(), Some(prompt));
            assert_nothing_to_send(challenge, "a challenge that is over");
            model.live = None;
            model.refused.clear();
            model.tries_left = None;
            Step::ChallengeOver
        }
        CallAnswer::Refused(error) => {
            assert!(
                matches!(
                    problem,
                    Some(
                        PaymentScaError::Required
                            | PaymentScaError::BodyChanged
                            | PaymentScaError::BadChallenge
                            | PaymentScaError::Other
                    )
                ),
                "refused for {problem:?}"
            );
            check_sca_error(&error, problem, frame);
            assert_unjudged(challenge, code, id);
            Step::Refused
        }
        other => panic!("an answer the target does not know: {other:?}"),
    }
}

/// The code was refused and the challenge stands: one try less, and
/// invariant 11: no refused code goes to this challenge again, another
/// one does.
fn code_refused(
    challenge: &CallStepUp,
    model: &mut Model<'_>,
    id: &[u8],
    code: Option<&'static str>,
    prompt: CodePrompt,
) {
    let tries_left = model.tries_left.map(|tries| tries.saturating_sub(1));
    assert_ne!(
        tries_left,
        Some(0),
        "a last try refused, the challenge stands"
    );
    assert_eq!(prompt.channel, Channel::Sms);
    assert_eq!(prompt.reason, PromptReason::CodeRefused);
    assert_eq!(prompt.tries_left, tries_left);
    assert_eq!(challenge.prompt(), Some(prompt));
    model.tries_left = tries_left;
    model.refused.extend(code);
    for refused in &model.refused {
        assert_eq!(
            challenge.clone().call_headers(Some(refused)).err(),
            Some(StepUpRefused::CodeAlreadyRefused),
            "a refused code {refused:?} is taken again"
        );
    }
    let fresh = CODES
        .iter()
        .copied()
        .find(|code| well_formed(code) && !model.refused.contains(code))
        .expect("more well-formed codes than tries");
    match challenge.clone().call_headers(Some(fresh)) {
        Ok(headers) => check_call_headers(&headers, id, Some(fresh)),
        Err(refused) => panic!("a new code refused ({refused:?}) by a standing challenge"),
    }
}

/// What the answer says of the payment's SCA, as the provider classifies
/// it when it is a `401` to a call with a token: a fatal error of kind
/// `PaymentSca` or the token's refusal.
fn sca_problem(provider: &Currencycloud, frame: &Frame<'_>) -> Option<PaymentScaError> {
    let as_401 = Frame {
        status: 401,
        ..frame.clone()
    };
    match provider.classify(Level::User, &as_401.parts()) {
        Classification::Fatal(Error::Api(ApiError {
            kind: ErrorKind::PaymentSca(problem),
            ..
        })) => Some(problem),
        Classification::TokenRefused => None,
        other => panic!("a 401 classified as {other:?}"),
    }
}

/// The error of an answer about the challenge: the API's, of kind
/// `PaymentSca` with the problem the provider reads.
fn check_sca_error(error: &Error, problem: Option<PaymentScaError>, frame: &Frame<'_>) {
    check_error(error, &frame.parts(), "X-Request-Id");
    match error {
        Error::Api(ApiError {
            kind: ErrorKind::PaymentSca(kind),
            ..
        }) => assert_eq!(Some(*kind), problem),
        other => panic!("an SCA answer's error is {other:?}"),
    }
}

/// The headers of the call: the opt-in, the challenge's id byte for byte,
/// and the code (secret) when one goes.
fn check_call_headers(headers: &Headers<'_>, id: &[u8], code: Option<&str>) {
    let names: Vec<&str> = headers.iter().map(|header| header.name).collect();
    let mut expected = vec![OPT_IN_HEADER, ID_HEADER];
    expected.extend(code.map(|_| CODE_HEADER));
    assert_eq!(names, expected);
    let opt_in = headers.get(OPT_IN_HEADER).expect("the opt-in");
    assert_eq!(opt_in.parts(), ["", "true"]);
    let sent_id = headers.get(ID_HEADER).expect("the id");
    assert!(!sent_id.is_sensitive());
    let [prefix, value] = sent_id.parts();
    assert!(prefix.is_empty());
    assert_eq!(
        value.as_bytes(),
        id,
        "the x-sca-id sent is not the one read"
    );
    if let Some(code) = code {
        let token = headers.get(CODE_HEADER).expect("the code");
        assert!(token.is_sensitive(), "the code is not marked secret");
        assert_eq!(token.parts(), ["", code]);
        if !contains(id, code.as_bytes()) {
            assert!(
                !printable(headers).contains(code),
                "the headers print the code"
            );
        }
    }
}

/// Nothing can be sent for the challenge any more, whatever the code.
fn assert_nothing_to_send(challenge: &CallStepUp, what: &str) {
    for code in [None, Some(CODES[0]), Some(CODES[6])] {
        assert_eq!(
            challenge.clone().call_headers(code).err(),
            Some(StepUpRefused::NothingToAnswer),
            "headers for {what}"
        );
    }
}

/// The code was not judged (the answer was not about it): the challenge
/// stands and takes the same code again.
fn assert_unjudged(challenge: &CallStepUp, code: Option<&str>, id: &[u8]) {
    let mut probe = challenge.clone();
    match probe.call_headers(code) {
        Ok(headers) => assert_eq!(
            headers
                .get(ID_HEADER)
                .map(|value| value.parts()[1].as_bytes()),
            Some(id)
        ),
        Err(refused) => panic!("a code not judged is refused ({refused:?})"),
    }
}

/// The guide's challenge id.
const SCA_ID: &[u8] = b"2c3b1a7e-77a4-4a44-9d5e-1f9b3a1c0d2e";
/// A validate's answer.
const VALIDATED: &[u8] = br#"{"validation_result":"success"}"#;
/// A payment's creation.
const PAYMENT: &[u8] =
    br#"{"id":"543477161-91de-012f-e284-1e0030c7f352","status":"ready_to_send"}"#;
const WRONG_CODE: &[u8] = br#"{"error_code":"sca_check_failed","error_messages":{"x-sca-token":[{"code":"x-sca-token","message":"x-sca-token is invalid","params":{}}]}}"#;
const EXPIRED: &[u8] = br#"{"error_code":"sca_check_failed","error_messages":{"x-sca-token":[{"code":"x-sca-token","message":"x-sca-token has expired","params":{}}]}}"#;
const USED: &[u8] = br#"{"error_code":"sca_check_failed","error_messages":{"x-sca-token":[{"code":"x-sca-token","message":"x-sca-token has already been used","params":{}}]}}"#;
const TOO_MANY: &[u8] = br#"{"error_code":"sca_check_failed","error_messages":{"x-sca-token":[{"code":"x-sca-token","message":"Too many attempts","params":{}}]}}"#;
const SCA_REQUIRED: &[u8] = br#"{"error_code":"sca_check_failed","error_messages":{"x-sca-id":[{"code":"sca_required","message":"SCA required","params":{}}]}}"#;
const BODY_CHANGED: &[u8] = br#"{"error_code":"invalid_request_body","error_messages":{"base":[{"code":"invalid_request_body","message":"The request body does not match the validated one","params":{}}]}}"#;
const TOKEN_REFUSED: &[u8] = br#"{"error_code":"auth_failed","error_messages":{"username":[{"code":"invalid_supplied_credentials","message":"Authentication failed with the supplied credentials","params":{}}]}}"#;
const BAD_BENEFICIARY: &[u8] = br#"{"error_code":"payment_invalid_request","error_messages":{"beneficiary_id":[{"code":"invalid_beneficiary","message":"Beneficiary not found","params":{}}]}}"#;

/// A prefixed frame over [`SCA_HEADER_NAMES`].
fn frame(status: u16, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    encode_prefixed(&SCA_HEADER_NAMES, status, headers, body).expect("a seed body fits a frame")
}

/// A validate's `200` with the challenge's headers.
fn validated(id: &[u8], kind: &[u8], required: &[u8]) -> Vec<u8> {
    frame(
        200,
        &[
            ("x-sca-id", id),
            ("x-sca-type", kind),
            ("x-sca-required", required),
        ],
        VALIDATED,
    )
}

/// A call with code selector `code` and its answer.
fn answered(code: u8, status: u16, body: &[u8]) -> Vec<u8> {
    let mut out = vec![code];
    out.extend(frame(
        status,
        &[("X-Request-Id", b"2775253392756800903")],
        body,
    ));
    out
}

/// The seeds: the guide's exchanges (a code sent, refused, passed; a
/// challenge over and a new one; no code needed), its error bodies, and
/// validate answers the core must refuse.
#[allow(clippy::too_many_lines)] // A list of exchanges.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let sms = || validated(SCA_ID, b"SMS", b"true");
    let five_wrong: Vec<u8> = (1..=5)
        .flat_map(|code| answered(code, 401, WRONG_CODE))
        .collect();
    vec![
        ("sms-passed", [sms(), answered(1, 200, PAYMENT)].concat()),
        (
            "sms-wrong-then-passed",
            [
                sms(),
                answered(1, 401, WRONG_CODE),
                answered(2, 200, PAYMENT),
            ]
            .concat(),
        ),
        (
            "sms-same-code-twice",
            [
                sms(),
                answered(1, 401, WRONG_CODE),
                answered(1, 200, PAYMENT),
            ]
            .concat(),
        ),
        (
            "sms-five-wrong-new-challenge",
            [sms(), five_wrong, sms(), answered(6, 200, PAYMENT)].concat(),
        ),
        (
            "sms-expired-then-none",
            [
                sms(),
                answered(1, 401, EXPIRED),
                validated(SCA_ID, b"NONE", b"false"),
                answered(0, 200, PAYMENT),
            ]
            .concat(),
        ),
        ("sms-used", [sms(), answered(1, 401, USED)].concat()),
        (
            "sms-too-many-attempts",
            [sms(), answered(1, 401, TOO_MANY)].concat(),
        ),
        (
            "sms-sca-required",
            [sms(), answered(1, 401, SCA_REQUIRED)].concat(),
        ),
        (
            "sms-body-changed-400",
            [sms(), answered(1, 400, BODY_CHANGED)].concat(),
        ),
        (
            "sms-token-refused-401",
            [sms(), answered(1, 401, TOKEN_REFUSED)].concat(),
        ),
        (
            "sms-bad-beneficiary-400",
            [sms(), answered(1, 400, BAD_BENEFICIARY)].concat(),
        ),
        ("sms-no-code", [sms(), answered(0, 200, PAYMENT)].concat()),
        (
            "sms-malformed-code",
            [sms(), answered(9, 200, PAYMENT)].concat(),
        ),
        (
            "none-passed",
            [
                validated(SCA_ID, b"NONE", b"false"),
                answered(0, 200, PAYMENT),
            ]
            .concat(),
        ),
        (
            "sms-not-required-passed",
            [
                validated(SCA_ID, b"SMS", b"false"),
                answered(1, 200, PAYMENT),
            ]
            .concat(),
        ),
        (
            "capitals-passed",
            [
                frame(
                    200,
                    &[
                        ("X-SCA-ID", SCA_ID),
                        ("X-Sca-Type", b"sms"),
                        ("X-SCA-REQUIRED", b"TRUE"),
                    ],
                    VALIDATED,
                ),
                answered(7, 201, PAYMENT),
            ]
            .concat(),
        ),
        (
            "validate-400",
            frame(400, &[("X-Request-Id", b"r-1")], BAD_BENEFICIARY),
        ),
        (
            "validate-no-id",
            frame(
                200,
                &[("x-sca-type", b"SMS"), ("x-sca-required", b"true")],
                VALIDATED,
            ),
        ),
        (
            "validate-id-crlf",
            validated(b"abc\r\nX-Evil: 1", b"SMS", b"true"),
        ),
        ("validate-id-space", validated(b"abc def", b"SMS", b"true")),
        (
            "validate-id-non-ascii",
            validated("é".as_bytes(), b"SMS", b"true"),
        ),
        ("validate-id-65", validated(&[b'a'; 65], b"SMS", b"true")),
        (
            "validate-id-64-passed",
            [
                validated(&[b'a'; 64], b"SMS", b"true"),
                answered(1, 200, PAYMENT),
            ]
            .concat(),
        ),
        ("validate-email", validated(SCA_ID, b"EMAIL", b"true")),
        ("validate-required-yes", validated(SCA_ID, b"SMS", b"yes")),
    ]
}

#[cfg(test)]
mod tests {
    use authsession_core::ResponseParts;

    use super::*;

    fn steps_of(name: &str) -> Vec<Step> {
        let (_, bytes) = seeds()
            .into_iter()
            .find(|(seed, _)| *seed == name)
            .expect("a seed of that name");
        run(&bytes)
    }

    #[test]
    fn the_seeds_go_where_their_names_say() {
        use Step::*;
        let cases: &[(&str, &[Step])] = &[
            ("sms-passed", &[CodeSent, Passed]),
            ("sms-wrong-then-passed", &[CodeSent, CodeRefused, Passed]),
            (
                "sms-same-code-twice",
                &[
                    CodeSent,
                    CodeRefused,
                    HeadersRefused(StepUpRefused::CodeAlreadyRefused),
                ],
            ),
            (
                "sms-five-wrong-new-challenge",
                &[
                    CodeSent,
                    CodeRefused,
                    CodeRefused,
                    CodeRefused,
                    CodeRefused,
                    ChallengeOver,
                    CodeSent,
                    Passed,
                ],
            ),
            (
                "sms-expired-then-none",
                &[CodeSent, ChallengeOver, NoCodeNeeded, Passed],
            ),
            ("sms-used", &[CodeSent, ChallengeOver]),
            ("sms-too-many-attempts", &[CodeSent, ChallengeOver]),
            ("sms-sca-required", &[CodeSent, Refused]),
            ("sms-body-changed-400", &[CodeSent, Refused]),
            ("sms-token-refused-401", &[CodeSent, NotAboutStepUp]),
            ("sms-bad-beneficiary-400", &[CodeSent, NotAboutStepUp]),
            (
                "sms-no-code",
                &[CodeSent, HeadersRefused(StepUpRefused::NothingToAnswer)],
            ),
            (
                "sms-malformed-code",
                &[CodeSent, HeadersRefused(StepUpRefused::InvalidCode)],
            ),
            ("none-passed", &[NoCodeNeeded, Passed]),
            ("sms-not-required-passed", &[NoCodeNeeded, Passed]),
            ("capitals-passed", &[CodeSent, Passed]),
            ("validate-400", &[ValidateFailed]),
            ("validate-no-id", &[ValidateFailed]),
            ("validate-id-crlf", &[ValidateFailed]),
            ("validate-id-space", &[ValidateFailed]),
            ("validate-id-non-ascii", &[ValidateFailed]),
            ("validate-id-65", &[ValidateFailed]),
            ("validate-id-64-passed", &[CodeSent, Passed]),
            ("validate-email", &[ValidateFailed]),
            ("validate-required-yes", &[ValidateFailed]),
        ];
        assert_eq!(cases.len(), seeds().len(), "every seed is checked");
        for (name, steps) in cases {
            assert_eq!(steps_of(name), *steps, "seed {name}");
        }
    }

    /// Finding 4 (FUZZING.md, fixed): once a challenge ended, a new
    /// validate that needs no code left the old prompt (`CodeExpired`)
    /// in `CallStepUp::prompt`.
    #[test]
    fn no_prompt_after_a_validate_that_needs_no_code() {
        let provider = Currencycloud::default().with_payment_sca(PaymentSca::default());
        let mut challenge = provider.call_step_up("POST", PAYMENT_CREATE_PATH).unwrap();
        let sms = [
            ("x-sca-id", SCA_ID),
            ("x-sca-type", &b"SMS"[..]),
            ("x-sca-required", b"true"),
        ];
        let none = [
            ("x-sca-id", SCA_ID),
            ("x-sca-type", &b"NONE"[..]),
            ("x-sca-required", b"false"),
        ];
        assert!(matches!(
            challenge.read_validation(&ResponseParts::new(200, VALIDATED).with_headers(&sms)),
            Ok(Validated::CodeSent(_))
        ));
        let _ = challenge.call_headers(Some("111111")).unwrap();
        let expired = ResponseParts::new(401, EXPIRED);
        assert!(matches!(
            challenge.read_answer(&expired),
            CallAnswer::ChallengeOver { .. }
        ));
        assert_eq!(
            challenge.read_validation(&ResponseParts::new(200, VALIDATED).with_headers(&none)),
            Ok(Validated::NoCodeNeeded)
        );
        assert_eq!(challenge.prompt(), None, "{challenge:?}");
    }

    #[test]
    fn short_inputs_end_the_flow() {
        assert_eq!(run(b""), [Step::ValidateFailed]);
        let sms = validated(SCA_ID, b"SMS", b"true");
        assert_eq!(run(&sms), [Step::CodeSent]);
        // A selector and nothing else: a status-0 answer, the call's own.
        assert_eq!(
            run(&[sms, vec![1]].concat()),
            [Step::CodeSent, Step::NotAboutStepUp]
        );
    }
}
