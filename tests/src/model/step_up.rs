//! The step-up half of the reference model, written from `shared/DESIGN.md`
//! ("Step-up sub-state of `Active`", invariants 3 and 11) and
//! `PROVIDERS.md` (Weavr's step-up and its errors), not from the session's
//! code. Three tables say it all:
//!
//! - what refuses a user's action before anything is sent: a list of the
//!   design's rules for each action ([`Model::challenge_refusal`],
//!   [`Model::code_refusal`]), of which the first that applies is the
//!   answer;
//! - what an answer to a step-up request, or its absence, comes to, by
//!   what was asked: [`outcome_of`], from (request, meaning) to an
//!   [`Outcome`];
//! - what each outcome does to the sub-state (`NotNeeded`/`Needed` →
//!   `Requested` → `CodeSent` → `Verifying` → `SteppedUp`, or `Requested`
//!   → `AwaitingApproval` → `SteppedUp` for a push), to the events and to
//!   the step-up's [`StepUpLog`]: [`Model::take_outcome`].
//!
//! What the user is asked ([`Model::code_prompt`]) is not kept anywhere:
//! it is read off the log of the step-up's challenges.

use core::time::Duration;

use authsession_core::{
    Channel, ExpiryReason, Instant, NotReady, PromptReason, StepUpRefused, StepUpState,
};

use super::fixture::{Req, StepUpMeaning, Then};
use super::input::{Code, RIGHT_CODE};
use super::reference::{Ev, Model};

/// The most codes the server may refuse for one challenge; then the
/// session takes no more for it (the APIs lock the user out long before).
pub const REFUSED_CODES: usize = 8;

/// The longest one-time code the session takes (`StepUpRefused::InvalidCode`:
/// "1 to 16 letters or digits").
const LONGEST_CODE: usize = 16;

/// A step-up event, as the caller is told it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepUpEvent {
    /// `StepUpRequired`: a call needs step-up, told once.
    Required,
    /// `CodeSent`: a challenge's code is on its way to the user.
    CodeSent,
    /// `AwaitingApproval`: a push challenge waits for the user.
    AwaitingApproval,
    /// `StepUpFailed`: a step-up request or a push was refused, or got no
    /// answer.
    Failed,
    /// `SteppedUp`: the token passed SCA.
    Passed,
}

impl StepUpEvent {
    /// The event's name in the session's `Event` enum, as `Debug` prints
    /// it (every one of them but `StepUpFailed` carries nothing).
    pub fn event_name(self) -> &'static str {
        match self {
            StepUpEvent::Required => "StepUpRequired",
            StepUpEvent::CodeSent => "CodeSent",
            StepUpEvent::AwaitingApproval => "AwaitingApproval",
            StepUpEvent::Failed => "StepUpFailed",
            StepUpEvent::Passed => "SteppedUp",
        }
    }
}

/// One challenge of a step-up, as the user met it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeLog {
    /// Where its code, or its push, went.
    pub channel: Channel,
    /// The codes the server weighed and refused for it, oldest first
    /// (invariant 11: none of them is sent to it again).
    pub refused: Vec<&'static str>,
    /// How many codes the user may still type for it, as the server last
    /// said when it refused one.
    pub tries_left: Option<u32>,
    /// The server said its code expired.
    pub code_expired: bool,
}

/// What the model remembers of the step-up in progress. It lasts as long
/// as the step-up: passing it, or the end of its token, forgets it all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepUpLog {
    /// The challenges whose code (or push) went out, oldest first.
    pub challenges: Vec<ChallengeLog>,
    /// The code the verify request in flight carries.
    pub code_in_flight: Option<&'static str>,
}

impl StepUpLog {
    /// Why the user is asked about the challenge that is out: the server
    /// refused a code of it, or it is the step-up's first, or a later one.
    fn why_asked(&self) -> Option<PromptReason> {
        let current = self.challenges.last()?;
        Some(if !current.refused.is_empty() {
            PromptReason::CodeRefused
        } else if self.challenges.len() == 1 {
            PromptReason::FirstAsk
        } else {
            PromptReason::NewChallenge
        })
    }

