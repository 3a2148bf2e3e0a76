//! Step-up (strong customer authentication) from the client: when a call
//! needs it, one thread asks for the challenge, asks the program's callback
//! for the user's answer, and sends it; the other threads wait for the
//! outcome. The callback runs without the lock, since it may wait for a
//! person.

use std::fmt;
use std::sync::{Arc, PoisonError};
use std::time::Instant as StdInstant;

use authsession_core::{
    Channel, ErrorKind, Instant, Level, Provider, Session, StepUpError, StepUpRefused, StepUpState,
};
use zeroize::Zeroize;

use crate::client::{Client, last_error};
use crate::error::Error;

/// What the program answers when the session must be stepped up.
pub enum StepUpAnswer {
    /// The one-time code the user received (SMS). It is wiped after use.
    Code(String),
    /// The user approved the push challenge (the program learnt it from
    /// the API's webhook).
    Approved,
    /// The user declined, or the program will not step up.
    Declined,
}

impl fmt::Debug for StepUpAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StepUpAnswer::Code(_) => "Code([redacted])",
            StepUpAnswer::Approved => "Approved",
            StepUpAnswer::Declined => "Declined",
        })
    }
}

type Callback = dyn Fn(Channel) -> StepUpAnswer + Send + Sync;

/// The channel and callback a client steps up with.
#[derive(Clone)]
pub(crate) struct StepUp {
    channel: Channel,
    callback: Arc<Callback>,
}

impl StepUp {
    pub(crate) fn new(
        channel: Channel,
        callback: impl Fn(Channel) -> StepUpAnswer + Send + Sync + 'static,
    ) -> Self {
        StepUp {
            channel,
            callback: Arc::new(callback),
        }
    }
}

impl fmt::Debug for StepUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepUp")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// How many codes the user may type for one challenge before the client
/// gives up (the API allows more; a person who got it wrong three times
/// should start over).
const CODE_ATTEMPTS: u32 = 3;

impl<P: Provider> Client<P> {
    /// Steps the session up, or waits for the thread that is doing it.
    pub(crate) fn perform_step_up(&self) -> Result<(), Error> {
        let Some(step_up) = self.step_up.clone() else {
            return Err(Error::StepUpRequired);
        };
        let started = StdInstant::now();
        let mut shared = self.lock();
        while shared.stepping_up {
            let patience = self
                .max_wait
                .checked_sub(started.elapsed())
                .ok_or_else(|| Error::Transport("no step-up in time".into()))?;
            shared = self
                .changed
                .wait_timeout(shared, patience)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if shared.session.step_up_state() == StepUpState::SteppedUp {
            return Ok(());
        }
        shared.stepping_up = true;
        drop(shared);
        let outcome = self.challenge_and_answer(&step_up);
        let mut shared = self.lock();
        shared.stepping_up = false;
        self.changed.notify_all();
        outcome
    }

    fn challenge_and_answer(&self, step_up: &StepUp) -> Result<(), Error> {
        self.start_challenge(step_up.channel)?;
        for _ in 0..CODE_ATTEMPTS {
            let state = self.lock().session.step_up_state();
            let channel = match state {
                StepUpState::SteppedUp => return Ok(()),
                StepUpState::CodeSent(channel) | StepUpState::AwaitingApproval(channel) => channel,
                _ => return Err(Error::StepUpFailed(last_error(&self.lock().session))),
            };
            tracing::info!(provider = P::NAME, ?channel, "asking the user to step up");
            match ((step_up.callback)(channel), state) {
                (StepUpAnswer::Code(mut code), StepUpState::CodeSent(_)) => {
                    let submitted =
                        self.send_step_up_request(|session, now| session.submit_code(&code, now));
                    code.zeroize();
                    submitted?.map_err(refusal)?;
                }
                (StepUpAnswer::Approved, StepUpState::AwaitingApproval(_)) => {
                    self.send_step_up_request(|session, now| {
                        session.report_push_result(true, now)
                    })?
                    .map_err(refusal)?;
                }
                (StepUpAnswer::Declined, StepUpState::AwaitingApproval(_)) => {
                    // Tell the session, so it does not wait for approval.
                    let _ = self.send_step_up_request(|session, now| {
                        session.report_push_result(false, now)
                    });
                    return Err(Error::StepUpDeclined);
                }
                (StepUpAnswer::Declined, _) => return Err(Error::StepUpDeclined),
                (answer, _) => {
                    return Err(Error::Config(format!(
                        "the step-up callback answered {answer:?} to a {channel:?} challenge"
                    )));
                }
            }
        }
        // One guard: the scrutinee's would live through the arms.
        let shared = self.lock();
        match shared.session.step_up_state() {
            StepUpState::SteppedUp => Ok(()),
            _ => Err(Error::StepUpFailed(last_error(&shared.session))),
        }
    }

    /// Asks for a challenge on `channel`, with a token (logging in first if
    /// needed) and after the pause the API wants between challenges.
    fn start_challenge(&self, channel: Channel) -> Result<(), Error> {
        let start = |session: &mut Session<P>, now| session.start_step_up(channel, now);
        for _ in 0..4 {
            // The challenge is for the token: there must be one.
            self.grant(Level::User)?;
            match self.send_step_up_request(start)? {
                // The server found it too soon all the same (its clock
                // started when the last challenge arrived): the session
                // now refuses new ones until the pause is over, which the
                // next round waits out.
                Ok(()) if self.refused_as_too_soon() => {}
                Ok(()) | Err(StepUpRefused::AlreadySteppedUp) => return Ok(()),
                Err(StepUpRefused::TooSoon { until }) => {
                    let wait = until.saturating_duration_since(self.now());
                    if wait > self.max_wait {
                        return Err(Error::RateLimited { retry_after: wait });
                    }
                    std::thread::sleep(wait);
                }
                // The token lapsed meanwhile: the next round logs in again.
                Err(StepUpRefused::NotLoggedIn) => {}
                Err(other) => return Err(refusal(other)),
            }
        }
        Err(Error::StepUpFailed(last_error(&self.lock().session)))
    }

    /// Whether the challenge just sent was refused with `RETRY_IN_15SEC`.
    fn refused_as_too_soon(&self) -> bool {
        let shared = self.lock();
        shared.session.step_up_state() == StepUpState::Needed
            && matches!(
                shared.session.last_error(),
                Some(authsession_core::Error::Api(api))
                    if api.kind == ErrorKind::StepUp(StepUpError::RetryIn15Sec)
            )
    }

    /// Applies `action` to the session and sends the request it queues, if
    /// any, from this thread. The outer error is the transport's; the inner
    /// one is the session's refusal, for the caller to weigh.
    fn send_step_up_request(
        &self,
        action: impl FnOnce(&mut Session<P>, Instant) -> Result<(), StepUpRefused>,
    ) -> Result<Result<(), StepUpRefused>, Error> {
        let mut shared = self.lock();
        let now = self.catch_up(&mut shared);
        let refused = action(&mut shared.session, now);
        self.drain_events(&mut shared);
        if refused.is_ok()
            && let Some(outgoing) = self.take_transmit(&mut shared)?
        {
            let (_shared, sent) = self.drive(shared, outgoing);
            sent?;
        }
        Ok(refused)
    }
}

/// A refusal the client cannot work around.
fn refusal(refused: StepUpRefused) -> Error {
    Error::Config(format!("step-up refused by the session: {refused:?}"))
}
