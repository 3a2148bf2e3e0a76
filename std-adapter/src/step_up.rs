//! Step-up (strong customer authentication) from the client: when a call
//! needs it, one thread asks for the challenge, asks the program's callback
//! for the user's answer, and sends it; the other threads wait for the
//! outcome. The callback runs without the lock, since it may wait for a
//! person, and is told why it is asked (the first code, a refused one, an
//! expired one) so that the program can tell its user.

use std::fmt;
use std::sync::{Arc, PoisonError};
use std::time::Instant as StdInstant;

use authsession_core::{
    Channel, CodePrompt, ErrorKind, Instant, Level, PromptReason, Provider, Session, StepUpError,
    StepUpRefused, StepUpState,
};
use zeroize::Zeroize;

use crate::client::{Client, Shared, last_error};
use crate::error::Error;

/// What the program answers when the session asks the user to step up.
pub enum StepUpAnswer {
    /// The one-time code the user received (SMS). It is wiped after use.
    /// A code the server already refused for this challenge is not sent
    /// again: the call fails with
    /// [`StepUpRefused::CodeAlreadyRefused`](authsession_core::StepUpRefused::CodeAlreadyRefused).
    Code(String),
    /// Send a new code (a new challenge): the answer to
    /// [`PromptReason::CodeExpired`](authsession_core::PromptReason::CodeExpired), or to a refused code when the user
    /// would rather have a fresh one.
    NewCode,
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
            StepUpAnswer::NewCode => "NewCode",
            StepUpAnswer::Approved => "Approved",
            StepUpAnswer::Declined => "Declined",
        })
    }
}

type Callback = dyn Fn(&CodePrompt) -> StepUpAnswer + Send + Sync;

/// The channel and callback a client steps up with.
#[derive(Clone)]
pub(crate) struct StepUp {
    channel: Channel,
    pub(crate) callback: Arc<Callback>,
}

impl StepUp {
    pub(crate) fn new(
        channel: Channel,
        callback: impl Fn(&CodePrompt) -> StepUpAnswer + Send + Sync + 'static,
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

/// An async step-up callback, as the async client is given it: run on the
/// runtime's blocking thread that steps the session up. Feature `tokio`.
#[cfg(feature = "tokio")]
pub(crate) struct AsyncStepUp {
    channel: Channel,
    callback: Arc<AsyncCallback>,
}

#[cfg(feature = "tokio")]
type AsyncCallback = dyn Fn(CodePrompt) -> std::pin::Pin<Box<dyn std::future::Future<Output = StepUpAnswer> + Send>>
    + Send
    + Sync;

#[cfg(feature = "tokio")]
impl AsyncStepUp {
    pub(crate) fn new<F, A>(channel: Channel, callback: F) -> Self
    where
        F: Fn(CodePrompt) -> A + Send + Sync + 'static,
        A: std::future::Future<Output = StepUpAnswer> + Send + 'static,
    {
        AsyncStepUp {
            channel,
            callback: Arc::new(move |prompt| Box::pin(callback(prompt))),
        }
    }

    /// The step-up the session's logic runs: it awaits the callback on
    /// `runtime` from the blocking thread it runs on.
    pub(crate) fn on_blocking_thread(self, runtime: tokio::runtime::Handle) -> StepUp {
        let callback = self.callback;
        StepUp::new(self.channel, move |prompt| {
            runtime.block_on(callback(*prompt))
        })
    }
}

#[cfg(feature = "tokio")]
impl fmt::Debug for AsyncStepUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncStepUp")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// How many times one step-up asks the callback before it gives up: the
/// APIs lock step-up after fewer wrong codes than this, so the bound only
/// stops a callback that never gives a usable answer.
const PROMPTS: u32 = 8;

/// Marks the client as stepping up while it lives: dropped, however the
/// step-up ends (an error, a panic in the callback), it lets the other
/// callers go on; ended with its outcome, it hands them that outcome.
struct SteppingUp<'a, P: Provider> {
    client: &'a Client<P>,
    outcome: Option<Result<(), Error>>,
}

impl<P: Provider> Drop for SteppingUp<'_, P> {
    fn drop(&mut self) {
        let mut shared = self.client.lock();
        shared.stepping_up = false;
        // A panic leaves no outcome: the others try for themselves.
        if let Some(outcome) = self.outcome.take() {
            shared.step_ups_ended += 1;
            shared.last_step_up_failure = outcome.err();
        }
        self.client.wake_all();
    }
}

/// What a caller that needs the session stepped up does next.
pub(crate) enum StepUpTurn {
    /// Nothing more: the session is stepped up, or the step-up this caller
    /// waited for ended with this outcome.
    Done(Result<(), Error>),
    /// Another caller is stepping up: wait for it.
    Wait,
    /// This caller steps up (`stepping_up` is now set for it).
    Mine,
}

impl<P: Provider> Shared<P> {
    /// One look for a caller that needs step-up and had seen
    /// `ended_seen` step-ups ended when it began to wait.
    pub(crate) fn step_up_turn(&mut self, ended_seen: u64) -> StepUpTurn {
        if self.session.step_up_state() == StepUpState::SteppedUp {
            return StepUpTurn::Done(Ok(()));
        }
        if self.stepping_up {
            return StepUpTurn::Wait;
        }
        if self.step_ups_ended != ended_seen {
            return StepUpTurn::Done(self.last_step_up_failure.clone().map_or(Ok(()), Err));
        }
        self.stepping_up = true;
        StepUpTurn::Mine
    }
}

