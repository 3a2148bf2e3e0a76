//! Model-based property test of a payment's strong customer authentication
//! (Currencycloud's, through the core's `CallStepUp`): random sequences of
//! validate answers (good, malformed, refused), the user's codes from a
//! small pool and the call's answers (every one the guide and the sandbox
//! give), against a model of the rules kept here, not derived from
//! `CallStepUp`'s own helpers. After every step: the prompt, the count of
//! challenges, and what `call_headers` does with every code of the pool
//! (invariant 11: a refused code is never taken again by its challenge; no
//! code header without a live challenge that needs one; the validated id
//! exactly; the code marked sensitive and never printed). Then the
//! session's side: no SCA `401` expires the token (invariant 12).
//!
//! Cases: `AUTHSESSION_PROPTEST_CASES` (default 256) sequences of 1 to 40
//! steps; a failing one is kept in
//! `tests/proptest-regressions/model_payment_sca.txt`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use authsession_core::call_step_up::{CODE_HEADER, ID_HEADER, OPT_IN_HEADER};
use authsession_core::providers::currencycloud::{PAYMENT_CREATE_PATH, PaymentSca};
use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::{
    ApiError, CallAnswer, CallStepUp, Channel, CodePrompt, Config, Error, ErrorKind, HeaderValue,
    PaymentScaError, PromptReason, Provider, ResponseParts, Session, SessionState, StepUpRefused,
    Validated, Verdict,
};
use authsession_tests::{
    API_KEY, AUTH_FAILED, Harness, INTERNAL_SERVER_ERROR, LOGIN_ID, LOGIN_OK, TOKEN,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};

// ---- the guide's and the sandbox's headers and bodies ----

const SCA_ID: &str = "2c3b1a7e-77a4-4a44-9d5e-1f9b3a1c0d2e";
const ID_64: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const ID_65: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0";
const _: () = assert!(ID_64.len() == 64 && ID_65.len() == 65);

const VALIDATED: &str = r#"{"validation_result":"success"}"#;
const PAYMENT: &str = r#"{"id":"543477161-91de-012f-e284-1e0030c7f352","status":"ready_to_send"}"#;
const WRONG_CODE: &str = r#"{"error_code":"sca_check_failed","error_messages":{"x-sca-token":[{"code":"x-sca-token","message":"x-sca-token is invalid","params":{}}]}}"#;
const EXPIRED: &str = r#"{"error_code":"sca_check_failed","error_messages":{"x-sca-token":[{"code":"x-sca-token","message":"x-sca-token has expired","params":{}}]}}"#;
const USED: &str = r#"{"error_code":"sca_check_failed","error_messages":{"x-sca-token":[{"code":"x-sca-token","message":"x-sca-token has already been used","params":{}}]}}"#;
const TOO_MANY: &str = r#"{"error_code":"unauthorized","error_messages":{"x-sca-token":[{"code":"sca_check_failed","message":"Too many attempts","params":{}}]}}"#;
/// The sandbox's wording of the same.
const TOO_MANY_SANDBOX: &str = r#"{"error_code":"sca_check_failed","error_messages":{"x-sca-token":[{"code":"x-sca-token","message":"Too many attempts","params":{}}]}}"#;
const SCA_REQUIRED: &str = r#"{"error_code":"sca_check_failed","error_messages":{"x-sca-id":[{"code":"sca_required","message":"SCA required","params":{}}]}}"#;
const BODY_CHANGED: &str = r#"{"error_code":"invalid_request_body","error_messages":{"base":[{"code":"invalid_request_body","message":"The request body does not match the validated one","params":{}}]}}"#;
const BAD_SCA_ID: &str = r#"{"error_code":"invalid_x_sca_id","error_messages":{"x-sca-id":[{"code":"invalid_x_sca_id","message":"x-sca-id is invalid","params":{}}]}}"#;
const MISSING_TOKEN: &str = r#"{"error_code":"missing_x_sca_token","error_messages":{"x-sca-token":[{"code":"missing_x_sca_token","message":"x-sca-token is required","params":{}}]}}"#;
const BAD_BENEFICIARY: &str = r#"{"error_code":"payment_invalid_request","error_messages":{"beneficiary_id":[{"code":"invalid_beneficiary","message":"Beneficiary not found","params":{}}]}}"#;

