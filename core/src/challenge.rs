//! What both kinds of step-up remember of their challenges, and how they
//! ask the user: the token's step-up (Weavr, in the session) and a call's
//! own (Currencycloud's payments, [`CallStepUp`](crate::CallStepUp)). Both
//! keep invariant 11: a code the server refused is never sent again to the
//! same challenge. A code is never kept, only its fingerprint.

use zeroize::Zeroize;

use crate::provider::Channel;
use crate::session::StepUpRefused;

/// The longest one-time code taken: 1 to 16 letters or digits.
pub(crate) const ONE_TIME_CODE_MAX: usize = 16;

/// The most codes refused for one challenge that are remembered; after
/// that no more are taken for it (the APIs lock out long before).
const REFUSED_CODES: usize = 8;

/// Why the user is asked for a one-time code, so that an application can
/// tell its user what happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PromptReason {
    /// The first challenge of this step-up: a code was just sent.
    FirstAsk,
    /// The server refused the last code; the challenge stands, so the user
    /// may type another (never the same one: the session refuses it).
    CodeRefused,
    /// The code expired. There is no code to type: the user may ask for a
    /// new challenge (a new code is sent) or give up.
    CodeExpired,
    /// A new challenge was sent after an earlier one of this step-up.
    NewChallenge,
}

/// What a step-up asks of the user: see
/// [`Session::code_prompt`](crate::Session::code_prompt) and
/// [`CallStepUp::prompt`](crate::CallStepUp::prompt).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodePrompt {
    /// The channel of the challenge.
    pub channel: Channel,
    /// Why the user is asked.
    pub reason: PromptReason,
    /// How many codes the user may still type for this challenge, when the
    /// API says (Weavr's `ONE_CHALLENGE_LIMIT_REMAINING`: one) or has a
    /// known limit (Currencycloud: five wrong codes).
    pub tries_left: Option<u32>,
}

/// What one step-up remembers of its challenges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Challenges {
    /// Challenges whose code was sent, in this step-up.
    sent: u32,
    /// The channel of the last challenge.
    pub(crate) channel: Option<Channel>,
    /// Why the user is asked now.
    pub(crate) reason: Option<PromptReason>,
    pub(crate) tries_left: Option<u32>,
    /// Fingerprints of the codes the server refused for the current
    /// challenge.
    refused: heapless::Vec<u64, REFUSED_CODES>,
    /// The fingerprint of the code being verified.
    verifying: Option<u64>,
}

impl Challenges {
    /// No challenge yet.
    pub(crate) const fn new() -> Self {
        Challenges {
            sent: 0,
            channel: None,
            reason: None,
            tries_left: None,
            refused: heapless::Vec::new(),
            verifying: None,
        }
    }

    /// A new challenge's code is on its way: no code is refused for it yet.
    pub(crate) fn code_sent(&mut self, channel: Channel) {
        self.channel = Some(channel);
        self.reason = Some(if self.sent == 0 {
            PromptReason::FirstAsk
        } else {
            PromptReason::NewChallenge
        });
        self.sent = self.sent.saturating_add(1);
        self.tries_left = None;
        self.forget_codes();
    }

    /// How many challenges were sent in this step-up.
    pub(crate) const fn sent(&self) -> u32 {
        self.sent
    }

    /// Whether `code` may be sent to the current challenge: 1 to 16
    /// letters or digits, not refused before, and not one too many.
    pub(crate) fn check_code(&self, code: &str) -> Result<(), StepUpRefused> {
        let well_formed = (1..=ONE_TIME_CODE_MAX).contains(&code.len())
            && code.bytes().all(|byte| byte.is_ascii_alphanumeric());
        if !well_formed {
            return Err(StepUpRefused::InvalidCode);
        }
        if self.refused.contains(&fingerprint(code)) {
            return Err(StepUpRefused::CodeAlreadyRefused);
        }
        if self.refused.is_full() {
            return Err(StepUpRefused::TooManyCodes);
        }
        Ok(())
    }

    /// `code` (checked) is on its way to the server.
    pub(crate) fn verifying(&mut self, code: &str) {
        self.verifying = Some(fingerprint(code));
    }

    /// The code being verified was refused; the challenge stands.
    pub(crate) fn code_refused(&mut self, tries_left: Option<u32>) {
        if let Some(code_fingerprint) = self.verifying.take() {
            // Full: `take_code` then refuses every code of this challenge.
            let _ = self.refused.push(code_fingerprint);
        }
        self.reason = Some(PromptReason::CodeRefused);
        self.tries_left = tries_left;
    }

    /// The code being verified was not judged (its request got no answer,
    /// or the token was refused first): it may be sent again.
    pub(crate) fn code_unjudged(&mut self) {
        self.verifying = None;
    }

    fn forget_codes(&mut self) {
        self.refused.as_mut_slice().zeroize();
        self.refused.clear();
        self.verifying.zeroize();
        self.verifying = None;
    }

    /// The step-up is over (passed, or the token is gone).
    pub(crate) fn reset(&mut self) {
        self.forget_codes();
        *self = Challenges::new();
    }
}

/// A one-time code's fingerprint (FNV-1a): enough to know a code seen
/// before, without keeping it.
fn fingerprint(code: &str) -> u64 {
    code.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
