//! The rounds of one application call, decided once for every driver (the
//! blocking client, the async client, the middleware, the embedded
//! drivers): a call whose token was refused goes once more after the new
//! login, a call that needs step-up goes once more after the step-up (when
//! the driver can step up), and after that its answer is final.
//!
//! Without this bound a server that refuses every token would make every
//! call log in forever; with it, one call costs at most two logins' worth
//! of waiting and one step-up.

use crate::grant::Verdict;

/// What a call does after the session's [`Verdict`] on its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextRound {
    /// Send the call again once the session authorizes it (the token was
    /// refused and the session is logging in).
    Replay,
    /// Step the session up, then send the call again.
    StepUp,
    /// The answer is final: hand it (or the verdict's error) to the
    /// caller.
    Finish,
}

/// How far one call has gone: whether it was replayed and whether it
/// stepped the session up. One per call, new for each.
///
/// ```
/// use authsession_core::{CallRounds, NextRound, Verdict};
///
/// let mut rounds = CallRounds::new(true);
/// assert_eq!(rounds.after(&Verdict::Replay), NextRound::Replay);
/// // Refused again after the new login: the answer is final.
/// assert_eq!(rounds.after(&Verdict::Replay), NextRound::Finish);
/// assert_eq!(rounds.after(&Verdict::StepUp), NextRound::StepUp);
/// assert_eq!(rounds.after(&Verdict::StepUp), NextRound::Finish);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallRounds {
    can_step_up: bool,
    replayed: bool,
    stepped_up: bool,
}

impl CallRounds {
    /// The rounds of a new call; `can_step_up` says whether the driver
    /// has a way to step the session up (a callback, say).
    pub const fn new(can_step_up: bool) -> Self {
        CallRounds {
            can_step_up,
            replayed: false,
            stepped_up: false,
        }
    }

    /// What to do after `verdict` on the call's answer.
    pub fn after(&mut self, verdict: &Verdict) -> NextRound {
        match verdict {
            Verdict::Replay if !self.replayed => {
                self.replayed = true;
                NextRound::Replay
            }
            Verdict::StepUp if self.take_step_up() => NextRound::StepUp,
            _ => NextRound::Finish,
        }
    }

    /// The session said the call needs step-up before it went
    /// ([`NotReady::StepUpRequired`](crate::NotReady::StepUpRequired)):
    /// whether to step up now (once per call) rather than fail.
    pub fn step_up_before_sending(&mut self) -> bool {
        self.take_step_up()
    }

    /// Whether the call was sent again after a refused token.
    pub const fn replayed(&self) -> bool {
        self.replayed
    }

    fn take_step_up(&mut self) -> bool {
        if self.can_step_up && !self.stepped_up {
            self.stepped_up = true;
            true
        } else {
            false
        }
    }
}
