//! The session the command's subcommands share: which API, where, with
//! which credentials (from the environment, so that they never appear in a
//! shell history or a process list), how a step-up code is had, and the
//! store the session lives in between runs.

use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};

use authsession_core::providers::access_key::{self, AccessKey, AccessKeyCredentials};
use authsession_core::providers::currencycloud::{
    self, Currencycloud, CurrencycloudCredentials, PaymentSca,
};
use authsession_core::providers::weavr::{self, IdentityType, Weavr, WeavrCredentials};
use authsession_core::{Channel, CodePrompt, PromptReason, Provider};
use authsession_std::store::{FileStore, RedisStore, SealKey};
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

#[derive(Debug, clap::Args)]
pub struct SessionArgs {
    /// Which API.
    #[arg(long, value_enum)]
    pub provider: ProviderName,
    /// The API's base URL (https://, or http:// to a loopback address).
    #[arg(long)]
    pub base_url: String,
    /// Currencycloud: authenticate payments (`POST /v2/payments/create`)
    /// with SCA: validate, the SMS code, then create.
    #[arg(long)]
    pub payment_sca: bool,
    /// Weavr: the identity to act for, TYPE:ID (CORPORATE:123 or CONSUMER:456).
    #[arg(long, value_name = "TYPE:ID")]
    pub identity: Option<String>,
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
    pub step_up_code: Option<String>,
    /// Where the session lives between runs, shared by every process that
    /// names it: `file:DIR` or `redis://HOST:PORT[/DB]` (also from
    /// `AUTHSESSION_STORE`). It is sealed with the 64-hex-digit key in
    /// `AUTHSESSION_STORE_KEY` (required for Redis; a file store without
    /// it keeps a key of its own in DIR/seal.key).
    #[arg(long, value_name = "URL", env = "AUTHSESSION_STORE")]
    pub store: Option<String>,
    /// With a store: the most logins the whole fleet sends in any minute
    /// (default: the API's safe figure, 10).
    #[arg(long)]
    pub logins_per_minute: Option<u32>,
    /// Print the session's events on standard error (secrets redacted).
    #[arg(long)]
    pub verbose: bool,
}

/// A failure and the exit code it earns: 1 for the API's answers and the
/// network's failures, 2 for usage and configuration.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: String) -> Self {
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

/// What a subcommand does with a client of the chosen API.
pub trait Job {
    fn run<P: Provider + ErrorCode>(&self, client: Client<P>) -> Result<(), Failure>;
}

/// Builds the client `args` name and runs `job` with it; the exit code.
pub fn run(args: &SessionArgs, job: &impl Job) -> ExitCode {
    if args.verbose {
        crate::trace_to_stderr();
    }
    let result = if args.payment_sca && args.provider != ProviderName::Currencycloud {
        Err(Failure::usage(
            "--payment-sca is Currencycloud's".to_owned(),
        ))
    } else {
        match args.provider {
            ProviderName::Currencycloud => {
                currencycloud_client(args).and_then(|builder| build_and_run(builder, args, job))
            }
            ProviderName::Weavr => {
                weavr_client(args).and_then(|builder| build_and_run(builder, args, job))
            }
            ProviderName::AccessKey => {
                access_key_client(args).and_then(|builder| build_and_run(builder, args, job))
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn build_and_run<P: Provider + ErrorCode>(
    builder: ClientBuilder<P>,
    args: &SessionArgs,
    job: &impl Job,
) -> Result<(), Failure> {
    job.run(with_store(builder, args)?.build()?)
}

/// The builder with the store `--store` names, if any.
fn with_store<P: Provider>(
    builder: ClientBuilder<P>,
    args: &SessionArgs,
) -> Result<ClientBuilder<P>, Failure> {
    let Some(url) = &args.store else {
        return Ok(builder);
    };
    let unavailable = |error: authsession_std::store::StoreError| Failure {
        code: 1,
        message: error.to_string(),
    };
    let key = || match std::env::var("AUTHSESSION_STORE_KEY") {
        Ok(hex) => SealKey::from_hex(&hex)
            .map(Some)
            .map_err(|error| Failure::usage(format!("AUTHSESSION_STORE_KEY: {error}"))),
        Err(_) => Ok(None),
    };
    let builder = if let Some(dir) = url.strip_prefix("file:") {
        let store = FileStore::new(dir).map_err(unavailable)?;
        // One host: without a key, the store's own.
        let key = match key()? {
            Some(key) => key,
            None => store.local_key().map_err(unavailable)?,
        };
        builder.store(store, key)
    } else if url.starts_with("redis://") {
        let key = key()?.ok_or_else(|| {
            Failure::usage(
                "a Redis store needs the fleet's key in AUTHSESSION_STORE_KEY (64 hex digits)"
                    .to_owned(),
            )
        })?;
        builder.store(RedisStore::open(url).map_err(unavailable)?, key)
    } else {
        return Err(Failure::usage(format!(
            "--store {url:?} is neither file:DIR nor redis://HOST:PORT"
        )));
    };
    Ok(match args.logins_per_minute {
        Some(logins) => builder.logins_per_minute(logins),
        None => builder,
    })
}

fn currencycloud_client(args: &SessionArgs) -> Result<ClientBuilder<Currencycloud>, Failure> {
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

fn weavr_client(args: &SessionArgs) -> Result<ClientBuilder<Weavr>, Failure> {
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
    fn of(args: &SessionArgs) -> Self {
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

fn access_key_client(args: &SessionArgs) -> Result<ClientBuilder<AccessKey>, Failure> {
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

/// The API's error code in an error answer, for the one-line message.
pub trait ErrorCode {
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
