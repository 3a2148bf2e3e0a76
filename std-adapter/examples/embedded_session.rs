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

#[cfg(feature = "sandbox")]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use authsession_std::sandbox::{
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

#[cfg(not(feature = "sandbox"))]
fn main() {
    eprintln!("this example needs the sandbox: build with the `sandbox` feature");
}
