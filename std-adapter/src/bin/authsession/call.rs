//! `authsession call`: sends one call, or the same call repeatedly, over
//! one session, with the credentials taken from the environment so that
//! they never appear in a shell history or a process list.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use authsession_core::providers::currencycloud::{self, Currencycloud, CurrencycloudCredentials};
use authsession_core::{Level, Provider};
use authsession_std::{Client, Error, HttpResponse};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderName {
    /// Currencycloud: `CURRENCYCLOUD_LOGIN_ID` and `CURRENCYCLOUD_API_KEY`.
    Currencycloud,
}

#[derive(Debug, clap::Args)]
pub struct CallArgs {
    /// Which API.
    #[arg(long, value_enum)]
    provider: ProviderName,
    /// The API's base URL (https://, or http:// to a loopback address).
    #[arg(long)]
    base_url: String,
    /// A request body (sent as JSON).
    #[arg(long)]
    data: Option<String>,
    /// An extra header, NAME:VALUE; may be repeated.
    #[arg(long = "header", value_name = "NAME:VALUE")]
    headers: Vec<String>,
    /// How many times to send the call.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// Pause between repeats, in milliseconds.
    #[arg(long, default_value_t = 0)]
    interval_ms: u64,
    /// Print the session's events on standard error (secrets redacted).
    #[arg(long)]
    verbose: bool,
    /// The HTTP method.
    method: String,
    /// The path under the base URL.
    path: String,
}

/// A failure and the exit code it earns: 1 for the API's answers, 2 for
/// usage and configuration.
struct Failure {
    code: u8,
    message: String,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let code = if matches!(error, Error::Config(_)) {
            2
        } else {
            1
        };
        Failure {
            code,
            message: error.to_string(),
        }
    }
}

pub fn run(args: &CallArgs) -> ExitCode {
    if args.verbose {
        crate::trace_to_stderr();
    }
    let result = match args.provider {
        ProviderName::Currencycloud => currencycloud_credentials()
            .and_then(|credentials| call(Currencycloud::default(), credentials, args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn currencycloud_credentials() -> Result<CurrencycloudCredentials, Failure> {
    let login_id = env_var("CURRENCYCLOUD_LOGIN_ID")?;
    let api_key = env_var("CURRENCYCLOUD_API_KEY")?;
    CurrencycloudCredentials::new(&login_id, &api_key).map_err(|error| Failure {
        code: 2,
        message: format!("invalid credentials: {error}"),
    })
}

fn env_var(name: &str) -> Result<String, Failure> {
    std::env::var(name).map_err(|_| Failure {
        code: 2,
        message: format!("the environment variable {name} is not set"),
    })
}

fn call<P>(provider: P, credentials: P::Credentials, args: &CallArgs) -> Result<(), Failure>
where
    P: Provider + ErrorCode,
{
    let client = Client::builder(provider, credentials)
        .base_url(&args.base_url)
        .build()?;
    let outcome = repeat_calls(&client, args);
    // Close the session whatever happened; a failed logout is only noted.
    if let Err(error) = client.logout() {
        eprintln!("warning: logout failed: {error}");
    }
    outcome
}

fn repeat_calls<P: Provider + ErrorCode>(
    client: &Client<P>,
    args: &CallArgs,
) -> Result<(), Failure> {
    let usage = |message: String| Failure { code: 2, message };
    let mut stdout = std::io::stdout().lock();
    let mut first_failure = None;
    for round in 0..args.repeat {
        if round > 0 && args.interval_ms > 0 {
            std::thread::sleep(Duration::from_millis(args.interval_ms));
        }
        let mut request = http::Request::builder()
            .method(args.method.to_ascii_uppercase().as_str())
            .uri(&args.path);
        for header in &args.headers {
            let (name, value) = header
                .split_once(':')
                .ok_or_else(|| usage(format!("--header {header:?} is not NAME:VALUE")))?;
            request = request.header(name.trim(), value.trim());
        }
        if args.data.is_some() {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        let body = args.data.clone().unwrap_or_default().into_bytes();
        let request = request
            .body(body)
            .map_err(|error| usage(format!("invalid request: {error}")))?;
        let response = client.send(Level::User, request)?;
        let _ = writeln!(
            stdout,
            "{}",
            String::from_utf8_lossy(response.body()).trim_end()
        );
        if !response.status().is_success() && first_failure.is_none() {
            let status = response.status().as_u16();
            let code = P::error_code(HttpResponse(&response));
            first_failure = Some(Failure {
                code: 1,
                message: match code {
                    Some(code) => {
                        format!("{} {} answered {status} ({code})", args.method, args.path)
                    }
                    None => format!("{} {} answered {status}", args.method, args.path),
                },
            });
        }
    }
    first_failure.map_or(Ok(()), Err)
}

/// The API's error code in an error answer, for the one-line message.
trait ErrorCode {
    fn error_code(response: HttpResponse<'_>) -> Option<String>;
}

impl ErrorCode for Currencycloud {
    fn error_code(response: HttpResponse<'_>) -> Option<String> {
        match currencycloud::error_of(&response) {
            authsession_core::Error::Api(error) if !error.code.is_empty() => {
                Some(error.code.to_string())
            }
            _ => None,
        }
    }
}
