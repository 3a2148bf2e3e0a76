//! The login half of the reference model: the backoff and its bound, the
//! login cycle step by step, activating a token (or counting it a failure
//! when it lapses on arrival: invariant 10), its idle deadline, expiry and
//! refresh, and its end.

use core::time::Duration;

use authsession_core::{ExpiryReason, Instant, StepUpState};

use super::fixture::{LoginMeaning, Req};
use super::reference::{Bound, Ev, Model, Oracle, Phase, Progress, Token};
use super::step_up::StepUpLog;

/// The idle margin is at most the idle timeout divided by this
/// (`Config::expiry_margin`: "at most half an idle timeout").
pub const IDLE_MARGIN_SHARE: u32 = 2;

impl Model {
    /// Whether a backoff still runs at `now` (`now < login_not_before`),
    /// asking the oracle where the bound cannot tell, and narrowing it.
    pub(super) fn waits(&mut self, now: Instant, oracle: &dyn Oracle) -> bool {
        let bound = &mut self.login_not_before;
        if now < bound.lo {
            return true;
        }
        if now >= bound.hi {
            return false;
        }
        let waits = match oracle.sent_login() {
            Some(sent) => !sent,
            None => now < Instant::from_millis(bound.lo.as_millis() / 2 + bound.hi.as_millis() / 2),
        };
        if waits {
            bound.lo = Instant::from_millis(now.as_millis() + 1);
        } else {
            bound.hi = now;
        }
        waits
    }

    /// The idle deadline of a token last used at `activity`: the margin is
    /// at most a share of the idle timeout ([`IDLE_MARGIN_SHARE`]), so that
    /// a short one still leaves the token most of its time.
    pub(super) fn idle_deadline(&self, activity: Instant) -> Option<Instant> {
        let margin = self.setup.config.expiry_margin;
        self.facts
            .idle_timeout
            .map(|idle| activity + idle.saturating_sub(margin.min(idle / IDLE_MARGIN_SHARE)))
    }

    pub(super) fn begin_login(&mut self, now: Instant, oracle: &dyn Oracle) {
        let failures = match self.phase {
            Phase::Waiting { failures } => failures,
            _ => 0,
        };
        self.in_flight = None;
        self.step_up_log = StepUpLog::default();
        if self.waits(now, oracle) {
            self.phase = Phase::Waiting { failures };
        } else {
            self.queue_login(0, failures, now);
        }
    }

    pub(super) fn queue_login(&mut self, step: u8, failures: u32, now: Instant) {
        self.queue(Req::Login(step), now);
        let progress = Progress {
            step,
            failures,
            sent_at: now,
        };
        match &mut self.phase {
            Phase::Active(token) => token.refresh = Some(progress),
            phase => *phase = Phase::LoggingIn(progress),
        }
    }

    /// Expires a lapsed token, or starts its refresh when it is due.
    pub(super) fn check_token(&mut self, now: Instant, oracle: &dyn Oracle) {
        let Phase::Active(token) = self.phase else {
            return;
        };
        if let Some(why) = token.lapsed(now) {
            self.expire(why);
            return;
        }
        let (Some(refresh_at), None, None) = (token.refresh_at, token.refresh, self.in_flight)
        else {
            return;
        };
        let lnb = self.login_not_before;
        let definitely = now >= refresh_at.hi && now >= lnb.hi;
        let definitely_not = now < refresh_at.lo || now < lnb.lo;
        let due = if definitely {
            true
        } else if definitely_not {
            false
        } else {
            let sent = oracle
                .sent_login()
                .unwrap_or(now.as_millis() >= refresh_at.hi.as_millis().max(lnb.hi.as_millis()));
            if let Phase::Active(token) = &mut self.phase {
                if sent {
                    token.refresh_at = Some(Bound {
                        hi: refresh_at.hi.min(now),
                        ..refresh_at
                    });
                    self.login_not_before.hi = lnb.hi.min(now);
                } else if now >= lnb.hi {
                    token.refresh_at = Some(Bound {
                        lo: refresh_at.lo.max(Instant::from_millis(now.as_millis() + 1)),
                        ..refresh_at
                    });
                } else if now >= refresh_at.hi {
                    self.login_not_before.lo =
                        lnb.lo.max(Instant::from_millis(now.as_millis() + 1));
                }
            }
            sent
        };
        if due {
            self.queue_login(0, token.refresh_failures, now);
        }
    }

    pub(super) fn after_login_step(
        &mut self,
        meaning: LoginMeaning,
        now: Instant,
        oracle: &dyn Oracle,
    ) {
        let (Phase::LoggingIn(progress)
        | Phase::Active(Token {
            refresh: Some(progress),
            ..
        })) = self.phase
        else {
            return;
        };
        let _ = oracle;
        match meaning {
            LoginMeaning::Next(step) => self.queue_login(step, progress.failures, now),
            LoginMeaning::LoggedIn {
                stepped_up,
                lifetime,
                expires_unix,
            } => {
                // Claims state whole seconds: a token issued at 12:00:00.900
                // says `iat` 12:00:00, so it may live a second less.
                let lifetime = lifetime.map(|life| life.saturating_sub(Duration::from_secs(1)));
                self.activate(stepped_up, lifetime, expires_unix, progress, now);
            }
            LoginMeaning::Rejected => {
                self.in_flight = None;
                self.step_up_log = StepUpLog::default();
                self.phase = Phase::Rejected;
                self.events.push(Ev::LoginRejected);
            }
            LoginMeaning::Retry { wait, rate_limited } => {
                self.retry_later(progress, wait, rate_limited, now);
            }
        }
    }

