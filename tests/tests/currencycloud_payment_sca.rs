//! Currencycloud's payments with strong customer authentication, scripted
//! against the core with the guide's headers and bodies: a `CallStepUp`
//! validates, takes the user's code, and reads the call's answer; the
//! session beside it keeps the token (none of these `401`s expires it) and
//! replays a call whose token was refused after one login, with the same
//! challenge.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use authsession_core::call_step_up::{CODE_HEADER, ID_HEADER, OPT_IN_HEADER};
use authsession_core::providers::currencycloud::{PAYMENT_CREATE_PATH, PaymentSca};
use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::{
    CallAnswer, CallStepUp, Config, Error, ErrorKind, ExpiryReason, Headers, PaymentScaError,
    PromptReason, Provider, ResponseParts, Session, StepUpRefused, Validated, Verdict,
};
use authsession_tests::{AUTH_FAILED, Harness, LOGIN_ID, NEXT_LOGIN_OK, Seen, TOKEN};

/// The headers of a validate answer.
type AnswerHeaders<'a> = &'a [(&'a str, &'a [u8])];

const SCA_ID: &str = "2c3b1a7e-77a4-4a44-9d5e-1f9b3a1c0d2e";
const VALIDATED: &[u8] = br#"{"validation_result":"success"}"#;
const WRONG_CODE: &str = r#"{"error_code":"sca_check_failed","error_messages":{"x-sca-token":[{"code":"x-sca-token","message":"x-sca-token is invalid","params":{}}]}}"#;
const EXPIRED: &str = r#"{"error_code":"sca_check_failed","error_messages":{"x-sca-token":[{"code":"x-sca-token","message":"x-sca-token has expired","params":{}}]}}"#;
const USED: &str = r#"{"error_code":"sca_check_failed","error_messages":{"x-sca-token":[{"code":"x-sca-token","message":"x-sca-token has already been used","params":{}}]}}"#;
const TOO_MANY: &str = r#"{"error_code":"unauthorized","error_messages":{"x-sca-token":[{"code":"sca_check_failed","message":"Too many attempts","params":{}}]}}"#;
const SCA_REQUIRED: &str = r#"{"error_code":"sca_check_failed","error_messages":{"x-sca-id":[{"code":"sca_required","message":"SCA required","params":{}}]}}"#;
const BODY_CHANGED: &str = r#"{"error_code":"invalid_request_body","error_messages":{"base":[{"code":"invalid_request_body","message":"The request body does not match the validated one","params":{}}]}}"#;
const BAD_BENEFICIARY: &str = r#"{"error_code":"payment_invalid_request","error_messages":{"beneficiary_id":[{"code":"invalid_beneficiary","message":"Beneficiary not found","params":{}}]}}"#;
const PAYMENT: &str = r#"{"id":"543477161-91de-012f-e284-1e0030c7f352","status":"ready_to_send"}"#;

fn provider(sca: PaymentSca) -> Currencycloud {
    Currencycloud::default().with_payment_sca(sca)
}

fn challenge() -> CallStepUp {
    provider(PaymentSca::default())
        .call_step_up("POST", PAYMENT_CREATE_PATH)
        .expect("a payment needs a challenge")
}

const SMS_REQUIRED: [(&str, &[u8]); 3] = [
    ("x-sca-id", SCA_ID.as_bytes()),
    ("x-sca-type", b"SMS"),
    ("x-sca-required", b"true"),
];
const NONE_NOT_REQUIRED: [(&str, &[u8]); 3] = [
    ("x-sca-id", SCA_ID.as_bytes()),
    ("x-sca-type", b"NONE"),
    ("x-sca-required", b"false"),
];
const SMS_NOT_REQUIRED: [(&str, &[u8]); 3] = [
    ("x-sca-id", SCA_ID.as_bytes()),
    ("x-sca-type", b"SMS"),
    ("x-sca-required", b"false"),
];

