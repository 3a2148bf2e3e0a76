//! Currencycloud payments with SCA through the blocking client, counted
//! where the sandbox sees them: validations, codes sent by SMS, codes
//! checked, payments created, logins.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client_currencycloud_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use authsession_core::providers::Currencycloud;
use authsession_core::providers::currencycloud::{PAYMENT_CREATE_PATH, PaymentSca};
use authsession_core::{
    CallAnswer, Channel, CodePrompt, ErrorKind, PaymentScaError, PromptReason, Provider,
    StepUpRefused, Validated,
};
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_SCA_CODE, Sandbox, SandboxConfig};
use authsession_std::{Client, Error, StepUpAnswer, ureq};
use authsession_tests::tap::Tap;
use client_currencycloud_support::{
    LONG_IDLE, assert_error_secret_free, credentials, session_config, start_sandbox,
};

const WRONG_CODE: &str = "111111";
const BENEFICIARY: &str = "b9e1a0a8-0b6f-4b7e-9d7c-2b8e3c1f5a10";

/// A payment of `amount` EUR (the sandbox wants SCA from 100).
fn payment(amount: &str, reference: &str) -> Vec<(&'static str, String)> {
    vec![
        ("currency", "EUR".to_owned()),
        ("beneficiary_id", BENEFICIARY.to_owned()),
        ("amount", amount.to_owned()),
        ("reason", "Invoice".to_owned()),
        ("reference", reference.to_owned()),
    ]
}

