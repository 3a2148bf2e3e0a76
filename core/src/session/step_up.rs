//! Step-up (strong customer authentication) of the active token: asking
//! for a challenge, submitting the one-time code, taking a push result, and
//! what each answer means.

use super::{EventKind, Session, State, StepUpRefused, StepUpState};
use crate::error::{ApiError, Error, ErrorKind, StepUpError};
use crate::event::ExpiryReason;
use crate::grant::NotReady;
use crate::provider::{AfterStepUpFailure, Channel, Provider, SessionRequest, StepUpOutcome};
use crate::time::Instant;

impl<P: Provider> Session<P> {
    /// Passes if the active token is stepped up; otherwise notes that
    /// step-up is needed (telling the caller once) or in progress.
    pub(super) fn check_stepped_up(&mut self) -> Result<(), NotReady> {
        let State::Active(times) = &mut self.state else {
            return Err(NotReady::LoggingIn);
        };
        match times.step_up {
            StepUpState::SteppedUp => Ok(()),
            StepUpState::NotNeeded => {
                times.step_up = StepUpState::Needed;
                self.emit(EventKind::StepUpRequired);
                Err(NotReady::StepUpRequired)
            }
            StepUpState::Needed => Err(NotReady::StepUpRequired),
            StepUpState::Requested(_)
            | StepUpState::CodeSent(_)
            | StepUpState::Verifying(_)
            | StepUpState::AwaitingApproval(_) => Err(NotReady::SteppingUp),
        }
    }

    /// Where the active token stands with step-up (`NotNeeded` without one).
    pub fn step_up_state(&self) -> StepUpState {
        match self.state {
            State::Active(times) => times.step_up,
            _ => StepUpState::NotNeeded,
        }
    }

    /// Asks for a step-up challenge on `channel`: an SMS code, or a push
    /// the user approves on a device. Queues the request; the answer brings
    /// [`Event::CodeSent`] or [`Event::AwaitingApproval`].
    pub fn start_step_up(&mut self, channel: Channel, now: Instant) -> Result<(), StepUpRefused> {
        if !self.provider.supports_step_up() {
            return Err(StepUpRefused::Unsupported);
        }
        let State::Active(times) = self.state else {
            return Err(StepUpRefused::NotLoggedIn);
        };
        if times.lapsed(now).is_some() {
            return Err(StepUpRefused::NotLoggedIn);
        }
        match times.step_up {
            StepUpState::SteppedUp => return Err(StepUpRefused::AlreadySteppedUp),
            StepUpState::Requested(_) | StepUpState::Verifying(_) => {
                return Err(StepUpRefused::InProgress);
            }
            _ if self.in_flight.is_some() => return Err(StepUpRefused::InProgress),
            _ => {}
        }
        if now < self.challenge_not_before {
            return Err(StepUpRefused::TooSoon {
                until: self.challenge_not_before,
            });
        }
        if let Err(error) = self.queue(SessionRequest::StartStepUp(channel), "") {
            self.fail_step_up(error, AfterStepUpFailure::NewChallenge { wait: None }, now);
            return Ok(());
        }
        self.challenge_not_before = now + self.provider.step_up_resend_interval();
        self.set_step_up(StepUpState::Requested(channel));
        Ok(())
    }

    /// Sends the one-time code the user received. The code goes into the
    /// request body only, which is wiped when the answer arrives.
    pub fn submit_code(&mut self, code: &str, now: Instant) -> Result<(), StepUpRefused> {
        let StepUpState::CodeSent(channel) = self.step_up_state() else {
            return Err(StepUpRefused::NothingToAnswer);
        };
        let well_formed =
            (1..=16).contains(&code.len()) && code.bytes().all(|byte| byte.is_ascii_alphanumeric());
        if !well_formed {
            return Err(StepUpRefused::InvalidCode);
        }
        // A token that lapsed while the user typed must not carry the code.
        if let State::Active(times) = self.state
            && times.lapsed(now).is_some()
        {
            return Err(StepUpRefused::NotLoggedIn);
        }
        if let Err(error) = self.queue(SessionRequest::VerifyCode(channel), code) {
            self.fail_step_up(error, AfterStepUpFailure::RetryCode, now);
            return Ok(());
        }
        self.set_step_up(StepUpState::Verifying(channel));
        Ok(())
    }

    /// Reports the user's answer to a push challenge, which the API
    /// delivers to the application out of band (a webhook).
    pub fn report_push_result(
        &mut self,
        approved: bool,
        now: Instant,
    ) -> Result<(), StepUpRefused> {
        let StepUpState::AwaitingApproval(_) = self.step_up_state() else {
            return Err(StepUpRefused::NothingToAnswer);
        };
        if approved {
            self.stepped_up();
        } else {
            let mut declined = ApiError::status(0);
            declined.kind = ErrorKind::StepUp(StepUpError::Declined);
            let next = AfterStepUpFailure::NewChallenge { wait: None };
            self.fail_step_up(Error::Api(declined), next, now);
        }
        Ok(())
    }

    fn stepped_up(&mut self) {
        self.step_ups = self.step_ups.wrapping_add(1);
        self.set_step_up(StepUpState::SteppedUp);
        self.emit(EventKind::SteppedUp);
    }

    pub(super) fn set_step_up(&mut self, step_up: StepUpState) {
        if let State::Active(times) = &mut self.state {
            times.step_up = step_up;
        }
    }

    pub(super) fn after_step_up(
        &mut self,
        request: SessionRequest,
        outcome: StepUpOutcome,
        now: Instant,
    ) {
        let (SessionRequest::StartStepUp(channel) | SessionRequest::VerifyCode(channel)) = request
        else {
            return;
        };
        match outcome {
            StepUpOutcome::CodeSent | StepUpOutcome::AwaitingApproval => {
                // The server counts its pause from the challenge it saw, which
                // may be later than when ours was queued.
                let pause_ends = now + self.provider.step_up_resend_interval();
                self.challenge_not_before = self.challenge_not_before.max(pause_ends);
                if outcome == StepUpOutcome::CodeSent {
                    self.set_step_up(StepUpState::CodeSent(channel));
                    self.emit(EventKind::CodeSent);
                } else {
                    self.set_step_up(StepUpState::AwaitingApproval(channel));
                    self.emit(EventKind::AwaitingApproval);
                }
            }
            StepUpOutcome::SteppedUp => self.stepped_up(),
            StepUpOutcome::Failed { error, then } => {
                let then = match (then, request) {
                    // A code that was never sent cannot be typed again.
                    (AfterStepUpFailure::RetryCode, SessionRequest::StartStepUp(_)) => {
                        AfterStepUpFailure::NewChallenge { wait: None }
                    }
                    _ => then,
                };
                if then == AfterStepUpFailure::RetryCode {
                    self.set_step_up(StepUpState::CodeSent(channel));
                }
                self.fail_step_up(error, then, now);
            }
        }
    }

    pub(super) fn fail_step_up(&mut self, error: Error, then: AfterStepUpFailure, now: Instant) {
        self.last_error = Some(error);
        self.emit(EventKind::StepUpFailed);
        match then {
            AfterStepUpFailure::RetryCode => {}
            AfterStepUpFailure::NewChallenge { wait } => {
                self.set_step_up(StepUpState::Needed);
                if let Some(wait) = wait {
                    self.challenge_not_before = self.challenge_not_before.max(now + wait);
                }
            }
            AfterStepUpFailure::LogInAgain => {
                if matches!(self.state, State::Active(_)) {
                    self.expire(ExpiryReason::StepUpExhausted);
                }
            }
        }
    }
}