/// The user's pool of codes: six well formed (the first is the right one)
/// and one malformed. None of them appears in an id or a body above.
const CODES: [&str; 7] = [
    "739201", "480516", "915263", "602847", "358190", "246073", "9152-63",
];
const RIGHT: usize = 0;
const MALFORMED_CODE: usize = 6;
/// Wrong codes a challenge takes: the fifth ends it (the guide).
const WRONG_ALLOWED: u32 = 5;
/// The refused codes a challenge remembers (`challenge.rs`); past it,
/// `TooManyCodes` is the answer. Never reached here: five wrong end it.
const REFUSED_BOUND: usize = 8;

// ---- inputs ----

/// `x-sca-id`s: three good (a UUID, 64 bytes, one byte), then missing,
/// empty, CR-LF, a space, non-ASCII, 65 bytes.
#[rustfmt::skip]
const IDS: [Option<&[u8]>; 9] = [
    Some(SCA_ID.as_bytes()), Some(ID_64.as_bytes()), Some(b"7"), None, Some(b""),
    Some(b"abc\r\nX-Evil: 1"), Some(b"abc def"), Some("caf\u{e9}".as_bytes()),
    Some(ID_65.as_bytes()),
];

/// `x-sca-type` (case does not matter) or `x-sca-required`: the value and
/// what it means, `None` for a bad or missing one.
type Flag = (Option<&'static str>, Option<bool>);
#[rustfmt::skip]
const TYPES: [Flag; 6] = [
    (Some("SMS"), Some(true)), (Some("sms"), Some(true)), (Some("NONE"), Some(false)),
    (Some("none"), Some(false)), (Some("EMAIL"), None), (None, None),
];
#[rustfmt::skip]
const REQUIREDS: [Flag; 6] = [
    (Some("true"), Some(true)), (Some("TRUE"), Some(true)), (Some("false"), Some(false)),
    (Some("False"), Some(false)), (Some("yes"), None), (None, None),
];

#[derive(Clone, Copy, Debug)]
struct ValidateAnswer {
    /// 200, 201, or 400 / 500 with an error body (and the headers anyway).
    status: u16,
    /// An index into `IDS`.
    id: usize,
    kind: Flag,
    required: Flag,
}

/// The validate's answer of the guide: a code is on its way by SMS.
const CODE_SENT: ValidateAnswer = ValidateAnswer {
    status: 200,
    id: 0,
    kind: TYPES[0],
    required: REQUIREDS[0],
};

/// What an answer to the call means by the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    /// As the server judges: `201` for the right code or a call without
    /// one, `401 x-sca-token is invalid` for a wrong one.
    Judged,
    Passes,
    /// The code is wrong: the challenge stands, until the fifth.
    Wrong,
    /// The challenge is over: only a new validate goes on.
    Over(PaymentScaError),
    /// Refused for the challenge, the code not judged: it stands.
    Refused(PaymentScaError),
    /// Not about the challenge (`auth_failed` among them: the session
    /// replays the call with the same challenge and code): it stands.
    NotAbout,
}

/// The call's answer: a name (for the shrunk case), status, body, meaning.
#[derive(Clone, Copy)]
struct Reply(&'static str, u16, &'static str, Effect);

impl core::fmt::Debug for Reply {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.0)
    }
}

const JUDGED: Reply = Reply("Judged", 0, "", Effect::Judged);
const WRONG: Reply = Reply("WrongCode", 401, WRONG_CODE, Effect::Wrong);
#[rustfmt::skip]
const REPLIES: [Reply; 13] = {
    use Effect::*;
    use PaymentScaError as Sca;
    [
        Reply("Created", 201, PAYMENT, Passes),
        WRONG,
        Reply("Expired", 401, EXPIRED, Over(Sca::CodeExpired)),
        Reply("Used", 401, USED, Over(Sca::CodeUsed)),
        Reply("TooMany", 401, TOO_MANY, Over(Sca::TooManyAttempts)),
        Reply("TooManySandbox", 401, TOO_MANY_SANDBOX, Over(Sca::TooManyAttempts)),
        Reply("ScaRequired", 401, SCA_REQUIRED, Refused(Sca::Required)),
        Reply("BodyChanged", 400, BODY_CHANGED, Refused(Sca::BodyChanged)),
        Reply("BadScaId", 400, BAD_SCA_ID, Refused(Sca::BadChallenge)),
        Reply("MissingToken", 400, MISSING_TOKEN, Refused(Sca::BadChallenge)),
        Reply("Unrelated", 400, BAD_BENEFICIARY, NotAbout),
        Reply("AuthFailed", 401, AUTH_FAILED, NotAbout),
        Reply("ServerError", 500, INTERNAL_SERVER_ERROR, NotAbout),
    ]
};

