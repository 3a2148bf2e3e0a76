//! `authsession call`: sends one call, or the same call repeatedly, over
//! one session, with the credentials taken from the environment so that
//! they never appear in a shell history or a process list.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use authsession_core::{Level, Provider};
use authsession_std::{Client, HttpResponse};

use crate::session::{ErrorCode, Failure, Job, SessionArgs};

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
    #[command(flatten)]
    session: SessionArgs,
    /// A request body (sent as JSON).
    #[arg(long, conflicts_with = "form")]
    data: Option<String>,
    /// A form field, KEY=VALUE, sent as multipart/form-data (what
    /// Currencycloud's calls take); may be repeated.
    #[arg(long = "form", value_name = "KEY=VALUE")]
    form: Vec<String>,
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
    /// With a store: close the session at the end all the same (without a
    /// store the session is always closed).
    #[arg(long)]
    logout: bool,
    /// The HTTP method.
    method: String,
    /// The path under the base URL.
    path: String,
}

pub fn run(args: &CallArgs) -> ExitCode {
    crate::session::run(&args.session, args)
}

impl Job for CallArgs {
    fn run<P: Provider + ErrorCode>(&self, client: Client<P>) -> Result<(), Failure> {
        let outcome = repeat_calls(&client, self);
        // Close the session whatever happened (a stored one stays for the
        // next run unless --logout); a failed logout is only noted.
        if (self.session.store.is_none() || self.logout)
            && let Err(error) = client.logout()
        {
            eprintln!("warning: logout failed: {error}");
        }
        outcome
    }
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
