//! `authsession logout` and `authsession store reset`: what an operator
//! does to a session that lives in a store.

use std::process::ExitCode;

use authsession_core::Provider;
use authsession_std::Client;

use crate::session::{ErrorCode, Failure, Job, SessionArgs};

#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    session: SessionArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Clear the fleet's mark of a refused login, once the credentials are
    /// fixed: the fleet's processes log in with them again.
    Reset(ResetArgs),
}

#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    #[command(flatten)]
    session: SessionArgs,
}

pub fn logout(args: &LogoutArgs) -> ExitCode {
    if args.session.store.is_none() {
        eprintln!("error: logout needs the session's --store");
        return ExitCode::from(2);
    }
    crate::session::run(&args.session, &Logout)
}

pub fn run(command: &StoreCommand) -> ExitCode {
    match command {
        StoreCommand::Reset(args) => {
            if args.session.store.is_none() {
                eprintln!("error: store reset needs --store");
                return ExitCode::from(2);
            }
            crate::session::run(&args.session, &Reset)
        }
    }
}

struct Logout;

impl Job for Logout {
    /// Takes up the stored session (or logs in, if it lapsed: the API has
    /// no other way to close it) and closes it.
    fn run<P: Provider + ErrorCode>(&self, client: Client<P>) -> Result<(), Failure> {
        client.resume()?;
        client.logout()?;
        Ok(())
    }
}

struct Reset;

impl Job for Reset {
    fn run<P: Provider + ErrorCode>(&self, client: Client<P>) -> Result<(), Failure> {
        client.clear_refusal()?;
        eprintln!("the refused-login mark is cleared");
        Ok(())
    }
}