#[derive(Clone, Copy, Debug)]
enum Input {
    Validate(ValidateAnswer),
    /// The user gives code `CODES[i]`, or none; the call goes if
    /// `call_headers` gives its headers.
    Code(Option<usize>),
    /// The call's answer, if a call is out.
    Answer(Reply),
}

fn validate_answers() -> impl Strategy<Value = ValidateAnswer> {
    let flag = |flags: [Flag; 6], good: bool| {
        proptest::sample::select(flags[..if good { 4 } else { 6 }].to_vec())
    };
    let answer = |statuses: [u16; 2], good: bool| {
        let ids = if good { 0..3 } else { 0..IDS.len() };
        (
            proptest::sample::select(statuses.to_vec()),
            ids,
            flag(TYPES, good),
            flag(REQUIREDS, good),
        )
    };
    prop_oneof![6 => answer([200, 201], true), 3 => answer([200, 201], false), 1 => answer([400, 500], false)]
        .prop_map(|(status, id, kind, required)| ValidateAnswer { status, id, kind, required })
}

/// One step. A sequence in `focus` heads for long runs of wrong codes to one
/// challenge (the fifth ends it; refused codes typed again), the others mix
/// everything.
fn inputs(focus: bool) -> BoxedStrategy<Input> {
    let replies = proptest::sample::select(REPLIES.to_vec()).prop_map(Input::Answer);
    if focus {
        return prop_oneof![
            1 => Just(Input::Validate(CODE_SENT)),
            1 => Just(Input::Code(Some(RIGHT))),
            12 => (RIGHT + 1..MALFORMED_CODE).prop_map(|code| Input::Code(Some(code))),
            10 => Just(Input::Answer(WRONG)),
            2 => Just(Input::Answer(JUDGED)),
            1 => replies,
        ]
        .boxed();
    }
    prop_oneof![
        2 => validate_answers().prop_map(Input::Validate),
        5 => proptest::option::weighted(0.9, 0..CODES.len()).prop_map(Input::Code),
        3 => Just(Input::Answer(JUDGED)),
        2 => Just(Input::Answer(WRONG)),
        2 => replies,
    ]
    .boxed()
}

// ---- the model ----

#[derive(Clone, Debug, Default)]
struct Model {
    /// The live challenge: its id and whether it takes a code.
    live: Option<(&'static [u8], bool)>,
    /// The codes (indices) the server refused for the live challenge.
    refused: Vec<usize>,
    /// Wrong codes for the live challenge.
    wrong: u32,
    /// Challenges that sent a code since the start or the last payment.
    sent: u32,
    /// The last challenge ended over (expired, used, too many wrong) and
    /// no validate has succeeded since.
    over: bool,
    /// A call is out.
    in_flight: Option<Call>,
}

/// A call that went, with this code.
#[derive(Clone, Copy, Debug)]
struct Call(Option<usize>);

impl Model {
    /// (channel, reason, tries left) of what the user is asked now.
    fn prompt(&self) -> Option<(Channel, PromptReason, Option<u32>)> {
        match self.live {
            Some((_, true)) => {
                let reason = match (self.wrong, self.sent) {
                    (0, 1) => PromptReason::FirstAsk,
                    (0, _) => PromptReason::NewChallenge,
                    _ => PromptReason::CodeRefused,
                };
                Some((Channel::Sms, reason, Some(WRONG_ALLOWED - self.wrong)))
            }
            _ if self.over => Some((Channel::Sms, PromptReason::CodeExpired, None)),
            _ => None,
        }
    }

    /// What `call_headers(code)` gives: the code header's code, or the
    /// refusal.
    fn call(&self, code: Option<usize>) -> Result<Option<usize>, StepUpRefused> {
        match (self.live, code) {
            (None, _) | (Some((_, true)), None) => Err(StepUpRefused::NothingToAnswer),
            (Some((_, false)), _) => Ok(None),
            (_, Some(MALFORMED_CODE)) => Err(StepUpRefused::InvalidCode),
            (_, Some(code)) if self.refused.contains(&code) => {
                Err(StepUpRefused::CodeAlreadyRefused)
            }
            (_, Some(_)) if self.refused.len() >= REFUSED_BOUND => Err(StepUpRefused::TooManyCodes),
            (_, Some(code)) => Ok(Some(code)),
        }
    }

