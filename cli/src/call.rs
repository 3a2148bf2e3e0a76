//! `authsession call`: sends one call, or the same call repeatedly, over
//! one session, with the credentials taken from the environment so that
//! they never appear in a shell history or a process list.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use authsession_core::providers::access_key::{self, AccessKey, AccessKeyCredentials};
use authsession_core::providers::currencycloud::{
    self, Currencycloud, CurrencycloudCredentials, PaymentSca,
};
use authsession_core::providers::weavr::{self, IdentityType, Weavr, WeavrCredentials};
use authsession_core::{Channel, CodePrompt, Level, PromptReason, Provider};
use authsession_std::{Client, ClientBuilder, Error, HttpResponse, StepUpAnswer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderName {
    /// Currencycloud: `CURRENCYCLOUD_LOGIN_ID` and `CURRENCYCLOUD_API_KEY`.
    Currencycloud,
    /// Weavr: `WEAVR_API_KEY`, `WEAVR_EMAIL` and `WEAVR_PASSWORD`.
    Weavr,
    /// The access-key API: `AUTHSESSION_ACCESS_KEY` and `AUTHSESSION_SECRET`.
    AccessKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LevelName {
    /// The account's key only (Weavr's `api-key`).
    Account,
    /// A logged-in user.
    User,
    /// A user who passed strong customer authentication.
    SteppedUp,
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
    #[arg(long, conflicts_with = "form")]
    data: Option<String>,
    /// A form field, KEY=VALUE, sent as multipart/form-data (what
    /// Currencycloud's calls take); may be repeated.
    #[arg(long = "form", value_name = "KEY=VALUE")]
    form: Vec<String>,
    /// Currencycloud: authenticate payments (`POST /v2/payments/create`)
    /// with SCA: validate, the SMS code, then create.
    #[arg(long)]
    payment_sca: bool,
    /// An extra header, NAME:VALUE; may be repeated.
    #[arg(long = "header", value_name = "NAME:VALUE")]
    headers: Vec<String>,
    /// How many times to send the call.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// Pause between repeats, in milliseconds.
    #[arg(long, default_value_t = 0)]
    interval_ms: u64,
    /// What the call needs.
    #[arg(long, value_enum, default_value_t = LevelName::User)]
    level: LevelName,
    /// Weavr: the identity to act for, TYPE:ID (CORPORATE:123 or CONSUMER:456).
    #[arg(long, value_name = "TYPE:ID")]
    identity: Option<String>,
    /// The SMS code for Weavr's step-up or a Currencycloud payment's SCA,
    /// used for one verification only (also from
    /// `AUTHSESSION_STEP_UP_CODE`, which keeps it out of the process list);
    /// without it the command asks on the terminal, without echo.
    #[arg(
        long,
        value_name = "CODE",
        env = "AUTHSESSION_STEP_UP_CODE",
        hide_env_values = true
    )]
    step_up_code: Option<String>,
    /// Print the session's events on standard error (secrets redacted).
    #[arg(long)]
    verbose: bool,
    /// The HTTP method.
    method: String,
    /// The path under the base URL.
    path: String,
}

