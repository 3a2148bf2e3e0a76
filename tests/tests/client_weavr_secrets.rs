//! The blocking Weavr client: no API key, password, token or code in anything it prints.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use authsession_core::providers::weavr::Weavr;
use authsession_core::{ErrorKind, StepUpRefused};
use authsession_sandbox::{
    SandboxConfig, WEAVR_API_KEY, WEAVR_EMAIL, WEAVR_EXPIRED_EMAIL, WEAVR_OTP_CODE, WEAVR_PASSWORD,
    WEAVR_TWO_IDENTITIES_EMAIL,
};
use authsession_std::{Client, Error, StepUpAnswer};
use authsession_tests::tap::Tap;

mod client_weavr_support;

use client_weavr_support::{
    ACCOUNTS, Asked, IDLE, MAX_WAIT, WRONG_CODE, api_error, build, builder_for, credentials,
    get_ok, provider, session_config, start_sandbox, statement, weavr_url, with_sms,
};

fn assert_secret_free(what: &str, printed: &[String], secrets: &[String]) {
    for text in printed {
        for secret in secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what} prints the secret {secret:?}: {text}"
            );
        }
    }
}

fn printed_error(error: &Error) -> [String; 3] {
    [
        error.to_string(),
        format!("{error:?}"),
        format!("{error:#?}"),
    ]
}

fn printed_client(client: &Client<Weavr>) -> [String; 2] {
    [format!("{client:?}"), format!("{client:#?}")]
}

#[test]
fn nothing_printed_holds_the_api_key_the_password_a_token_or_the_code() {
    let sandbox = start_sandbox(SandboxConfig {
        worker_threads: 4,
        weavr_lockout_after: 2,
        ..SandboxConfig::for_tests()
    });
    let tap = Tap::start(sandbox.addr());
    let url = weavr_url(&tap);
    let mut printed = Vec::new();
    let mut errors = Vec::new();

    // A step-up with a wrong code first, then the right one.
    let asked = Arc::new(Asked::default());
    let client = build(with_sms(
        builder_for(&url, provider(IDLE), WEAVR_EMAIL),
        &asked,
        |n| StepUpAnswer::Code(if n == 1 { WRONG_CODE } else { WEAVR_OTP_CODE }.to_owned()),
    ));
    printed.extend(printed_client(&client));
    get_ok(&client, &statement());
    printed.extend(printed_client(&client));

    // No callback; codes that are all wrong; a declined one.
    let bare = build(builder_for(&url, provider(IDLE), WEAVR_EMAIL));
    errors.push(bare.get(&statement()).unwrap_err());
    printed.extend(printed_client(&bare));
    let failing = build(with_sms(
        builder_for(&url, provider(IDLE), WEAVR_EMAIL),
        &asked,
        |_| StepUpAnswer::Code(WRONG_CODE.to_owned()),
    ));
    errors.push(failing.get(&statement()).unwrap_err());
    printed.extend(printed_client(&failing));
    let declining = build(with_sms(
        builder_for(&url, provider(IDLE), WEAVR_EMAIL),
        &asked,
        |_| StepUpAnswer::Declined,
    ));
    errors.push(declining.get(&statement()).unwrap_err());

    // Refused logins: an expired password (its 409 carries a token), two
    // identities, a wrong password, a locked user.
    let expired = build(builder_for(&url, provider(IDLE), WEAVR_EXPIRED_EMAIL));
    errors.push(expired.get(ACCOUNTS).unwrap_err());
    printed.extend(printed_client(&expired));
    let ambiguous = build(builder_for(
        &url,
        provider(IDLE),
        WEAVR_TWO_IDENTITIES_EMAIL,
    ));
    errors.push(ambiguous.get(ACCOUNTS).unwrap_err());
    let wrong_password = "Wrong-Passw0rd!";
    let wrong = build(
        Client::builder(provider(IDLE), credentials(WEAVR_EMAIL, wrong_password))
            .base_url(&url)
            .config(session_config())
            .max_wait(MAX_WAIT),
    );
    errors.push(wrong.get(ACCOUNTS).unwrap_err());
    errors.push(wrong.login().unwrap_err());
    printed.extend(printed_client(&wrong));
    let locked_out = build(builder_for(&url, provider(IDLE), WEAVR_EMAIL));
    errors.push(locked_out.get(ACCOUNTS).unwrap_err());

    let kinds: Vec<String> = errors.iter().map(|error| format!("{error:?}")).collect();
    assert!(matches!(errors[0], Error::StepUpRequired), "{kinds:?}");
    assert!(
        matches!(
            errors[1],
            Error::StepUpRefused(StepUpRefused::CodeAlreadyRefused)
        ),
        "{kinds:?}"
    );
    assert!(matches!(errors[2], Error::StepUpDeclined), "{kinds:?}");
    assert_eq!(api_error(&errors[3]).kind, ErrorKind::PasswordExpired);
    assert!(matches!(
        errors[4],
        Error::Rejected(ref why)
            if matches!(**why, authsession_core::Error::AmbiguousIdentity { .. })
    ));
    assert_eq!(api_error(&errors[5]).status, 403);
    assert_eq!(api_error(&errors[7]).status, 423);

    // The `"token"` values of every answer the tap saw: auth tokens,
    // access tokens, temporary tokens.
    let tokens = tap.answer_strings("token");
    // Auth and access tokens of four logins, and the expired password's.
    assert!(tokens.len() >= 8, "{tokens:?}");
    assert!(tokens.iter().all(|token| token.len() >= 16), "{tokens:?}");
    let mut secrets = tokens;
    secrets.extend(
        [
            WEAVR_API_KEY,
            WEAVR_PASSWORD,
            wrong_password,
            WEAVR_OTP_CODE,
            WRONG_CODE,
        ]
        .map(str::to_owned),
    );
    for error in &errors {
        printed.extend(printed_error(error));
    }
    printed.push(format!(
        "{:?}",
        StepUpAnswer::Code(WEAVR_OTP_CODE.to_owned())
    ));
    printed.push(format!("{:?}", credentials(WEAVR_EMAIL, WEAVR_PASSWORD)));
    assert_secret_free("the client or an error", &printed, &secrets);
    // The tap did see them: the check above checked something.
    assert!(tap.requests().contains(WEAVR_OTP_CODE));
    assert!(tap.requests().contains(WEAVR_API_KEY));
}