    /// The codes refused for the challenge that is out.
    fn refused_now(&self) -> &[&'static str] {
        self.challenges
            .last()
            .map_or(&[], |challenge| challenge.refused.as_slice())
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

/// What an answer to a step-up request (or a push result, or no answer
/// at all) comes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A challenge went out: a code to type, or (`push`) a push to approve.
    ChallengeOut {
        /// Whether it is a push.
        push: bool,
    },
    /// The token passed SCA.
    Passed,
    /// The server weighed the code in flight and refused it. The challenge
    /// stands, and that code is spent for it (invariant 11).
    CodeRefused {
        /// Tries left, if the server says.
        tries_left: Option<u32>,
    },
    /// Nothing was weighed: the user may type a code for the same
    /// challenge again.
    TypeAgain,
    /// The challenge is over; a new one may be asked for once `pause` (if
    /// the server asked for one) is over.
    NewChallenge {
        /// The server's pause before the next challenge.
        pause: Option<Duration>,
        /// Whether it is over because its code expired (the user is told).
        code_expired: bool,
    },
    /// Step-up is spent for this token: the token ends, and the next call
    /// logs in again.
    TokenSpent,
}

/// What the server's answer to `request` means for the step-up; `None`
/// when no answer came (a transport failure, or the deadline passed).
///
/// | asked          | the server said (or did not)        | outcome                 |
/// | -------------- | ----------------------------------- | ----------------------- |
/// | either         | a code is on its way / a push waits | a challenge is out      |
/// | either         | stepped up                          | passed                  |
/// | a code         | this code is wrong (tries left)     | that code is refused    |
/// | a code         | type it again / no answer           | type again              |
/// | either         | the code expired                    | a new challenge, told   |
/// | either         | ask again (after a pause)           | a new challenge         |
/// | either         | no more step-up for this token      | the token is spent      |
/// | a challenge    | a wrong code / type it again / none | a new challenge: no code was sent, so none can be typed again |
pub fn outcome_of(request: Req, answer: Option<StepUpMeaning>) -> Outcome {
    let carried_a_code = matches!(request, Req::VerifyCode(_));
    match answer {
        Some(StepUpMeaning::CodeSent) => Outcome::ChallengeOut { push: false },
        Some(StepUpMeaning::AwaitingApproval) => Outcome::ChallengeOut { push: true },
        Some(StepUpMeaning::SteppedUp) => Outcome::Passed,
        Some(StepUpMeaning::CodeRefused { tries_left }) if carried_a_code => {
            Outcome::CodeRefused { tries_left }
        }
        Some(StepUpMeaning::Failed(Then::RetryCode)) | None if carried_a_code => Outcome::TypeAgain,
        Some(StepUpMeaning::CodeExpired) => Outcome::NewChallenge {
            pause: None,
            code_expired: true,
        },
        Some(StepUpMeaning::Failed(Then::NewChallenge(pause))) => Outcome::NewChallenge {
            pause,
            code_expired: false,
        },
        Some(StepUpMeaning::Failed(Then::LogInAgain)) => Outcome::TokenSpent,
        Some(StepUpMeaning::CodeRefused { .. } | StepUpMeaning::Failed(Then::RetryCode)) | None => {
            Outcome::NewChallenge {
                pause: None,
                code_expired: false,
            }
        }
    }
}

/// Whether `text` is a code the session may send at all: 1 to
/// [`LONGEST_CODE`] ASCII letters or digits.
fn well_formed(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= LONGEST_CODE
        && text.chars().all(|c| c.is_ascii_alphanumeric())
}

/// What a user's step-up action comes to: done (its request queued, or
/// its answer taken), or refused before anything was sent.
pub type Refusable = Result<(), StepUpRefused>;

/// The first of `rules` that applies, as the refusal it gives.
fn first_applying(rules: &[(bool, StepUpRefused)]) -> Option<StepUpRefused> {
    rules
        .iter()
        .find_map(|&(applies, refusal)| applies.then_some(refusal))
}

impl Model {
    /// `Session::code_prompt`: read off the log. While a challenge is out
    /// (a code to type, a push to approve), why the user is asked; after
    /// its code expired, whether to ask for a new one; otherwise nothing.
    pub fn code_prompt(&self) -> Option<Prompt> {
        let current = self.step_up_log.challenges.last()?;
        let (channel, reason) = match self.step_up_state() {
            StepUpState::CodeSent(channel) | StepUpState::AwaitingApproval(channel) => {
                (channel, self.step_up_log.why_asked()?)
            }
            StepUpState::Needed if current.code_expired => {
                (current.channel, PromptReason::CodeExpired)
            }
            _ => return None,
        };
        Some(Prompt {
            channel,
            reason,
            tries_left: current.tries_left,
        })
    }

