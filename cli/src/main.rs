//! The `authsession` command: a guided demo against the built-in sandbox,
//! the sandbox on its own, and calls to a real API over one session.

mod call;
mod demo;
mod serve;
mod session;
mod stored;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Keeps an API session alive: login, token, expiry, re-login, logout.
#[derive(Debug, Parser)]
#[command(name = "authsession", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Walk a session through its whole life against the built-in sandbox.
    Demo,
    /// Run the sandbox in the foreground.
    Sandbox(serve::SandboxArgs),
    /// Send calls to an API over one session.
    Call(call::CallArgs),
    /// Close a stored session on the server and remove it from the store.
    Logout(stored::LogoutArgs),
    /// Operate on a session store.
    #[command(subcommand)]
    Store(stored::StoreCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo => demo::run(),
        Command::Sandbox(args) => serve::run(&args),
        Command::Call(args) => call::run(&args),
        Command::Logout(args) => stored::logout(&args),
        Command::Store(command) => stored::run(&command),
    }
}

/// Prints the library's `tracing` events (which never hold a secret) on
/// standard error at debug level, without timestamps.
fn trace_to_stderr() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::DEBUG)
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .try_init();
}
