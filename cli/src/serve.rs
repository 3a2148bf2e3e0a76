//! `authsession sandbox`: the sandbox in the foreground, for trying a
//! client against it by hand.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use authsession_sandbox::{
    ACCESS_KEY_ID, ACCESS_KEY_SECRET, CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Sandbox,
    SandboxConfig, WEAVR_API_KEY, WEAVR_CORPORATE_ID, WEAVR_EMAIL, WEAVR_OTP_CODE, WEAVR_PASSWORD,
};

#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Idle timeout of the tokens (Currencycloud and Weavr), in
    /// milliseconds; the real APIs' by default.
    #[arg(long)]
    idle_timeout_ms: Option<u64>,
}

pub fn run(args: &SandboxArgs) -> ExitCode {
    let mut config = SandboxConfig {
        listen: args.listen,
        ..SandboxConfig::default()
    };
    if let Some(idle) = args.idle_timeout_ms {
        config.idle_timeout = Duration::from_millis(idle);
        config.weavr_idle_timeout = Duration::from_millis(idle);
    }
    let sandbox = match Sandbox::start(config) {
        Ok(sandbox) => sandbox,
        Err(error) => {
            eprintln!(
                "error: cannot start the sandbox on {}: {error}",
                args.listen
            );
            return ExitCode::from(2);
        }
    };
    // These are the sandbox's public test credentials, not secrets.
    println!("sandbox listening on {}", sandbox.addr());
    println!("Currencycloud  {}", sandbox.currencycloud_url());
    println!("  CURRENCYCLOUD_LOGIN_ID={CURRENCYCLOUD_LOGIN_ID}");
    println!("  CURRENCYCLOUD_API_KEY={CURRENCYCLOUD_API_KEY}");
    println!("Weavr          {}", sandbox.weavr_url());
    println!("  WEAVR_API_KEY={WEAVR_API_KEY}");
    println!("  WEAVR_EMAIL={WEAVR_EMAIL}");
    println!("  WEAVR_PASSWORD={WEAVR_PASSWORD}");
    println!("  --identity CORPORATE:{WEAVR_CORPORATE_ID}, step-up code {WEAVR_OTP_CODE}");
    println!("access-key API {}", sandbox.access_key_url());
    println!("  AUTHSESSION_ACCESS_KEY={ACCESS_KEY_ID}");
    println!("  AUTHSESSION_SECRET={ACCESS_KEY_SECRET}");
    println!("press Ctrl-C to stop");
    loop {
        std::thread::park();
    }
}
