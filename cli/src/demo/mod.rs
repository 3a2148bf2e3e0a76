//! `authsession demo`: the whole life of a session against the built-in
//! sandbox, as a readable trace, for each API. Each step checks what it
//! claims against the sandbox's counters, so the demo fails loudly if the
//! library does not behave as it says.

mod access_key;
mod currencycloud;
mod currencycloud_payments;
mod weavr;

use std::process::ExitCode;
use std::time::Duration;

use authsession_sandbox::{Counters, Sandbox, SandboxConfig};

/// The sandbox's idle timeouts: long enough for a step, short enough to
/// wait out.
const IDLE: Duration = Duration::from_millis(1500);
/// The client treats a token as idle this much before the server does.
const MARGIN: Duration = Duration::from_millis(300);
/// A pause after which the client, not yet the server, sees a token idle.
const PAST_CLIENT_IDLE: Duration = Duration::from_millis(1300);

type Outcome = Result<(), String>;

pub fn run() -> ExitCode {
    tracing_to_stdout();
    match walk() {
        Ok(()) => {
            println!("\ndemo finished: every step behaved as described");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("demo failed: {message}");
            ExitCode::FAILURE
        }
    }
}

fn walk() -> Outcome {
    let sandbox = Sandbox::start(SandboxConfig {
        idle_timeout: IDLE,
        weavr_idle_timeout: IDLE,
        ..SandboxConfig::for_tests()
    })
    .map_err(|error| format!("cannot start the sandbox: {error}"))?;
    println!(
        "authsession demo against the built-in sandbox at {}",
        sandbox.addr()
    );
    println!(
        "(tokens lapse after {} ms without a call)",
        IDLE.as_millis()
    );
    currencycloud::walk(&sandbox)?;
    weavr::walk(&sandbox)?;
    access_key::walk(&sandbox)?;
    print_counters(&sandbox);
    Ok(())
}

fn print_counters(sandbox: &Sandbox) {
    let counters = sandbox.counters();
    println!("\nsandbox counters (all APIs):");
    println!("   logins            {}", counters.logins);
    println!("   rejected logins   {}", counters.rejected_logins);
    println!("   401s served       {}", counters.unauthorized);
    println!("   calls served      {}", counters.calls);
    println!("   logouts           {}", counters.logouts);
    println!("   payments          {}", counters.payments_created);
    println!(
        "   payment codes     {} sent, {} checked",
        counters.payment_sms_sent, counters.payment_codes_checked
    );
}

fn step(title: &str) {
    println!("\n{title}");
}

/// Checks that one counter moved by `expected` since `before`.
fn expect_delta(
    sandbox: &Sandbox,
    before: Counters,
    counter: impl Fn(&Counters) -> (u64, u64),
    what: &str,
) -> Outcome {
    let (now, expected) = counter(&sandbox.counters());
    let (then, _) = counter(&before);
    let moved = now - then;
    println!(
        "   sandbox: {what}: {}",
        if moved == expected { "yes" } else { "NO" }
    );
    if moved == expected {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected}, counted {moved}"))
    }
}

/// The library's events, interleaved with the steps on standard output.
fn tracing_to_stdout() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stdout)
        .with_max_level(tracing::Level::INFO)
        .without_time()
        .with_target(false)
        .with_level(false)
        .with_ansi(false)
        .compact()
        .try_init();
}
