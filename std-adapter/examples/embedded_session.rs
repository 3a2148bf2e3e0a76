//! A Currencycloud session as a device would run it: the core's `wire`
//! module and driver over a byte stream (std's `TcpStream` behind
//! `embedded-io-adapters`), with fixed buffers and no HTTP client, against
//! the local sandbox. It logs in, reads the current account and logs out.
//!
//! ```sh
//! cargo run -p authsession-std --example embedded_session
//! ```

#[path = "embedded_session/device.rs"]
mod device;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    use authsession_sandbox::{
        CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Sandbox, SandboxConfig,
    };

    let sandbox = Sandbox::start(SandboxConfig::default())?;
    println!("sandbox at {}", sandbox.currencycloud_url());
    let report = device::run(
        sandbox.addr(),
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_LOGIN_ID,
        CURRENCYCLOUD_API_KEY,
    )?;
    println!("{report}");
    println!(
        "buffers: {} bytes for a response, {} headers",
        device::RESPONSE_BUFFER,
        device::RESPONSE_HEADERS
    );
    Ok(())
}
