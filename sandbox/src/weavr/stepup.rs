//! Step-up (SCA) of a Weavr access token: challenges by SMS code or by
//! push, the resend interval, the code's lifetime, the limits on wrong
//! codes and on resends, and the push's answer, which comes out of band.
//! A successful step-up marks the same token; no new one is issued.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::super::counters::Tally;
use super::super::exchange::{Incoming, Reply};
use super::super::ids;
use super::replies::{bad_request, conflict};
use super::{Token, WEAVR_OTP_CODE, Want, Weavr, bearer, json_body, text};

/// Wrong codes a token may send; the last of them, and every step-up
/// request after it, gets `CHALLENGE_LIMIT_EXCEEDED`.
const CODE_ATTEMPTS: u32 = 5;
/// Challenges a token may start: the first and two resends. The next one
/// burns the token.
const CHALLENGES_PER_TOKEN: u32 = 3;

/// Where a token stands with step-up.
#[derive(Debug, Default)]
pub(super) struct StepUp {
    stepped_up: bool,
    /// Challenges started, by SMS or push.
    challenges: u32,
    last_challenge: Option<Instant>,
    /// When the last SMS code was sent, if one waits to be verified.
    code_sent: Option<Instant>,
    wrong_codes: u32,
}

/// Why a new challenge is refused.
enum Refused {
    /// A `409` with this code.
    Conflict(&'static str),
    /// The resend limit: `400 INVALID_REQUEST`, and the login is over.
    Burnt,
}

impl StepUp {
    pub fn stepped_up(&self) -> bool {
        self.stepped_up
    }

    /// Starts a challenge if the rules allow one at `now`.
    fn admit(&mut self, now: Instant, resend_interval: Duration) -> Result<(), Refused> {
        if self.stepped_up {
            return Err(Refused::Conflict("ALREADY_VERIFIED"));
        }
        if self.wrong_codes >= CODE_ATTEMPTS {
            return Err(Refused::Conflict("CHALLENGE_LIMIT_EXCEEDED"));
        }
        if self
            .last_challenge
            .is_some_and(|at| now.duration_since(at) < resend_interval)
        {
            return Err(Refused::Conflict("RETRY_IN_15SEC"));
        }
        if self.challenges >= CHALLENGES_PER_TOKEN {
            return Err(Refused::Burnt);
        }
        self.challenges += 1;
        self.last_challenge = Some(now);
        Ok(())
    }

    /// Checks an SMS code; the right one steps the token up.
    fn verify(&mut self, code: &str, now: Instant, lifetime: Duration) -> Result<(), &'static str> {
        if self.stepped_up {
            return Err("ALREADY_VERIFIED");
        }
        let Some(sent) = self.code_sent else {
            return Err("STATE_INVALID");
        };
        if self.wrong_codes >= CODE_ATTEMPTS {
            return Err("CHALLENGE_LIMIT_EXCEEDED");
        }
        if now.duration_since(sent) >= lifetime {
            return Err("VERIFICATION_CODE_EXPIRED");
        }
        if code != WEAVR_OTP_CODE {
            self.wrong_codes += 1;
            return Err(if self.wrong_codes >= CODE_ATTEMPTS {
                "CHALLENGE_LIMIT_EXCEEDED"
            } else {
                "VERIFICATION_CODE_INVALID"
            });
        }
        self.stepped_up = true;
        self.code_sent = None;
        Ok(())
    }
}

impl Weavr {
    /// `POST /stepup/challenges/otp/{channel}`: a code "sent" by SMS.
    pub fn otp_challenge(
        &mut self,
        tally: &mut Tally,
        request: &Incoming,
        now: Instant,
        channel: &str,
    ) -> Reply {
        self.challenge(tally, request, now, channel == "SMS", |step_up| {
            step_up.code_sent = Some(now);
            Reply::empty(204)
        })
    }

    /// `POST /stepup/challenges/push/{channel}`: a push the user answers in
    /// their app, reported by [`Weavr::answer_push`].
    pub fn push_challenge(
        &mut self,
        tally: &mut Tally,
        request: &Incoming,
        now: Instant,
        channel: &str,
    ) -> Reply {
        let supported = matches!(channel, "AUTHY" | "BIOMETRIC");
        let Some(key) = bearer(request).map(str::to_owned) else {
            return Reply::empty(401);
        };
        let mut challenge_id = None;
        let reply = self.challenge(tally, request, now, supported, |_| {
            let id = ids::random_u64().to_string();
            challenge_id = Some(id.clone());
            Reply::json(200, &json!({ "id": id }))
        });
        if let Some(id) = challenge_id {
            self.last_push = Some(id.clone());
            self.pushes.insert(id, key);
        }
        reply
    }

