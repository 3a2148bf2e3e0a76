//! The step-up half of the reference model: asking for a challenge,
//! typing its code, the push answer, and what the session remembers of
//! the challenges of one step-up: which codes the server refused for the
//! current one (invariant 11), and why the user is asked for a code.

use authsession_core::{
    Channel, ExpiryReason, Instant, NotReady, PromptReason, StepUpRefused, StepUpState,
};

use super::fixture::{Req, StepUpMeaning, Then};
use super::input::{Code, RIGHT_CODE};
use super::reference::{Ev, Model, Phase};

/// The most codes refused for one challenge that the session takes; then
/// it takes no more for that challenge (the APIs lock out long before).
pub const REFUSED_CODES: usize = 8;

/// What the model knows of the challenges of the step-up in progress.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Challenge {
    /// Challenges sent in this step-up.
    pub sent: u32,
    /// The channel of the last one.
    pub channel: Option<Channel>,
    /// Why the user is asked now.
    pub reason: Option<PromptReason>,
    /// Tries left, as the server last said.
    pub tries_left: Option<u32>,
    /// The codes the server refused for the current challenge.
    pub refused: Vec<&'static str>,
    /// The code being verified.
    pub verifying: Option<&'static str>,
}

impl Challenge {
    /// A new challenge's code is on its way: no code is refused for it.
    fn code_sent(&mut self, channel: Channel) {
        self.channel = Some(channel);
        self.reason = Some(if self.sent == 0 {
            PromptReason::FirstAsk
        } else {
            PromptReason::NewChallenge
        });
        self.sent += 1;
        self.tries_left = None;
        self.refused.clear();
        self.verifying = None;
    }

    /// The step-up is over: passed, or its token is gone.
    pub fn reset(&mut self) {
        *self = Challenge::default();
    }
}

/// What the user is asked, as `Session::code_prompt` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prompt {
    /// The challenge's channel.
    pub channel: Channel,
    /// Why.
    pub reason: PromptReason,
    /// Tries left, when the API says.
    pub tries_left: Option<u32>,
}

impl Model {
    /// `Session::code_prompt`: a code (or a push) for the challenge that
    /// was sent, or, after the code expired, whether to ask for a new one.
    pub fn code_prompt(&self) -> Option<Prompt> {
        let challenge = &self.challenge;
        let prompt = |channel, reason| Prompt {
            channel,
            reason,
            tries_left: challenge.tries_left,
        };
        match self.step_up_state() {
            StepUpState::CodeSent(channel) | StepUpState::AwaitingApproval(channel) => Some(
                prompt(channel, challenge.reason.unwrap_or(PromptReason::FirstAsk)),
            ),
            StepUpState::Needed if challenge.reason == Some(PromptReason::CodeExpired) => challenge
                .channel
                .map(|channel| prompt(channel, PromptReason::CodeExpired)),
            _ => None,
        }
    }

    pub(super) fn check_stepped_up(&mut self) -> Result<(), NotReady> {
        let Phase::Active(token) = &mut self.phase else {
            return Err(NotReady::LoggingIn);
        };
        match token.step_up {
            StepUpState::SteppedUp => Ok(()),
            StepUpState::NotNeeded => {
                token.step_up = StepUpState::Needed;
                self.events.push(Ev::StepUpRequired);
                Err(NotReady::StepUpRequired)
            }
            StepUpState::Needed => Err(NotReady::StepUpRequired),
            _ => Err(NotReady::SteppingUp),
        }
    }

    /// `start_step_up(channel, now)`.
    pub fn start_step_up(&mut self, channel: Channel, now: Instant) -> Result<(), StepUpRefused> {
        if !self.facts.step_up {
            return Err(StepUpRefused::Unsupported);
        }
        let Phase::Active(token) = self.phase else {
            return Err(StepUpRefused::NotLoggedIn);
        };
        if self.token_lapsed(now) == Some(true) {
            return Err(StepUpRefused::NotLoggedIn);
        }
        match token.step_up {
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
        self.queue(Req::StartStepUp(channel), now);
        self.challenge_not_before = now + self.facts.resend_interval;
        self.set_step_up(StepUpState::Requested(channel));
        Ok(())
    }

    /// `submit_code(code, now)`: like every request that carries the
    /// token, refused when the token is known to have lapsed; and a code
    /// the server refused for this challenge is never sent again.
    pub fn submit_code(&mut self, code: Code, now: Instant) -> Result<(), StepUpRefused> {
        let text = code.text(self.last_code);
        self.last_code = Some(text);
        let StepUpState::CodeSent(channel) = self.step_up_state() else {
            return Err(StepUpRefused::NothingToAnswer);
        };
        let well_formed =
            (1..=16).contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_alphanumeric());
        if !well_formed {
            return Err(StepUpRefused::InvalidCode);
        }
        if self.challenge.refused.contains(&text) {
            return Err(StepUpRefused::CodeAlreadyRefused);
        }
        if self.challenge.refused.len() >= REFUSED_CODES {
            return Err(StepUpRefused::TooManyCodes);
        }
        if self.token_lapsed(now) == Some(true) && !super::known::SUBMIT_CODE_SENDS_A_LAPSED_TOKEN {
            return Err(StepUpRefused::NotLoggedIn);
        }
        self.memory.right_code = text == RIGHT_CODE;
        self.queue(Req::VerifyCode(channel), now);
        self.challenge.verifying = Some(text);
        self.set_step_up(StepUpState::Verifying(channel));
        Ok(())
    }

