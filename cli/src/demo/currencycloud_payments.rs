//! The Currencycloud payments of the demo: one under the SCA threshold,
//! which needs no code, and one with SCA, where a wrong code is refused
//! and never sent again before the right one goes.

use std::sync::Mutex;

use authsession_core::providers::currencycloud::{PAYMENT_CREATE_PATH, PaymentSca};
use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::{Channel, CodePrompt, Config};
use authsession_sandbox::{
    CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_SCA_CODE, Counters, Sandbox,
};
use authsession_std::{Client, StepUpAnswer};

use super::{IDLE, MARGIN, Outcome, expect_delta, step};

/// The code the demo's user types first, which is wrong.
const WRONG_CODE: &str = "000000";
const BENEFICIARY: &str = "b9e1a0a8-0b6f-4b7e-9d7c-2b8e3c1f5a10";

pub fn walk(sandbox: &Sandbox) -> Outcome {
    let client = payments_client(sandbox)?;

    step("5. A small payment (20 EUR): validated, no code needed (x-sca-type NONE), created");
    let before = sandbox.counters();
    pay(&client, "20.00", "DEMO-SMALL")?;
    expect_payments(sandbox, before, (1, 0, 0, 1))?;

    step(
        "6. A payment with SCA (250 EUR): the SMS code is asked for; a wrong one is refused, never sent again, then the right one",
    );
    let before = sandbox.counters();
    pay(&client, "250.00", "DEMO-SCA")?;
    expect_payments(sandbox, before, (1, 1, 2, 1))?;
    expect_delta(
        sandbox,
        before,
        |c| (c.logins, 0),
        "no login for the payment's 401",
    )?;
    client.logout().map_err(|error| error.to_string())
}

fn pay(client: &Client<Currencycloud>, amount: &str, reference: &str) -> Outcome {
    let fields = [
        ("currency", "EUR"),
        ("beneficiary_id", BENEFICIARY),
        ("amount", amount),
        ("reason", "Demo"),
        ("reference", reference),
    ];
    let response = client
        .post_form(PAYMENT_CREATE_PATH, &fields)
        .map_err(|error| format!("POST {PAYMENT_CREATE_PATH}: {error}"))?;
    println!(
        "   POST {PAYMENT_CREATE_PATH} -> {} {}",
        response.status().as_u16(),
        String::from_utf8_lossy(response.body())
    );
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the payment answered {}", response.status()))
    }
}

/// Checks the payment counters moved by (validations, SMS sent, codes
/// checked, payments created).
fn expect_payments(sandbox: &Sandbox, before: Counters, expected: (u64, u64, u64, u64)) -> Outcome {
    let (validations, sms, checked, created) = expected;
    expect_delta(
        sandbox,
        before,
        |c| (c.payment_validations, validations),
        "validations",
    )?;
    expect_delta(
        sandbox,
        before,
        |c| (c.payment_sms_sent, sms),
        "codes sent by SMS",
    )?;
    expect_delta(
        sandbox,
        before,
        |c| (c.payment_codes_checked, checked),
        "codes checked",
    )?;
    expect_delta(
        sandbox,
        before,
        |c| (c.payments_created, created),
        "payments created",
    )
}

/// A client with payment SCA on, whose user types a wrong code first.
fn payments_client(sandbox: &Sandbox) -> Result<Client<Currencycloud>, String> {
    let credentials = CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY)
        .map_err(|error| error.to_string())?;
    let provider = Currencycloud::with_idle_timeout(IDLE).with_payment_sca(PaymentSca::default());
    let typed = Mutex::new(0_u32);
    Client::builder(provider, credentials)
        .base_url(sandbox.currencycloud_url())
        .config(Config {
            expiry_margin: MARGIN,
            ..Config::default()
        })
        .logout_on_drop(false)
        .step_up(Channel::Sms, move |prompt: &CodePrompt| {
            let mut typed = typed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *typed += 1;
            let code = if *typed == 1 {
                WRONG_CODE
            } else {
                CURRENCYCLOUD_SCA_CODE
            };
            println!(
                "   the user is asked for the code ({:?}, {} tries left) and types {}",
                prompt.reason,
                prompt.tries_left.map_or("?".to_owned(), |n| n.to_string()),
                if *typed == 1 {
                    "a wrong one"
                } else {
                    "the right one"
                }
            );
            StepUpAnswer::Code(code.to_owned())
        })
        .build()
        .map_err(|error| error.to_string())
}