    /// The rules common to every new challenge; `start` answers one that
    /// they admit.
    fn challenge(
        &mut self,
        tally: &mut Tally,
        request: &Incoming,
        now: Instant,
        supported: bool,
        start: impl FnOnce(&mut StepUp) -> Reply,
    ) -> Reply {
        let resend_interval = self.rules.resend_interval;
        let Some(token) = self.live(request, now, Want::Access) else {
            return Reply::empty(401);
        };
        let session = token.session;
        let Some(access) = token.access_mut() else {
            return Reply::empty(401);
        };
        if !supported {
            return conflict("CHANNEL_NOT_SUPPORTED");
        }
        match access.step_up.admit(now, resend_interval) {
            Ok(()) => {
                tally.counters.weavr_challenges += 1;
                start(&mut access.step_up)
            }
            Err(Refused::Conflict(code)) => conflict(code),
            Err(Refused::Burnt) => {
                self.end_session(session);
                Reply::json(400, &json!({ "errorCode": "INVALID_REQUEST" }))
            }
        }
    }

    /// `POST /stepup/challenges/otp/{channel}/verify` with
    /// `{"verificationCode": "..."}`.
    pub fn verify(
        &mut self,
        tally: &mut Tally,
        request: &Incoming,
        now: Instant,
        channel: &str,
    ) -> Reply {
        let lifetime = self.rules.code_lifetime;
        let Some(access) = self.live_access(request, now) else {
            return Reply::empty(401);
        };
        let body = json_body(request).unwrap_or(Value::Null);
        let Some(code) = text(&body["verificationCode"]) else {
            return bad_request(&["verificationCode"]);
        };
        if channel != "SMS" {
            return conflict("CHANNEL_NOT_SUPPORTED");
        }
        tally.counters.weavr_codes_checked += 1;
        match access.step_up.verify(code, now, lifetime) {
            Ok(()) => {
                tally.counters.weavr_verifications += 1;
                Reply::empty(204)
            }
            Err(code) => conflict(code),
        }
    }

    /// The user's answer to a push challenge: approval steps its token up.
    /// `false` if no such challenge waits or its token is gone.
    pub fn answer_push(
        &mut self,
        tally: &mut Tally,
        challenge_id: &str,
        approved: bool,
        now: Instant,
    ) -> bool {
        let Some(key) = self.pushes.remove(challenge_id) else {
            return false;
        };
        let idle_timeout = self.rules.idle_timeout;
        let Some(access) = self
            .tokens
            .get_mut(&key)
            .filter(|token| now.duration_since(token.last_used) < idle_timeout)
            .and_then(Token::access_mut)
        else {
            return false;
        };
        if approved && !access.step_up.stepped_up {
            access.step_up.stepped_up = true;
            tally.counters.weavr_verifications += 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESEND: Duration = Duration::from_millis(100);
    const LIFETIME: Duration = Duration::from_secs(300);

    #[test]
    fn the_fourth_challenge_burns_the_token_and_resends_wait() {
        let (mut step_up, start) = (StepUp::default(), Instant::now());
        assert!(step_up.admit(start, RESEND).is_ok());
        assert!(matches!(
            step_up.admit(start + RESEND / 2, RESEND),
            Err(Refused::Conflict("RETRY_IN_15SEC"))
        ));
        assert!(step_up.admit(start + RESEND, RESEND).is_ok());
        assert!(step_up.admit(start + RESEND * 2, RESEND).is_ok());
        assert!(matches!(
            step_up.admit(start + RESEND * 3, RESEND),
            Err(Refused::Burnt)
        ));
    }

    #[test]
    fn codes_are_checked_for_state_age_and_attempts() {
        let (mut step_up, start) = (StepUp::default(), Instant::now());
        assert_eq!(
            step_up.verify("123456", start, LIFETIME),
            Err("STATE_INVALID")
        );
        step_up.code_sent = Some(start);
        assert_eq!(
            step_up.verify("123456", start + LIFETIME, LIFETIME),
            Err("VERIFICATION_CODE_EXPIRED")
        );
        for _ in 1..CODE_ATTEMPTS {
            assert_eq!(
                step_up.verify("000000", start, LIFETIME),
                Err("VERIFICATION_CODE_INVALID")
            );
        }
        assert_eq!(
            step_up.verify("000000", start, LIFETIME),
            Err("CHALLENGE_LIMIT_EXCEEDED")
        );
        assert_eq!(
            step_up.verify("123456", start, LIFETIME),
            Err("CHALLENGE_LIMIT_EXCEEDED")
        );
        assert!(!step_up.stepped_up());
    }

    #[test]
    fn the_right_code_steps_up_once() {
        let (mut step_up, start) = (StepUp::default(), Instant::now());
        step_up.code_sent = Some(start);
        assert_eq!(step_up.verify("123456", start, LIFETIME), Ok(()));
        assert!(step_up.stepped_up());
        assert_eq!(
            step_up.verify("123456", start, LIFETIME),
            Err("ALREADY_VERIFIED")
        );
        assert!(matches!(
            step_up.admit(start, RESEND),
            Err(Refused::Conflict("ALREADY_VERIFIED"))
        ));
    }
}