fn pay(
    client: &Client<Currencycloud>,
    fields: &[(&'static str, String)],
) -> Result<http::Response<Vec<u8>>, Error> {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.post_form(PAYMENT_CREATE_PATH, &fields)
}

/// The prompts the callback was shown, and the answers it gives in turn.
#[derive(Clone, Default)]
struct Script {
    prompts: Arc<Mutex<Vec<CodePrompt>>>,
}

impl Script {
    fn prompts(&self) -> Vec<CodePrompt> {
        self.prompts.lock().unwrap().clone()
    }
}

/// A client of `url` with payment SCA on, whose callback answers with
/// `answer(n, prompt)` for its `n`-th prompt.
fn client_with(
    url: &str,
    answer: impl Fn(usize, &CodePrompt) -> StepUpAnswer + Send + Sync + 'static,
) -> (Client<Currencycloud>, Script) {
    let script = Script::default();
    let prompts = Arc::clone(&script.prompts);
    let provider =
        Currencycloud::with_idle_timeout(LONG_IDLE).with_payment_sca(PaymentSca::default());
    let client = Client::builder(provider, credentials(CURRENCYCLOUD_API_KEY))
        .base_url(url)
        .config(session_config(Duration::ZERO))
        .max_wait(Duration::from_secs(10))
        .step_up(Channel::Sms, move |prompt| {
            let n = {
                let mut seen = prompts.lock().unwrap();
                seen.push(*prompt);
                seen.len() - 1
            };
            answer(n, prompt)
        })
        .build()
        .unwrap();
    (client, script)
}

fn code(code: &str) -> StepUpAnswer {
    StepUpAnswer::Code(code.to_owned())
}

fn sandbox() -> Sandbox {
    start_sandbox(SandboxConfig {
        worker_threads: 8,
        idle_timeout: Duration::from_secs(60),
        ..SandboxConfig::for_tests()
    })
}

fn payment_counters(sandbox: &Sandbox) -> (u64, u64, u64, u64) {
    let c = sandbox.counters();
    (
        c.payment_validations,
        c.payment_sms_sent,
        c.payment_codes_checked,
        c.payments_created,
    )
}

#[test]
fn the_right_code_is_one_validate_one_code_checked_and_one_payment() {
    let sandbox = sandbox();
    let (client, script) = client_with(&sandbox.currencycloud_url(), |_, _| {
        code(CURRENCYCLOUD_SCA_CODE)
    });

    let created = pay(&client, &payment("250.00", "INV-1")).unwrap();

    assert_eq!(created.status(), 200);
    let body = String::from_utf8_lossy(created.body()).into_owned();
    assert!(body.contains(r#""status":"ready_to_send""#), "{body}");
    assert_eq!(payment_counters(&sandbox), (1, 1, 1, 1));
    assert_eq!(sandbox.counters().logins, 1);
    let prompts = script.prompts();
    assert_eq!(prompts.len(), 1);
    assert_eq!(prompts[0].reason, PromptReason::FirstAsk);
    assert_eq!(prompts[0].tries_left, Some(5));
}

#[test]
fn a_wrong_code_then_the_right_one_is_two_checks_and_never_the_same_code_twice() {
    let sandbox = sandbox();
    let tap = Tap::start(sandbox.addr());
    let (client, script) = client_with(&tap.url(), |n, _| {
        code(if n == 0 {
            WRONG_CODE
        } else {
            CURRENCYCLOUD_SCA_CODE
        })
    });

    pay(&client, &payment("250.00", "INV-2")).unwrap();

    assert_eq!(payment_counters(&sandbox), (1, 1, 2, 1));
    let prompts = script.prompts();
    assert_eq!(prompts.len(), 2);
    assert_eq!(prompts[1].reason, PromptReason::CodeRefused);
    assert_eq!(prompts[1].tries_left, Some(4));
    let sent = tap.requests().to_ascii_lowercase();
    assert_eq!(
        sent.matches(&format!("x-sca-token: {WRONG_CODE}")).count(),
        1
    );
    assert_eq!(
        sent.matches(&format!("x-sca-token: {CURRENCYCLOUD_SCA_CODE}"))
            .count(),
        1
    );
}

#[test]
fn the_same_wrong_code_again_is_refused_without_a_request() {
    let sandbox = sandbox();
    let (client, script) = client_with(&sandbox.currencycloud_url(), |_, _| code(WRONG_CODE));

    let error = pay(&client, &payment("250.00", "INV-3")).unwrap_err();

    assert!(
        matches!(
            error,
            Error::StepUpRefused(StepUpRefused::CodeAlreadyRefused)
        ),
        "{error:?}"
    );
    assert_eq!(payment_counters(&sandbox), (1, 1, 1, 0));
    assert_eq!(script.prompts().len(), 2);
    assert_error_secret_free(&error, &[WRONG_CODE.to_owned()]);
}

#[test]
fn a_small_payment_needs_no_code_and_the_callback_is_not_asked() {
    let sandbox = sandbox();
    let (client, script) = client_with(&sandbox.currencycloud_url(), |_, prompt| {
        panic!("asked for a code: {prompt:?}")
    });

    let created = pay(&client, &payment("20.00", "INV-4")).unwrap();

    assert_eq!(created.status(), 200);
    assert_eq!(payment_counters(&sandbox), (1, 0, 0, 1));
    assert!(script.prompts().is_empty());
}

#[test]
fn a_declined_callback_sends_no_create() {
    let sandbox = sandbox();
    let (client, _) = client_with(&sandbox.currencycloud_url(), |_, _| StepUpAnswer::Declined);

    let error = pay(&client, &payment("250.00", "INV-5")).unwrap_err();

    assert!(matches!(error, Error::StepUpDeclined), "{error:?}");
    assert_eq!(payment_counters(&sandbox), (1, 1, 0, 0));
}

#[test]
fn declining_after_a_refused_code_gives_the_servers_refusal() {
    let sandbox = sandbox();
    let (client, _) = client_with(&sandbox.currencycloud_url(), |n, _| {
        if n == 0 {
            code(WRONG_CODE)
        } else {
            StepUpAnswer::Declined
        }
    });

    let error = pay(&client, &payment("250.00", "INV-6")).unwrap_err();

    assert!(matches!(error, Error::StepUpFailed(_)), "{error:?}");
    let api = error.api_error().unwrap();
    assert_eq!(
        api.kind,
        ErrorKind::PaymentSca(PaymentScaError::CodeRefused)
    );
    assert_eq!(error.api_code(), Some("sca_check_failed"));
    assert_eq!(payment_counters(&sandbox), (1, 1, 1, 0));
}

#[test]
fn the_token_lapsing_between_validate_and_create_costs_one_login_and_no_second_sms() {
    let sandbox = start_sandbox(SandboxConfig {
        worker_threads: 4,
        idle_timeout: Duration::from_millis(300),
        ..SandboxConfig::for_tests()
    });
    // The user takes longer to type than the server keeps the token idle;
    // the client does not know the server's timeout.
    let (client, _) = client_with(&sandbox.currencycloud_url(), |_, _| {
        std::thread::sleep(Duration::from_millis(600));
        code(CURRENCYCLOUD_SCA_CODE)
    });

    pay(&client, &payment("250.00", "INV-7")).unwrap();

    let counters = sandbox.counters();
    assert_eq!(counters.logins, 2);
    assert_eq!(counters.unauthorized, 1);
    assert_eq!(payment_counters(&sandbox), (1, 1, 1, 1));
}

#[test]
fn an_expired_code_asks_whether_to_send_a_new_one_and_only_then_validates_again() {
    let sandbox = start_sandbox(SandboxConfig {
        worker_threads: 4,
        idle_timeout: Duration::from_secs(60),
        currencycloud_sca_code_lifetime: Duration::from_millis(200),
        ..SandboxConfig::for_tests()
    });
    let (client, script) = client_with(&sandbox.currencycloud_url(), |n, prompt| match n {
        0 => {
            std::thread::sleep(Duration::from_millis(400));
            code(CURRENCYCLOUD_SCA_CODE)
        }
        1 => {
            assert_eq!(prompt.reason, PromptReason::CodeExpired);
            StepUpAnswer::NewCode
        }
        _ => code(CURRENCYCLOUD_SCA_CODE),
    });

    pay(&client, &payment("250.00", "INV-8")).unwrap();

    assert_eq!(payment_counters(&sandbox), (2, 2, 1, 1));
    let reasons: Vec<_> = script.prompts().iter().map(|p| p.reason).collect();
    assert_eq!(
        reasons,
        [
            PromptReason::FirstAsk,
            PromptReason::CodeExpired,
            PromptReason::NewChallenge
        ]
    );
}

#[test]
fn sca_401s_never_cause_a_login() {
    let sandbox = sandbox();
    // Without SCA on, the client sends the payment bare: `401 sca_required`.
    let bare = Client::builder(
        Currencycloud::with_idle_timeout(LONG_IDLE),
        credentials(CURRENCYCLOUD_API_KEY),
    )
    .base_url(sandbox.currencycloud_url())
    .config(session_config(Duration::ZERO))
    .build()
    .unwrap();
    let error = pay(&bare, &payment("250.00", "INV-9")).unwrap_err();
    assert!(matches!(error, Error::Api(_)), "{error:?}");
    let api = error.api_error().unwrap();
    assert_eq!(api.kind, ErrorKind::PaymentSca(PaymentScaError::Required));

    // A wrong code: `401 x-sca-token`, then the right one.
    let (client, _) = client_with(&sandbox.currencycloud_url(), |n, _| {
        code(if n == 0 {
            WRONG_CODE
        } else {
            CURRENCYCLOUD_SCA_CODE
        })
    });
    pay(&client, &payment("250.00", "INV-10")).unwrap();

    let counters = sandbox.counters();
    assert_eq!(counters.logins, 2, "one login per client");
    assert_eq!(counters.unauthorized, 0);
    assert_eq!(bare.generation(), 1);
    assert_eq!(client.generation(), 1);
}

#[test]
fn a_body_changed_between_validate_and_create_is_refused_and_reported() {
    let sandbox = sandbox();
    let tap = Tap::start(sandbox.addr());
    let (client, _) = client_with(&tap.url(), |_, _| code(CURRENCYCLOUD_SCA_CODE));
    client.get("/v2/accounts/current").unwrap();
    let token = tap.answer_strings("auth_token").pop().unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = |path: &str| format!("{}{path}", sandbox.currencycloud_url());
    let form = |amount: &str| {
        format!("currency=EUR&beneficiary_id={BENEFICIARY}&amount={amount}&reason=Invoice")
    };

    // Validate 250.00, then create 2500.00 with the challenge of 250.00.
    let mut challenge = Currencycloud::default()
        .with_payment_sca(PaymentSca::default())
        .call_step_up("POST", PAYMENT_CREATE_PATH)
        .unwrap();
    let mut validate = agent
        .post(url(challenge.validate_path()))
        .header("X-Auth-Token", &token)
        .header("Content-Type", "application/x-www-form-urlencoded");
    for header in challenge.validate_headers().iter() {
        validate = validate.header(header.name, header.value.parts().concat());
    }
    let validated = recorded(validate.send(form("250.00")).unwrap());
    assert!(matches!(
        challenge.read_validation(&validated.parts()),
        Ok(Validated::CodeSent(_))
    ));
    let mut create = agent
        .post(url(PAYMENT_CREATE_PATH))
        .header("X-Auth-Token", &token)
        .header("Content-Type", "application/x-www-form-urlencoded");
    for header in challenge
        .call_headers(Some(CURRENCYCLOUD_SCA_CODE))
        .unwrap()
        .iter()
    {
        create = create.header(header.name, header.value.parts().concat());
    }
    let refused = recorded(create.send(form("2500.00")).unwrap());

    assert_eq!(refused.status, 400);
    let CallAnswer::Refused(error) = challenge.read_answer(&refused.parts()) else {
        panic!("not refused: {}", String::from_utf8_lossy(&refused.body));
    };
    let authsession_core::Error::Api(api) = error else {
        panic!("{error:?}");
    };
    assert_eq!(
        api.kind,
        ErrorKind::PaymentSca(PaymentScaError::BodyChanged)
    );
    assert_eq!(api.code, "invalid_request_body");
    assert_eq!(sandbox.counters().payments_created, 0);
}

/// A raw answer, kept so that the core can read it.
struct Recorded {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

fn recorded(mut response: http::Response<ureq::Body>) -> Recorded {
    let headers = ["x-sca-id", "x-sca-type", "x-sca-required", "x-request-id"]
        .iter()
        .filter_map(|name| {
            let value = response.headers().get(*name)?;
            Some(((*name).to_owned(), value.as_bytes().to_vec()))
        })
        .collect();
    Recorded {
        status: response.status().as_u16(),
        headers,
        body: response.body_mut().read_to_vec().unwrap(),
    }
}

impl Recorded {
    fn parts(&self) -> RecordedParts<'_> {
        RecordedParts(self)
    }
}

struct RecordedParts<'a>(&'a Recorded);

impl authsession_core::Response for RecordedParts<'_> {
    fn status(&self) -> u16 {
        self.0.status
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.0
            .headers
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }
    fn body(&self) -> &[u8] {
        &self.0.body
    }
}

#[test]
fn thirty_two_threads_paying_at_once_each_with_its_own_challenge_share_one_login() {
    let sandbox = sandbox();
    let (client, script) = client_with(&sandbox.currencycloud_url(), |_, _| {
        code(CURRENCYCLOUD_SCA_CODE)
    });
    let client = Arc::new(client);

    let payers: Vec<_> = (0..32)
        .map(|n| {
            let client = Arc::clone(&client);
            std::thread::spawn(move || pay(&client, &payment("250.00", &format!("INV-T{n}"))))
        })
        .collect();
    for payer in payers {
        assert_eq!(payer.join().unwrap().unwrap().status(), 200);
    }

    let counters = sandbox.counters();
    assert_eq!(counters.logins, 1);
    assert_eq!(payment_counters(&sandbox), (32, 32, 32, 32));
    assert_eq!(script.prompts().len(), 32);
}

#[test]
fn a_challenge_header_of_the_callers_own_never_reaches_the_validate() {
    let sandbox = sandbox();
    let (client, _) = client_with(&sandbox.currencycloud_url(), |_, _| {
        code(CURRENCYCLOUD_SCA_CODE)
    });
    let fields: Vec<(&str, String)> = payment("250.00", "INV-11");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (body, content_type) = authsession_std::multipart_form(&fields).unwrap();
    let request = http::Request::post(PAYMENT_CREATE_PATH)
        .header("Content-Type", content_type)
        .header("x-sca-id", "5e1f0c4a-0000-4000-8000-000000000000")
        .header("x-sca-token", "999999")
        .body(body)
        .unwrap();

    // The sandbox refuses a validate that carries an id
    // (`invalid_extra_x_sca_id`); this one goes through.
    let created = client.send(authsession_core::Level::User, request).unwrap();

    assert_eq!(created.status(), 200);
    assert_eq!(payment_counters(&sandbox), (1, 1, 1, 1));
}