impl<P: Provider> Client<P> {
    /// Steps the session up, or waits for the caller that is doing it
    /// and takes its outcome.
    pub(crate) fn perform_step_up(&self) -> Result<(), Error> {
        let ended_seen = self.lock().step_ups_ended;
        self.perform_step_up_since(StdInstant::now(), ended_seen)
    }

    /// As [`perform_step_up`](Self::perform_step_up), for a caller that
    /// began to wait at `started`, when `ended_seen` step-ups had ended.
    pub(crate) fn perform_step_up_since(
        &self,
        started: StdInstant,
        ended_seen: u64,
    ) -> Result<(), Error> {
        let Some(step_up) = self.step_up.clone() else {
            return Err(Error::StepUpRequired);
        };
        let mut shared = self.lock();
        loop {
            match shared.step_up_turn(ended_seen) {
                StepUpTurn::Done(outcome) => return outcome,
                StepUpTurn::Mine => break,
                StepUpTurn::Wait => {
                    let waited = started.elapsed();
                    let patience = self
                        .max_wait
                        .checked_sub(waited)
                        .ok_or(Error::Timeout { waited })?;
                    shared = self
                        .changed
                        .wait_timeout(shared, patience)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
        drop(shared);
        let mut turn = SteppingUp {
            client: self,
            outcome: None,
        };
        let outcome = self.challenge_and_answer(&step_up);
        turn.outcome = Some(outcome.clone());
        outcome
    }

    fn challenge_and_answer(&self, step_up: &StepUp) -> Result<(), Error> {
        self.start_challenge(step_up.channel)?;
        for _ in 0..PROMPTS {
            let (state, prompt) = {
                let shared = self.lock();
                (shared.session.step_up_state(), shared.session.code_prompt())
            };
            if state == StepUpState::SteppedUp {
                return Ok(());
            }
            let Some(prompt) = prompt else {
                return Err(Error::StepUpFailed(Box::new(last_error(
                    &self.lock().session,
                ))));
            };
            tracing::info!(
                provider = P::NAME,
                channel = ?prompt.channel,
                reason = ?prompt.reason,
                tries_left = prompt.tries_left,
                "asking the user to step up"
            );
            match ((step_up.callback)(&prompt), state) {
                (StepUpAnswer::Code(mut code), StepUpState::CodeSent(_)) => {
                    let submitted =
                        self.send_step_up_request(|session, now| session.submit_code(&code, now));
                    code.zeroize();
                    submitted?.map_err(Error::StepUpRefused)?;
                }
                (StepUpAnswer::NewCode, _) if !prompt.channel.is_push() => {
                    self.start_challenge(prompt.channel)?;
                }
                (StepUpAnswer::Approved, StepUpState::AwaitingApproval(_)) => {
                    self.send_step_up_request(|session, now| {
                        session.report_push_result(true, now)
                    })?
                    .map_err(Error::StepUpRefused)?;
                }
                (StepUpAnswer::Declined, StepUpState::AwaitingApproval(_)) => {
                    // Tell the session, so it does not wait for approval.
                    let _ = self.send_step_up_request(|session, now| {
                        session.report_push_result(false, now)
                    });
                    return Err(Error::StepUpDeclined);
                }
                // The user gives up after the server refused or expired a
                // code: the server's answer is why the step-up failed.
                (StepUpAnswer::Declined, _)
                    if matches!(
                        prompt.reason,
                        PromptReason::CodeRefused | PromptReason::CodeExpired
                    ) =>
                {
                    return Err(Error::StepUpFailed(Box::new(last_error(
                        &self.lock().session,
                    ))));
                }
                (StepUpAnswer::Declined, _) => return Err(Error::StepUpDeclined),
                // A code for an expired challenge, or an answer that does
                // not fit the channel: the challenge is over.
                (answer, _) => {
                    tracing::warn!(provider = P::NAME, ?answer, reason = ?prompt.reason, "the step-up callback's answer does not fit the challenge");
                    return Err(Error::StepUpFailed(Box::new(last_error(
                        &self.lock().session,
                    ))));
                }
            }
        }
        // One guard: the scrutinee's would live through the arms.
        let shared = self.lock();
        match shared.session.step_up_state() {
            StepUpState::SteppedUp => Ok(()),
            _ => Err(Error::StepUpFailed(Box::new(last_error(&shared.session)))),
        }
    }

    /// Asks for a challenge on `channel`, with a token (logging in first if
    /// needed) and after the pause the API wants between challenges.
    fn start_challenge(&self, channel: Channel) -> Result<(), Error> {
        let start = |session: &mut Session<P>, now| session.start_step_up(channel, now);
        for _ in 0..4 {
            // The challenge is for the token: there must be one.
            self.await_grant(Level::User)?;
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
                Err(other) => return Err(Error::StepUpRefused(other)),
            }
        }
        Err(Error::StepUpFailed(Box::new(last_error(
            &self.lock().session,
        ))))
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
            let (_shared, sent) = self.exchange(shared, outgoing, self.max_wait);
            sent?;
        }
        Ok(refused)
    }
}