    /// `report_push_result(approved, now)`.
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
            self.fail_step_up(Then::NewChallenge(None), now);
        }
        Ok(())
    }

    fn stepped_up(&mut self) {
        self.challenge.reset();
        self.step_ups += 1;
        self.set_step_up(StepUpState::SteppedUp);
        self.events.push(Ev::SteppedUp);
    }

    pub(super) fn set_step_up(&mut self, step_up: StepUpState) {
        if let Phase::Active(token) = &mut self.phase {
            token.step_up = step_up;
        }
    }

    pub(super) fn after_step_up(
        &mut self,
        request: Req,
        channel: Channel,
        meaning: StepUpMeaning,
        now: Instant,
    ) {
        let verifying = matches!(request, Req::VerifyCode(_));
        match meaning {
            StepUpMeaning::CodeSent | StepUpMeaning::AwaitingApproval => {
                // The server counts its pause between challenges from the
                // one it saw, which may be later than when ours was queued.
                let pause_ends = now + self.facts.resend_interval;
                self.challenge_not_before = self.challenge_not_before.max(pause_ends);
                self.challenge.code_sent(channel);
                if meaning == StepUpMeaning::CodeSent {
                    self.set_step_up(StepUpState::CodeSent(channel));
                    self.events.push(Ev::CodeSent);
                } else {
                    self.set_step_up(StepUpState::AwaitingApproval(channel));
                    self.events.push(Ev::AwaitingApproval);
                }
            }
            StepUpMeaning::SteppedUp => self.stepped_up(),
            // The server weighed the code and said no: the challenge
            // stands, and that code is spent for it.
            StepUpMeaning::CodeRefused { tries_left } if verifying => {
                if let Some(code) = self.challenge.verifying.take()
                    && self.challenge.refused.len() < REFUSED_CODES
                {
                    self.challenge.refused.push(code);
                }
                self.challenge.reason = Some(PromptReason::CodeRefused);
                self.challenge.tries_left = tries_left;
                self.set_step_up(StepUpState::CodeSent(channel));
                self.fail_step_up(Then::RetryCode, now);
            }
            // A code that was never sent cannot be typed again.
            StepUpMeaning::CodeRefused { .. } => self.fail_step_up(Then::NewChallenge(None), now),
            // No code to type: the user may ask for a new challenge.
            StepUpMeaning::CodeExpired => {
                self.fail_step_up(Then::NewChallenge(None), now);
                if self.step_up_state() == StepUpState::Needed {
                    self.challenge.reason = Some(PromptReason::CodeExpired);
                }
            }
            StepUpMeaning::Failed(then) => {
                let then = match (then, request) {
                    (Then::RetryCode, Req::StartStepUp(_)) => Then::NewChallenge(None),
                    _ => then,
                };
                if then == Then::RetryCode {
                    self.set_step_up(StepUpState::CodeSent(channel));
                }
                self.fail_step_up(then, now);
            }
        }
    }

    pub(super) fn fail_step_up(&mut self, then: Then, now: Instant) {
        self.events.push(Ev::StepUpFailed);
        match then {
            Then::RetryCode => {}
            Then::NewChallenge(wait) => {
                self.set_step_up(StepUpState::Needed);
                if let Some(wait) = wait {
                    self.challenge_not_before = self.challenge_not_before.max(now + wait);
                }
            }
            Then::LogInAgain => {
                if matches!(self.phase, Phase::Active(_)) {
                    self.expire(ExpiryReason::StepUpExhausted);
                }
            }
        }
    }
}