    /// `authorize(SteppedUp)` on an active token: granted once stepped up;
    /// otherwise step-up is needed (the first such call tells the caller)
    /// or under way.
    pub(super) fn stepped_up_or_why(&mut self) -> Result<(), NotReady> {
        let Some(token) = self.token() else {
            return Err(NotReady::LoggingIn);
        };
        let why = match token.step_up {
            StepUpState::SteppedUp => return Ok(()),
            StepUpState::NotNeeded | StepUpState::Needed => NotReady::StepUpRequired,
            _ => NotReady::SteppingUp,
        };
        self.step_up_needed();
        Err(why)
    }

    /// A call sent under the ticket's generation and step-up count came
    /// back "step-up required". Only one sent under the current token and
    /// since the last step-up speaks of now: the server decides how long a
    /// step-up lasts, so once stepped up, step-up is needed again.
    pub(super) fn server_asks_for_step_up(&mut self, (generation, step_ups): (u64, u64)) {
        if generation == self.generation && step_ups == self.step_ups {
            self.step_up_needed();
        }
    }

    /// Step-up is needed now. From a token that needed none, or was
    /// stepped up, the caller is told (once); a step-up already needed or
    /// under way carries on as it is.
    fn step_up_needed(&mut self) {
        let settled = matches!(
            self.token().map(|token| token.step_up),
            Some(StepUpState::NotNeeded | StepUpState::SteppedUp)
        );
        if settled {
            self.put_step_up(StepUpState::Needed);
            self.tell(StepUpEvent::Required);
        }
    }

    /// Why `start_step_up` is refused at `now`, if it is: the first rule
    /// that applies.
    pub fn challenge_refusal(&self, now: Instant) -> Option<StepUpRefused> {
        let stage = self.step_up_state();
        let serving = self.token_lapsed(now) == Some(false);
        let busy = self.in_flight.is_some()
            || matches!(stage, StepUpState::Requested(_) | StepUpState::Verifying(_));
        first_applying(&[
            // Only an API with step-up has challenges.
            (!self.facts.step_up, StepUpRefused::Unsupported),
            // A challenge raises a token that serves (invariant 3: a
            // lapsed one is never sent).
            (!serving, StepUpRefused::NotLoggedIn),
            (
                stage == StepUpState::SteppedUp,
                StepUpRefused::AlreadySteppedUp,
            ),
            // One request of the session's own at a time.
            (busy, StepUpRefused::InProgress),
            // A new code only after the resend interval, or the pause the
            // server asked for.
            (
                now < self.challenge_not_before,
                StepUpRefused::TooSoon {
                    until: self.challenge_not_before,
                },
            ),
        ])
    }

    /// Why the code `text`, typed for the challenge that is out, is not
    /// sent at `now`, if it is not: the first rule that applies.
    pub fn code_refusal(&self, text: &str, now: Instant) -> Option<StepUpRefused> {
        let refused = self.step_up_log.refused_now();
        let lapsed = self.token_lapsed(now) == Some(true);
        first_applying(&[
            (!well_formed(text), StepUpRefused::InvalidCode),
            // Invariant 11: a code the server refused is never sent again
            // to the same challenge.
            (refused.contains(&text), StepUpRefused::CodeAlreadyRefused),
            // At most REFUSED_CODES refused per challenge.
            (refused.len() >= REFUSED_CODES, StepUpRefused::TooManyCodes),
            // Invariant 1: one request of the session's own at a time; a
            // refresh login in flight is not replaced by the code.
            (self.in_flight.is_some(), StepUpRefused::InProgress),
            // Invariant 3: the code would travel with a lapsed token.
            (
                lapsed && !super::known::SUBMIT_CODE_SENDS_A_LAPSED_TOKEN,
                StepUpRefused::NotLoggedIn,
            ),
        ])
    }

    /// `start_step_up(channel, now)`.
    pub fn start_step_up(&mut self, channel: Channel, now: Instant) -> Refusable {
        if let Some(refusal) = self.challenge_refusal(now) {
            return Err(refusal);
        }
        self.queue(Req::StartStepUp(channel), now);
        // The resend interval counts from the asking, too.
        self.pause_challenges_until(now + self.facts.resend_interval);
        self.put_step_up(StepUpState::Requested(channel));
        Ok(())
    }