    /// A validate's answer: what it should be read as, and the model after.
    fn validate(&mut self, answer: &ValidateAnswer) -> Result<bool, Vec<Error>> {
        // Whatever it says, the challenge before it is gone.
        *self = Model {
            sent: self.sent,
            over: self.over,
            ..Model::default()
        };
        let (status, id) = (answer.status, IDS[answer.id]);
        if !(200..300).contains(&status) {
            // Checked as the API's error by the caller.
            return Err(Vec::new());
        }
        // The id: present, visible ASCII, at most 64 bytes.
        let malformed = |what| Error::Malformed { what, status };
        let visible = |id: &[u8]| !id.is_empty() && id.iter().all(|b| (0x21..=0x7e).contains(b));
        let mut problems = match id {
            None => vec![malformed(ID_HEADER)],
            Some(id) if !visible(id) => vec![Error::InvalidHeaderValue { what: ID_HEADER }],
            Some(id) if id.len() > 64 => vec![Error::Overflow {
                what: ID_HEADER,
                capacity: 64,
            }],
            Some(_) => Vec::new(),
        };
        for (flag, what) in [
            (answer.kind, "x-sca-type"),
            (answer.required, "x-sca-required"),
        ] {
            problems.extend(flag.1.is_none().then(|| malformed(what)));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let needs_code = answer.kind.1 == Some(true) && answer.required.1 == Some(true);
        self.live = Some((id.unwrap(), needs_code));
        // A new challenge: the last one's end is no longer what to say.
        self.over = false;
        if needs_code {
            self.sent += 1;
        }
        Ok(needs_code)
    }

    /// The answer `reply` to the call out with `code`: what it means
    /// (`Wrong`: the challenge stands, `5 - wrong` tries left).
    fn answer(&mut self, reply: Reply, code: Option<usize>) -> Effect {
        let effect = match (reply.3, code) {
            (Effect::Judged, None | Some(RIGHT)) => Effect::Passes,
            (Effect::Judged | Effect::Wrong, Some(code)) => {
                self.refused.push(code);
                self.wrong += 1;
                if self.wrong < WRONG_ALLOWED {
                    return Effect::Wrong;
                }
                Effect::Over(PaymentScaError::CodeRefused)
            }
            // A challenge without a code cannot take another.
            (Effect::Wrong, None) => Effect::Over(PaymentScaError::CodeRefused),
            (effect, _) => effect,
        };
        match effect {
            Effect::Passes => *self = Model::default(),
            Effect::Over(_) => {
                *self = Model {
                    over: true,
                    sent: self.sent,
                    ..Model::default()
                };
            }
            // The challenge stands and the code was not judged.
            _ => {}
        }
        effect
    }
}

fn reply_parts(reply: Reply, code: Option<usize>) -> (u16, &'static str) {
    match reply.3 {
        Effect::Judged if code.is_none_or(|code| code == RIGHT) => (201, PAYMENT),
        Effect::Judged => (401, WRONG_CODE),
        _ => (reply.1, reply.2),
    }
}

// ---- the checks ----

fn sca_kind(error: &Error) -> Option<PaymentScaError> {
    match error {
        Error::Api(ApiError {
            kind: ErrorKind::PaymentSca(problem),
            ..
        }) => Some(*problem),
        _ => None,
    }
}

fn parts(prompt: &CodePrompt) -> (Channel, PromptReason, Option<u32>) {
    (prompt.channel, prompt.reason, prompt.tries_left)
}

fn no_code_in(printed: &str) -> Result<(), TestCaseError> {
    for code in CODES {
        prop_assert!(!printed.contains(code), "{code:?} printed: {printed}");
    }
    Ok(())
}

/// `call_headers(code)` on `challenge` against the model's word: the
/// refusal, or exactly the opt-in, the validated id and the code, sensitive.
fn check_call(
    challenge: &mut CallStepUp,
    model: &Model,
    code: Option<usize>,
) -> Result<Result<Option<usize>, StepUpRefused>, TestCaseError> {
    let want = model.call(code);
    let got = challenge.call_headers(code.map(|code| CODES[code]));
    let headers = match (got, want) {
        (Err(got), Err(want)) => {
            prop_assert_eq!(got, want, "call_headers({:?})", code);
            return Ok(Err(got));
        }
        (Ok(headers), Ok(_)) => headers,
        (got, want) => {
            return Err(TestCaseError::fail(format!(
                "call_headers({code:?}) gave {got:?}, the model says {want:?}"
            )));
        }
    };
    let (live_id, _) = model.live.unwrap();
    no_code_in(&format!("{headers:?}"))?;
    let opt_in = headers.get(OPT_IN_HEADER).unwrap();
    prop_assert_eq!(opt_in.parts().concat(), "true");
    let id = headers.get(ID_HEADER).unwrap();
    let sent_id = id.parts().concat();
    prop_assert_eq!(sent_id.as_bytes(), live_id, "the id sent");
    prop_assert!(!id.is_sensitive());
    let code_header = headers.get(CODE_HEADER);
    let want_code = want.unwrap().map(|code| ["", CODES[code]]);
    prop_assert_eq!(code_header.map(HeaderValue::parts), want_code);
    prop_assert!(
        code_header.is_none_or(HeaderValue::is_sensitive),
        "code not sensitive"
    );
    prop_assert_eq!(headers.len(), 2 + usize::from(code_header.is_some()));
    Ok(want)
}

/// What holds after every step, checked on copies so that nothing moves.
fn check_state(challenge: &CallStepUp, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(challenge.prompt().as_ref().map(parts), model.prompt());
    prop_assert_eq!(challenge.challenges_sent(), model.sent);
    prop_assert!(model.refused.len() <= REFUSED_BOUND);
    no_code_in(&format!("{challenge:?}"))?;
    no_code_in(&format!("{challenge:#?}"))?;
    for code in (0..CODES.len()).map(Some).chain([None]) {
        let _ = check_call(&mut challenge.clone(), model, code)?;
    }
    // A refused code is never taken again by its challenge (invariant 11).
    for &code in &model.refused {
        prop_assert_eq!(
            challenge.clone().call_headers(Some(CODES[code])).map(drop),
            Err(StepUpRefused::CodeAlreadyRefused)
        );
    }
    Ok(())
}

fn step(challenge: &mut CallStepUp, model: &mut Model, input: Input) -> Result<(), TestCaseError> {
    match input {
        Input::Validate(answer) => {
            let named = [
                ("x-sca-id", IDS[answer.id]),
                ("x-sca-type", answer.kind.0.map(str::as_bytes)),
                ("x-sca-required", answer.required.0.map(str::as_bytes)),
            ];
            let headers: Vec<(&str, &[u8])> = named
                .into_iter()
                .filter_map(|(name, value)| Some((name, value?)))
                .collect();
            let (body, api_code) = match answer.status {
                400 => (BAD_BENEFICIARY, "payment_invalid_request"),
                500 => (INTERNAL_SERVER_ERROR, "internal_server_error"),
                _ => (VALIDATED, ""),
            };
            let response =
                ResponseParts::new(answer.status, body.as_bytes()).with_headers(&headers);
            let got = challenge.read_validation(&response);
            no_code_in(&format!("{got:?}"))?;
            match (got, model.validate(&answer)) {
                (Ok(Validated::CodeSent(prompt)), Ok(true)) => {
                    prop_assert_eq!(Some(parts(&prompt)), model.prompt());
                }
                (Ok(Validated::NoCodeNeeded), Ok(false)) => {}
                (Err(Error::Api(api)), Err(problems)) if problems.is_empty() => {
                    prop_assert_eq!(api.code.as_str(), api_code);
                }
                (Err(error), Err(problems)) if problems.contains(&error) => {}
                (got, want) => {
                    return Err(TestCaseError::fail(format!(
                        "validate {answer:?} read as {got:?}, the model says {want:?}"
                    )));
                }
            }
        }
        Input::Code(code) => {
            if let Ok(sent) = check_call(challenge, model, code)? {
                model.in_flight = Some(Call(sent));
            }
        }
        Input::Answer(reply) => {
            // No call is out: nothing to answer.
            let Some(Call(code)) = model.in_flight.take() else {
                return Ok(());
            };
            let (status, body) = reply_parts(reply, code);
            let got = challenge.read_answer(&ResponseParts::new(status, body.as_bytes()));
            no_code_in(&format!("{got:?}"))?;
            let want = model.answer(reply, code);
            let over = (Channel::Sms, PromptReason::CodeExpired, None);
            match (&got, want) {
                (CallAnswer::Passed, Effect::Passes)
                | (CallAnswer::NotAboutStepUp, Effect::NotAbout) => {}
                (CallAnswer::CodeRefused(prompt), Effect::Wrong) => {
                    prop_assert_eq!(Some(parts(prompt)), model.prompt());
                }
                (CallAnswer::ChallengeOver { prompt, error }, Effect::Over(problem)) => {
                    prop_assert_eq!(parts(prompt), over);
                    prop_assert_eq!(sca_kind(error), Some(problem));
                }
                (CallAnswer::Refused(error), Effect::Refused(problem)) => {
                    prop_assert_eq!(sca_kind(error), Some(problem));
                }
                (got, want) => {
                    return Err(TestCaseError::fail(format!(
                        "{reply:?} to code {code:?} read as {got:?}, the model says {want:?}"
                    )));
                }
            }
        }
    }
    Ok(())
}

fn config() -> ProptestConfig {
    let cases = std::env::var("AUTHSESSION_PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/model_payment_sca.txt",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_payment_challenges_keep_the_rules(
        to_authenticated_user in any::<bool>(),
        inputs in prop_oneof![
            1 => proptest::collection::vec(inputs(false), 1..40),
            2 => proptest::collection::vec(inputs(true), 0..40).prop_map(|steps| {
                [Input::Validate(CODE_SENT)].into_iter().chain(steps).collect::<Vec<_>>()
            }),
        ],
    ) {
        let provider = Currencycloud::default().with_payment_sca(PaymentSca { to_authenticated_user });
        let mut challenge = provider.call_step_up("POST", PAYMENT_CREATE_PATH).unwrap();
        let mut model = Model::default();
        check_state(&challenge, &model)?;
        for input in inputs {
            step(&mut challenge, &mut model, input)?;
            check_state(&challenge, &model)?;
            // The validate never carries a challenge's id, whatever came.
            let validate = challenge.validate_headers();
            prop_assert_eq!(validate.get(OPT_IN_HEADER).map(|value| value.parts().concat()),
                Some("true".to_owned()));
            prop_assert!(validate.get(ID_HEADER).is_none());
            prop_assert_eq!(validate.len(), 1 + usize::from(to_authenticated_user));
        }
    }
}

// ---- the session's side: invariant 12 ----

const REQUEST_ID: &[(&str, &[u8])] = &[("X-Request-Id", b"5b3c0e5e-3a4f-4bb8-9f0b-6a2f1d1c7e21")];

/// The bodies about a payment's SCA, each sent as a `401`.
fn sca_bodies() -> Vec<&'static str> {
    let about_sca = |reply: &&Reply| !matches!(reply.3, Effect::Passes | Effect::NotAbout);
    REPLIES
        .iter()
        .filter(about_sca)
        .map(|reply| reply.2)
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_sca_401_expires_the_token(
        replies in proptest::collection::vec((proptest::sample::select(sca_bodies()), 0u64..60_000), 1..20),
    ) {
        let provider = Currencycloud::default().with_payment_sca(PaymentSca::default());
        let credentials = CurrencycloudCredentials::new(LOGIN_ID, API_KEY).unwrap();
        let mut h = Harness::with_session(Session::with_config(provider, credentials, Config::default()));
        h.log_in_with(LOGIN_OK);
        for (body, wait) in replies {
            h.advance(core::time::Duration::from_millis(wait));
            let granted = h.grant();
            let response = ResponseParts::new(401, body.as_bytes()).with_headers(REQUEST_ID);
            let verdict = h.reply_with(granted.ticket, &response);
            let Verdict::Fatal(error) = &verdict else {
                return Err(TestCaseError::fail(format!("{body}: {verdict:?}")));
            };
            prop_assert!(sca_kind(error).is_some(), "{}: {:?}", body, error);
            prop_assert!(h.nothing_sent(), "a login after {}", body);
            prop_assert_eq!(h.take_events(), []);
            prop_assert_eq!(h.session.generation(), 1);
            prop_assert_eq!(h.state(), SessionState::Active);
        }
        h.assert_never_printed(TOKEN);
    }
}
