//! The Weavr part of the demo: login and the access-token exchange, a
//! stepped-up call refused, the SMS challenge and its code, the call
//! replayed, and idle expiry after which step-up is needed again.

use std::thread;

use authsession_core::providers::{Weavr, WeavrCredentials};
use authsession_core::{Channel, Config, Level};
use authsession_sandbox::{
    Sandbox, SandboxConfig, WEAVR_API_KEY, WEAVR_EMAIL, WEAVR_MANAGED_ACCOUNT_ID, WEAVR_OTP_CODE,
    WEAVR_PASSWORD,
};
use authsession_std::{Client, ClientBuilder, Error, StepUpAnswer};

use super::{IDLE, MARGIN, Outcome, PAST_CLIENT_IDLE, expect_delta, step};

pub fn walk(sandbox: &Sandbox) -> Outcome {
    println!("\n=== Weavr Multi API, at {} ===", sandbox.weavr_url());
    let statement = format!("/managed_accounts/{WEAVR_MANAGED_ACCOUNT_ID}/statement");

    step("1. Login with the password, then the exchange for an access token");
    let before = sandbox.counters();
    let plain = builder(sandbox)?.build().map_err(|e| e.to_string())?;
    call(&plain, "/managed_accounts")?;
    expect_delta(
        sandbox,
        before,
        |c| (c.weavr_logins, 1),
        "one password login",
    )?;
    expect_delta(
        sandbox,
        before,
        |c| (c.weavr_exchanges, 1),
        "one token exchange",
    )?;

    step("2. A call that needs strong customer authentication, from a client that cannot step up");
    match plain.get(&statement) {
        Err(error @ Error::StepUpRequired) => println!("   GET {statement} -> {error}"),
        other => return Err(format!("expected step-up to be required, got {other:?}")),
    }
    plain.logout().map_err(|e| e.to_string())?;

    step("3. The same call from a client that asks the user: SMS challenge, code, call replayed");
    let stepping = builder(sandbox)?
        .step_up(Channel::Sms, |prompt| {
            println!(
                "   the user is asked for the {} code ({:?}) and types it",
                prompt.channel.as_str(),
                prompt.reason
            );
            StepUpAnswer::Code(WEAVR_OTP_CODE.to_owned())
        })
        .build()
        .map_err(|e| e.to_string())?;
    let before = sandbox.counters();
    call(&stepping, &statement)?;
    call(&stepping, &statement)?;
    expect_delta(
        sandbox,
        before,
        |c| (c.weavr_challenges, 1),
        "one challenge for two calls",
    )?;
    expect_delta(
        sandbox,
        before,
        |c| (c.weavr_verifications, 1),
        "one code verified",
    )?;

    step("4. Idle expiry: a new login, which is not stepped up until it steps up again");
    thread::sleep(PAST_CLIENT_IDLE);
    let before = sandbox.counters();
    call(&stepping, "/managed_accounts")?;
    call(&stepping, &statement)?;
    expect_delta(sandbox, before, |c| (c.weavr_logins, 1), "one new login")?;
    expect_delta(
        sandbox,
        before,
        |c| (c.weavr_challenges, 1),
        "a new challenge",
    )?;
    expect_delta(
        sandbox,
        before,
        |c| (c.unauthorized, 0),
        "no lapsed token sent",
    )?;
    stepping.logout().map_err(|e| e.to_string())?;
    Ok(())
}

fn builder(sandbox: &Sandbox) -> Result<ClientBuilder<Weavr>, String> {
    let credentials = WeavrCredentials::new(WEAVR_API_KEY, WEAVR_EMAIL, WEAVR_PASSWORD)
        .map_err(|error| error.to_string())?;
    let config = Config {
        expiry_margin: MARGIN,
        ..Config::default()
    };
    // The sandbox's timers, which are short so that the demo is.
    let resend = SandboxConfig::for_tests().weavr_resend_interval;
    let provider = Weavr::default().with_timers(IDLE, resend);
    Ok(Client::builder(provider, credentials)
        .base_url(sandbox.weavr_url())
        .config(config)
        .logout_on_drop(false))
}

fn call(client: &Client<Weavr>, path: &str) -> Outcome {
    let response = client
        .send(Level::User, get(path)?)
        .map_err(|error| format!("GET {path}: {error}"))?;
    println!("   GET {path} -> {}", response.status().as_u16());
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("GET {path} answered {}", response.status()))
    }
}

fn get(path: &str) -> Result<http::Request<Vec<u8>>, String> {
    http::Request::get(path)
        .body(Vec::new())
        .map_err(|error| error.to_string())
}