    /// Makes the new token the session's; or, if the time it has left on
    /// arrival is no longer than its login took, counts the login as a
    /// failure (invariant 10: logging in again at once for such a token
    /// would make logins without end).
    pub(super) fn activate(
        &mut self,
        stepped_up: bool,
        lifetime: Option<Duration>,
        expires_unix: Option<u64>,
        progress: Progress,
        now: Instant,
    ) {
        let sent_at = progress.sent_at;
        let config = self.setup.config;
        let lifetime = lifetime.or_else(|| {
            let sent_unix = config.unix_time_at_zero? + sent_at.as_millis() / 1000;
            expires_unix?
                .checked_sub(sent_unix)
                .map(Duration::from_secs)
        });
        let mut token = Token {
            idle_deadline: self.idle_deadline(sent_at),
            expires_at: None,
            refresh_at: None,
            refresh: None,
            refresh_failures: 0,
            step_up: if stepped_up {
                StepUpState::SteppedUp
            } else {
                StepUpState::NotNeeded
            },
        };
        if let Some(lifetime) = lifetime {
            // The margin and the refresh are at most a twentieth and a
            // tenth of the life; the refresh is spread over a window as
            // wide as its margin (Config's documentation).
            let margin = config.expiry_margin.min(lifetime / 20);
            let expires_at = sent_at + lifetime.saturating_sub(margin);
            token.expires_at = Some(expires_at);
            let ahead = config.refresh_ahead.min(lifetime / 10);
            if !ahead.is_zero() {
                token.refresh_at = Some(Bound {
                    lo: expires_at.saturating_sub(ahead * 2).max(sent_at),
                    hi: expires_at.saturating_sub(ahead).max(sent_at),
                });
            }
        }
        // Invariant 10: the token's time left on arrival, to whichever of
        // its ends comes first, must be longer than its login took.
        let login_took = now.saturating_duration_since(sent_at);
        let first_end = token
            .idle_deadline
            .into_iter()
            .chain(token.expires_at)
            .min();
        let time_left = first_end.map(|end| end.saturating_duration_since(now));
        if time_left.is_some_and(|left| left <= login_took) {
            self.retry_later(progress, None, false, now);
            return;
        }
        self.step_up_log = StepUpLog::default();
        self.generation += 1;
        self.phase = Phase::Active(token);
        self.events.push(Ev::LoggedIn(self.generation));
    }

    /// A passing failure: exponential backoff with full jitter, never
    /// less than the server asked for (up to the config's cap on
    /// `Retry-After`); give up after the configured tries.
    pub(super) fn retry_later(
        &mut self,
        progress: Progress,
        wait: Option<Duration>,
        rate_limited: bool,
        now: Instant,
    ) {
        let config = self.setup.config;
        let attempt = progress.failures.saturating_add(1);
        let server_wait = wait
            .map(|wait| wait.min(config.max_retry_after))
            .or(rate_limited.then_some(config.rate_limit_wait));
        let doublings = attempt.saturating_sub(1).min(31);
        let ceiling = config
            .backoff_base
            .saturating_mul(1u32 << doublings)
            .min(config.backoff_max);
        let floor = server_wait.unwrap_or(Duration::ZERO);
        let until = Bound {
            lo: now + floor,
            hi: now + ceiling.max(floor),
        };
        self.login_not_before = until;
        let attempts_left = config.max_attempts.saturating_sub(attempt);
        if let Phase::Active(token) = &mut self.phase {
            // A failed refresh: the token serves on, and the next refresh
            // goes when the backoff ends; after the last attempt, none.
            *token = Token {
                refresh: None,
                refresh_failures: attempt,
                refresh_at: (attempts_left > 0).then_some(until),
                ..*token
            };
        } else if attempts_left == 0 {
            self.phase = Phase::LoggedOut;
        } else {
            self.phase = Phase::Waiting { failures: attempt };
        }
        self.events.push(match attempts_left {
            0 => Ev::GaveUp,
            _ => Ev::RetryScheduled { until, attempt },
        });
    }

    /// The token lapsed (`Active` → `Expired { why }`), and its step-up
    /// with it. A refresh in flight carries on as the session's login, so
    /// that no second one is sent (invariant 1).
    pub(super) fn expire(&mut self, why: ExpiryReason) {
        self.step_up_log = StepUpLog::default();
        self.events.push(Ev::Expired(why));
        if let Some(refresh) = self.token().and_then(|token| token.refresh) {
            self.phase = Phase::LoggingIn(refresh);
        } else {
            self.in_flight = None;
            self.phase = Phase::Expired(why);
        }
    }
}