/// The validate's `200` with the guide's three headers.
fn validated(headers: &'static [(&'static str, &'static [u8])]) -> ResponseParts<'static> {
    ResponseParts::new(200, VALIDATED).with_headers(headers)
}

/// A challenge whose code was just sent.
fn code_sent() -> CallStepUp {
    let mut challenge = challenge();
    let Validated::CodeSent(prompt) = challenge
        .read_validation(&validated(&SMS_REQUIRED))
        .unwrap()
    else {
        panic!("no code sent");
    };
    assert_eq!(prompt.reason, PromptReason::FirstAsk);
    assert_eq!(prompt.tries_left, Some(5));
    challenge
}

fn header(headers: &Headers<'_>, name: &str) -> Option<String> {
    headers.get(name).map(|value| value.parts().concat())
}

fn sca_kind(error: &Error) -> Option<PaymentScaError> {
    match error {
        Error::Api(api) => match api.kind {
            ErrorKind::PaymentSca(problem) => Some(problem),
            _ => None,
        },
        _ => None,
    }
}

#[test]
fn only_a_payment_create_needs_a_challenge_and_only_with_sca_on() {
    assert!(
        Currencycloud::default()
            .call_step_up("POST", PAYMENT_CREATE_PATH)
            .is_none()
    );
    let on = provider(PaymentSca::default());
    assert!(on.call_step_up("POST", PAYMENT_CREATE_PATH).is_some());
    assert!(on.call_step_up("post", PAYMENT_CREATE_PATH).is_some());
    assert!(on.call_step_up("GET", PAYMENT_CREATE_PATH).is_none());
    assert!(on.call_step_up("POST", "/v2/payments/validate").is_none());
    assert!(on.call_step_up("POST", "/v2/conversions/create").is_none());
}

#[test]
fn the_validate_opts_in_and_never_carries_a_challenge_id() {
    let plain = challenge().validate_headers();
    assert_eq!(header(&plain, OPT_IN_HEADER).as_deref(), Some("true"));
    assert_eq!(plain.len(), 1);
    assert!(plain.get(ID_HEADER).is_none());

    let to_user = provider(PaymentSca {
        to_authenticated_user: true,
    })
    .call_step_up("POST", PAYMENT_CREATE_PATH)
    .unwrap()
    .validate_headers();
    assert_eq!(
        header(&to_user, "x-sca-to-authenticated-user").as_deref(),
        Some("true")
    );
    assert!(to_user.get(ID_HEADER).is_none());
}

#[test]
fn an_sms_challenge_asks_for_the_code_and_the_call_carries_it_as_a_secret() {
    let mut challenge = code_sent();
    let headers = challenge.call_headers(Some("123456")).unwrap();
    assert_eq!(header(&headers, OPT_IN_HEADER).as_deref(), Some("true"));
    assert_eq!(header(&headers, ID_HEADER).as_deref(), Some(SCA_ID));
    assert_eq!(header(&headers, CODE_HEADER).as_deref(), Some("123456"));
    assert!(headers.get(CODE_HEADER).unwrap().is_sensitive());
    let printed = format!("{headers:?}");
    assert!(!printed.contains("123456"), "{printed}");

    assert_eq!(
        challenge.read_answer(&ResponseParts::new(200, PAYMENT.as_bytes())),
        CallAnswer::Passed
    );
    // Spent: nothing more to send with it.
    assert_eq!(
        challenge.call_headers(Some("123456")).map(drop),
        Err(StepUpRefused::NothingToAnswer)
    );
    assert_eq!(challenge.prompt(), None);
}

#[test]
fn none_or_not_required_goes_with_the_challenge_id_alone() {
    for headers in [&NONE_NOT_REQUIRED, &SMS_NOT_REQUIRED] {
        let mut challenge = challenge();
        assert_eq!(
            challenge.read_validation(&validated(headers)),
            Ok(Validated::NoCodeNeeded)
        );
        assert_eq!(challenge.prompt(), None);
        let headers = challenge.call_headers(None).unwrap();
        assert_eq!(header(&headers, ID_HEADER).as_deref(), Some(SCA_ID));
        assert!(headers.get(CODE_HEADER).is_none());
    }
}

#[test]
fn an_sms_challenge_without_a_code_or_with_a_malformed_one_sends_nothing() {
    let mut challenge = code_sent();
    assert_eq!(
        challenge.call_headers(None).map(drop),
        Err(StepUpRefused::NothingToAnswer)
    );
    for code in ["", "12 34", "12\r\n34", "12345678901234567", "１２３"] {
        assert_eq!(
            challenge.call_headers(Some(code)).map(drop),
            Err(StepUpRefused::InvalidCode),
            "{code:?}"
        );
    }
}

#[test]
fn a_refused_code_is_never_sent_again_to_its_challenge() {
    let mut challenge = code_sent();
    challenge.call_headers(Some("111111")).unwrap();
    let CallAnswer::CodeRefused(prompt) =
        challenge.read_answer(&ResponseParts::new(401, WRONG_CODE.as_bytes()))
    else {
        panic!("not a refused code");
    };
    assert_eq!(prompt.reason, PromptReason::CodeRefused);
    assert_eq!(prompt.tries_left, Some(4));
    assert_eq!(
        challenge.call_headers(Some("111111")).map(drop),
        Err(StepUpRefused::CodeAlreadyRefused)
    );
    let headers = challenge.call_headers(Some("123456")).unwrap();
    assert_eq!(header(&headers, ID_HEADER).as_deref(), Some(SCA_ID));
}

#[test]
fn the_fifth_wrong_code_ends_the_challenge() {
    let mut challenge = code_sent();
    for (n, code) in ["100001", "100002", "100003", "100004"].iter().enumerate() {
        challenge.call_headers(Some(code)).unwrap();
        let answer = challenge.read_answer(&ResponseParts::new(401, WRONG_CODE.as_bytes()));
        let CallAnswer::CodeRefused(prompt) = answer else {
            panic!("{answer:?}");
        };
        assert_eq!(prompt.tries_left, Some(4 - u32::try_from(n).unwrap()));
    }
    challenge.call_headers(Some("100005")).unwrap();
    let answer = challenge.read_answer(&ResponseParts::new(401, WRONG_CODE.as_bytes()));
    let CallAnswer::ChallengeOver { prompt, .. } = answer else {
        panic!("{answer:?}");
    };
    assert_eq!(prompt.reason, PromptReason::CodeExpired);
    assert_eq!(
        challenge.call_headers(Some("123456")).map(drop),
        Err(StepUpRefused::NothingToAnswer)
    );
}

#[test]
fn an_expired_used_or_exhausted_challenge_is_over_until_a_new_validate() {
    for (body, problem) in [
        (EXPIRED, PaymentScaError::CodeExpired),
        (USED, PaymentScaError::CodeUsed),
        (TOO_MANY, PaymentScaError::TooManyAttempts),
    ] {
        let mut challenge = code_sent();
        challenge.call_headers(Some("123456")).unwrap();
        let answer = challenge.read_answer(&ResponseParts::new(401, body.as_bytes()));
        let CallAnswer::ChallengeOver { prompt, error } = answer else {
            panic!("{body}: {answer:?}");
        };
        assert_eq!(sca_kind(&error), Some(problem), "{body}");
        assert_eq!(prompt.reason, PromptReason::CodeExpired);
        assert_eq!(challenge.prompt(), Some(prompt));
        assert!(challenge.call_headers(Some("654321")).is_err(), "{body}");

        // A new validate sends a new code: a new challenge, which may be
        // sent the code of the old one (invariant 11 is per challenge).
        let Validated::CodeSent(prompt) = challenge
            .read_validation(&validated(&SMS_REQUIRED))
            .unwrap()
        else {
            panic!("{body}: no new code");
        };
        assert_eq!(prompt.reason, PromptReason::NewChallenge);
        assert_eq!(challenge.challenges_sent(), 2);
        assert!(challenge.call_headers(Some("123456")).is_ok(), "{body}");
    }
}

#[test]
fn refusals_another_code_cannot_mend_are_the_calls_errors() {
    for (status, body, problem) in [
        (400, BODY_CHANGED, PaymentScaError::BodyChanged),
        (401, SCA_REQUIRED, PaymentScaError::Required),
        (
            400,
            r#"{"error_code":"invalid_x_sca_id","error_messages":{}}"#,
            PaymentScaError::BadChallenge,
        ),
        (
            400,
            r#"{"error_code":"missing_x_sca_token","error_messages":{}}"#,
            PaymentScaError::BadChallenge,
        ),
    ] {
        let mut challenge = code_sent();
        challenge.call_headers(Some("123456")).unwrap();
        let answer = challenge.read_answer(&ResponseParts::new(status, body.as_bytes()));
        let CallAnswer::Refused(error) = answer else {
            panic!("{body}: {answer:?}");
        };
        assert_eq!(sca_kind(&error), Some(problem), "{body}");
        // The code was not judged: the challenge still takes it.
        assert!(challenge.call_headers(Some("123456")).is_ok(), "{body}");
    }
}

#[test]
fn an_answer_that_does_not_speak_of_sca_is_the_calls_own() {
    let mut challenge = code_sent();
    challenge.call_headers(Some("123456")).unwrap();
    assert_eq!(
        challenge.read_answer(&ResponseParts::new(400, BAD_BENEFICIARY.as_bytes())),
        CallAnswer::NotAboutStepUp
    );
    assert!(challenge.call_headers(Some("123456")).is_ok());
}

#[test]
fn the_validate_headers_are_checked_before_anything_is_kept() {
    let id_65 = "a".repeat(65);
    let cases: [(AnswerHeaders<'_>, Error); 7] = [
        (
            &[("x-sca-type", b"SMS"), ("x-sca-required", b"true")],
            Error::Malformed {
                what: "x-sca-id",
                status: 200,
            },
        ),
        (
            &[
                ("x-sca-id", b"abc\r\nX-Evil: 1"),
                ("x-sca-type", b"SMS"),
                ("x-sca-required", b"true"),
            ],
            Error::InvalidHeaderValue { what: "x-sca-id" },
        ),
        (
            &[
                ("x-sca-id", b"abc def"),
                ("x-sca-type", b"SMS"),
                ("x-sca-required", b"true"),
            ],
            Error::InvalidHeaderValue { what: "x-sca-id" },
        ),
        (
            &[
                ("x-sca-id", "é".as_bytes()),
                ("x-sca-type", b"SMS"),
                ("x-sca-required", b"true"),
            ],
            Error::InvalidHeaderValue { what: "x-sca-id" },
        ),
        (
            &[
                ("x-sca-id", id_65.as_bytes()),
                ("x-sca-type", b"SMS"),
                ("x-sca-required", b"true"),
            ],
            Error::Overflow {
                what: "x-sca-id",
                capacity: 64,
            },
        ),
        (
            &[
                ("x-sca-id", SCA_ID.as_bytes()),
                ("x-sca-type", b"EMAIL"),
                ("x-sca-required", b"true"),
            ],
            Error::Malformed {
                what: "x-sca-type",
                status: 200,
            },
        ),
        (
            &[
                ("x-sca-id", SCA_ID.as_bytes()),
                ("x-sca-type", b"SMS"),
                ("x-sca-required", b"yes"),
            ],
            Error::Malformed {
                what: "x-sca-required",
                status: 200,
            },
        ),
    ];
    for (headers, expected) in cases {
        let mut challenge = challenge();
        let answer = ResponseParts::new(200, VALIDATED).with_headers(headers);
        assert_eq!(challenge.read_validation(&answer), Err(expected));
        assert_eq!(
            challenge.call_headers(Some("123456")).map(drop),
            Err(StepUpRefused::NothingToAnswer)
        );
        assert_eq!(challenge.prompt(), None);
    }
}

#[test]
fn a_refused_validate_is_read_as_the_apis_error() {
    let mut challenge = challenge();
    let answer = ResponseParts::new(400, BAD_BENEFICIARY.as_bytes());
    let Err(Error::Api(api)) = challenge.read_validation(&answer) else {
        panic!("not the API's error");
    };
    assert_eq!(api.code, "payment_invalid_request");
    assert_eq!(api.field.unwrap().code, "invalid_beneficiary");
}

#[test]
fn the_sessions_token_outlives_every_sca_401_and_a_refused_token_is_replayed_once() {
    let mut h = Harness::with_session(Session::with_config(
        provider(PaymentSca::default()),
        CurrencycloudCredentials::new(LOGIN_ID, authsession_tests::API_KEY).unwrap(),
        Config::default(),
    ));
    h.log_in_with(authsession_tests::LOGIN_OK);
    let mut challenge = code_sent();

    // The code is sent and the payment's SCA refuses it: the token stays.
    for body in [WRONG_CODE, EXPIRED, USED, TOO_MANY, SCA_REQUIRED] {
        let granted = h.grant();
        let verdict = h.reply(granted.ticket, 401, body);
        let Verdict::Fatal(error) = verdict else {
            panic!("{body}: {verdict:?}");
        };
        assert!(sca_kind(&error).is_some(), "{body}");
        assert!(h.nothing_sent(), "{body}: no login");
        assert_eq!(h.session.generation(), 1);
    }

    // The token itself is refused while the create carries the code: one
    // login, and the same challenge takes the same code (it was not judged).
    challenge.call_headers(Some("123456")).unwrap();
    let granted = h.grant();
    assert_eq!(h.reply(granted.ticket, 401, AUTH_FAILED), Verdict::Replay);
    let login = h.take_one_sent();
    h.answer(&login, 200, NEXT_LOGIN_OK);
    assert_eq!(
        h.take_events(),
        [
            Seen::Expired {
                why: ExpiryReason::Refused
            },
            Seen::LoggedIn { generation: 2 }
        ]
    );
    let granted = h.grant();
    assert!(granted.headers.iter().all(|header| header.value != TOKEN));
    let headers = challenge.call_headers(Some("123456")).unwrap();
    assert_eq!(header(&headers, ID_HEADER).as_deref(), Some(SCA_ID));
    assert_eq!(
        challenge.read_answer(&ResponseParts::new(201, PAYMENT.as_bytes())),
        CallAnswer::Passed
    );
}