    /// `submit_code(code, now)`: only while a code was sent, and only a
    /// code that no rule refuses.
    pub fn submit_code(&mut self, code: Code, now: Instant) -> Refusable {
        let text = code.text(self.last_code);
        self.last_code = Some(text);
        let StepUpState::CodeSent(channel) = self.step_up_state() else {
            return Err(StepUpRefused::NothingToAnswer);
        };
        if let Some(refusal) = self.code_refusal(text, now) {
            return Err(refusal);
        }
        // The server's table answers a code by whether it is the one sent.
        self.memory.right_code = text == RIGHT_CODE;
        self.step_up_log.code_in_flight = Some(text);
        self.put_step_up(StepUpState::Verifying(channel));
        self.queue(Req::VerifyCode(channel), now);
        Ok(())
    }

    /// `report_push_result(approved, now)`: the user's answer to the push
    /// that waits is an outcome like a server's; without one, there is
    /// nothing to answer.
    pub fn report_push_result(&mut self, approved: bool, now: Instant) -> Refusable {
        match (self.step_up_state(), approved) {
            (StepUpState::AwaitingApproval(channel), true) => {
                self.take_outcome(channel, Outcome::Passed, now);
            }
            (StepUpState::AwaitingApproval(channel), false) => {
                let declined = Outcome::NewChallenge {
                    pause: None,
                    code_expired: false,
                };
                self.take_outcome(channel, declined, now);
            }
            _ => return Err(StepUpRefused::NothingToAnswer),
        }
        Ok(())
    }

    /// The step-up request in flight, `request`, was answered with
    /// `answer`, or (`None`) got no answer.
    pub(super) fn step_up_answered(
        &mut self,
        request: Req,
        answer: Option<StepUpMeaning>,
        now: Instant,
    ) {
        if let Req::StartStepUp(channel) | Req::VerifyCode(channel) = request {
            self.take_outcome(channel, outcome_of(request, answer), now);
        }
    }

    /// What `outcome` of a request on `channel` does: the sub-state it
    /// leads to, what the caller is told, what the log keeps, and any
    /// pause before the next challenge.
    fn take_outcome(&mut self, channel: Channel, outcome: Outcome, now: Instant) {
        let code = self.step_up_log.code_in_flight.take();
        match outcome {
            Outcome::ChallengeOut { push } => {
                // The server counts its pause from the challenge it saw,
                // which may be later than when ours was asked.
                self.pause_challenges_until(now + self.facts.resend_interval);
                self.step_up_log.challenges.push(ChallengeLog {
                    channel,
                    refused: Vec::new(),
                    tries_left: None,
                    code_expired: false,
                });
                let (stage, event) = if push {
                    (
                        StepUpState::AwaitingApproval(channel),
                        StepUpEvent::AwaitingApproval,
                    )
                } else {
                    (StepUpState::CodeSent(channel), StepUpEvent::CodeSent)
                };
                self.put_step_up(stage);
                self.tell(event);
            }
            Outcome::Passed => {
                self.step_up_log = StepUpLog::default();
                self.step_ups += 1;
                self.put_step_up(StepUpState::SteppedUp);
                self.tell(StepUpEvent::Passed);
            }
            Outcome::CodeRefused { tries_left } => {
                if let Some(current) = self.step_up_log.challenges.last_mut() {
                    current.refused.extend(code);
                    current.tries_left = tries_left;
                }
                self.put_step_up(StepUpState::CodeSent(channel));
                self.tell(StepUpEvent::Failed);
            }
            Outcome::TypeAgain => {
                self.put_step_up(StepUpState::CodeSent(channel));
                self.tell(StepUpEvent::Failed);
            }
            Outcome::NewChallenge {
                pause,
                code_expired,
            } => {
                if let Some(pause) = pause {
                    self.pause_challenges_until(now + pause);
                }
                if code_expired && let Some(current) = self.step_up_log.challenges.last_mut() {
                    current.code_expired = true;
                }
                self.put_step_up(StepUpState::Needed);
                self.tell(StepUpEvent::Failed);
            }
            Outcome::TokenSpent => {
                self.tell(StepUpEvent::Failed);
                self.expire(ExpiryReason::StepUpExhausted);
            }
        }
    }

    /// No challenge is asked for before `at` (nor before any earlier
    /// pause's end).
    fn pause_challenges_until(&mut self, at: Instant) {
        self.challenge_not_before = self.challenge_not_before.max(at);
    }

    /// The active token's step-up is now `stage` (nothing without one).
    fn put_step_up(&mut self, stage: StepUpState) {
        if let super::reference::Phase::Active(token) = &mut self.phase {
            token.step_up = stage;
        }
    }

    fn tell(&mut self, event: StepUpEvent) {
        self.events.push(Ev::StepUp(event));
    }
}