/// A failure and the exit code it earns: 1 for the API's answers and the
/// network's failures, 2 for usage and configuration.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: String) -> Self {
        Failure { code: 2, message }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        // A bad base URL, a path to another origin, a bad header or
        // method, a level the API does not have: the command line's fault.
        let code = if error.is_config() { 2 } else { 1 };
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
    if args.payment_sca && args.provider != ProviderName::Currencycloud {
        eprintln!("error: --payment-sca is Currencycloud's");
        return ExitCode::from(2);
    }
    let result = match args.provider {
        ProviderName::Currencycloud => currencycloud_client(args).and_then(|c| call(c, args)),
        ProviderName::Weavr => weavr_client(args).and_then(|c| call(c, args)),
        ProviderName::AccessKey => access_key_client(args).and_then(|c| call(c, args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn currencycloud_client(args: &CallArgs) -> Result<ClientBuilder<Currencycloud>, Failure> {
    let credentials = CurrencycloudCredentials::new(
        &env_var("CURRENCYCLOUD_LOGIN_ID")?,
        &env_var("CURRENCYCLOUD_API_KEY")?,
    )
    .map_err(|error| Failure::usage(format!("invalid credentials: {error}")))?;
    let mut provider = Currencycloud::default();
    if args.payment_sca {
        provider = provider.with_payment_sca(PaymentSca::default());
    }
    let builder = Client::builder(provider, credentials).base_url(&args.base_url);
    if !args.payment_sca {
        return Ok(builder);
    }
    let source = CodeSource::of(args);
    Ok(builder.step_up(Channel::Sms, move |prompt| source.answer(prompt)))
}

fn weavr_client(args: &CallArgs) -> Result<ClientBuilder<Weavr>, Failure> {
    let credentials = WeavrCredentials::new(
        &env_var("WEAVR_API_KEY")?,
        &env_var("WEAVR_EMAIL")?,
        &env_var("WEAVR_PASSWORD")?,
    )
    .map_err(|error| Failure::usage(format!("invalid credentials: {error}")))?;
    let mut provider = Weavr::default();
    if let Some(identity) = &args.identity {
        let (kind, id) = identity
            .split_once(':')
            .ok_or_else(|| Failure::usage(format!("--identity {identity:?} is not TYPE:ID")))?;
        let kind = match kind.to_ascii_uppercase().as_str() {
            "CORPORATE" => IdentityType::Corporate,
            "CONSUMER" => IdentityType::Consumer,
            _ => return Err(Failure::usage(format!("unknown identity type {kind:?}"))),
        };
        provider = provider
            .with_identity(kind, id)
            .map_err(|error| Failure::usage(format!("--identity: {error}")))?;
    }
    let source = CodeSource::of(args);
    Ok(Client::builder(provider, credentials)
        .base_url(&args.base_url)
        .step_up(Channel::Sms, move |prompt| source.answer(prompt)))
}

/// Where the step-up code comes from.
enum CodeSource {
    /// Given to the command: it serves one verification. Once refused it
    /// is spent, and the command ends with the API's reason.
    Given(Mutex<Option<String>>),
    /// Typed on the terminal, without echo, as often as the API allows.
    Terminal,
}

impl CodeSource {
    fn of(args: &CallArgs) -> Self {
        match args.step_up_code.clone() {
            Some(code) => CodeSource::Given(Mutex::new(Some(code))),
            None => CodeSource::Terminal,
        }
    }

    fn answer(&self, prompt: &CodePrompt) -> StepUpAnswer {
        let question = match (self, prompt.reason, prompt.tries_left) {
            (CodeSource::Given(code), _, _) => {
                let code = code.lock().unwrap_or_else(PoisonError::into_inner).take();
                return code.map_or(StepUpAnswer::Declined, StepUpAnswer::Code);
            }
            (CodeSource::Terminal, PromptReason::CodeExpired, _) => {
                eprintln!("the step-up code expired; sending a new one");
                return StepUpAnswer::NewCode;
            }
            (CodeSource::Terminal, PromptReason::CodeRefused, Some(1)) => {
                "code refused; last try, step-up code: "
            }
            (CodeSource::Terminal, PromptReason::CodeRefused, _) => "code refused; step-up code: ",
            (CodeSource::Terminal, _, _) => "step-up code (sent by SMS): ",
        };
        match rpassword::prompt_password(question) {
            Ok(code) if !code.trim().is_empty() => StepUpAnswer::Code(code.trim().to_owned()),
            _ => StepUpAnswer::Declined,
        }
    }
}

fn access_key_client(args: &CallArgs) -> Result<ClientBuilder<AccessKey>, Failure> {
    let credentials = AccessKeyCredentials::new(
        &env_var("AUTHSESSION_ACCESS_KEY")?,
        &env_var("AUTHSESSION_SECRET")?,
    )
    .map_err(|error| Failure::usage(format!("invalid credentials: {error}")))?;
    Ok(Client::builder(AccessKey, credentials).base_url(&args.base_url))
}

fn env_var(name: &str) -> Result<String, Failure> {
    std::env::var(name)
        .map_err(|_| Failure::usage(format!("the environment variable {name} is not set")))
}

fn call<P>(builder: ClientBuilder<P>, args: &CallArgs) -> Result<(), Failure>
where
    P: Provider + ErrorCode,
{
    let client = builder.build()?;
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
    let level = match args.level {
        LevelName::Account => Level::Account,
        LevelName::User => Level::User,
        LevelName::SteppedUp => Level::SteppedUp,
    };
    let mut stdout = std::io::stdout().lock();
    let mut first_failure = None;
    for round in 0..args.repeat {
        if round > 0 && args.interval_ms > 0 {
            std::thread::sleep(Duration::from_millis(args.interval_ms));
        }
        let response = client.send(level, request(args)?)?;
        let _ = writeln!(
            stdout,
            "{}",
            String::from_utf8_lossy(response.body()).trim_end()
        );
        if !response.status().is_success() && first_failure.is_none() {
            let status = response.status().as_u16();
            let what = format!("{} {} answered {status}", args.method, args.path);
            first_failure = Some(Failure {
                code: 1,
                message: match P::error_code(HttpResponse(&response)) {
                    Some(code) => format!("{what} ({code})"),
                    None => what,
                },
            });
        }
    }
    first_failure.map_or(Ok(()), Err)
}

fn request(args: &CallArgs) -> Result<http::Request<Vec<u8>>, Failure> {
    let mut request = http::Request::builder()
        .method(args.method.to_ascii_uppercase().as_str())
        .uri(&args.path);
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| Failure::usage(format!("--header {header:?} is not NAME:VALUE")))?;
        request = request.header(name.trim(), value.trim());
    }
    let body = if args.form.is_empty() {
        if args.data.is_some() {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        args.data.clone().unwrap_or_default().into_bytes()
    } else {
        let fields = args
            .form
            .iter()
            .map(|field| {
                field
                    .split_once('=')
                    .ok_or_else(|| Failure::usage(format!("--form {field:?} is not KEY=VALUE")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (body, content_type) = authsession_std::multipart_form(&fields)?;
        request = request.header(http::header::CONTENT_TYPE, content_type);
        body
    };
    request
        .body(body)
        .map_err(|error| Failure::usage(format!("invalid request: {error}")))
}

/// The API's error code in an error answer, for the one-line message.
trait ErrorCode {
    fn error_code(response: HttpResponse<'_>) -> Option<String>;
}

fn code_of(error: authsession_core::Error) -> Option<String> {
    match error {
        authsession_core::Error::Api(error) if !error.code.is_empty() => {
            Some(error.code.to_string())
        }
        _ => None,
    }
}

impl ErrorCode for Currencycloud {
    fn error_code(response: HttpResponse<'_>) -> Option<String> {
        code_of(currencycloud::error_of(&response))
    }
}

impl ErrorCode for Weavr {
    fn error_code(response: HttpResponse<'_>) -> Option<String> {
        code_of(weavr::error_of(&response))
    }
}

impl ErrorCode for AccessKey {
    fn error_code(response: HttpResponse<'_>) -> Option<String> {
        code_of(access_key::error_of(&response))
    }
}
