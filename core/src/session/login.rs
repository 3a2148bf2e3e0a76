//! The login cycle: queuing each step, reading its outcome, activating the
//! token, refreshing it ahead of its expiry, rejecting, and backing off.
//!
//! A login writes into the session's second token buffer, so that a
//! refresh never disturbs the token that keeps serving calls; the two
//! buffers swap when the login succeeds.

use core::time::Duration;

use super::state::{LoginProgress, State, StepUpState, TokenTimes};
use super::{EventKind, Session};
use crate::error::{Error, TokenProblem};
use crate::event::ExpiryReason;
use crate::provider::{
    LoginOutcome, LoginStep, NewToken, Provider, RetryHint, SessionRequest, is_header_safe,
};
use crate::secret::Buffer;
use crate::time::Instant;

impl<P: Provider> Session<P> {
    /// Starts a login cycle from a state without a token, or waits out the
    /// backoff the server asked for.
    pub(super) fn begin_login(&mut self, now: Instant) {
        let failures = match self.state {
            State::Waiting { failures, .. } => failures,
            _ => 0,
        };
        self.forget_token();
        if now < self.throttles.login_not_before {
            self.state = State::Waiting {
                until: self.throttles.login_not_before,
                failures,
            };
        } else {
            self.queue_login(LoginStep::FIRST, failures, now);
        }
    }

    /// Starts a login while the current token keeps serving.
    pub(super) fn begin_refresh(&mut self, now: Instant) {
        if let State::Active(times) = self.state {
            self.queue_login(LoginStep::FIRST, times.refresh_failures, now);
        }
    }

    /// Queues login step `step`: as the session's login (`LoggingIn`) or,
    /// while a token is active, as its refresh.
    pub(super) fn queue_login(&mut self, step: LoginStep, failures: u32, now: Instant) {
        if step == LoginStep::FIRST {
            self.login_token.clear();
        }
        let progress = LoginProgress {
            step,
            failures,
            sent_at: now,
        };
        match self.queue(SessionRequest::Login(step), "", now) {
            Ok(()) => match &mut self.state {
                State::Active(times) => times.refresh = Some(progress),
                state => *state = State::LoggingIn(progress),
            },
            // The request cannot even be written (credentials too long for
            // the body buffer): no retry can help.
            Err(error) => self.reject(error),
        }
    }

    /// The login in progress, whether the session's or a refresh.
    fn login_progress(&self) -> Option<LoginProgress> {
        match self.state {
            State::LoggingIn(progress) => Some(progress),
            State::Active(times) => times.refresh,
            _ => None,
        }
    }

    pub(super) fn after_login_step(&mut self, outcome: LoginOutcome, now: Instant) {
        let Some(progress) = self.login_progress() else {
            return;
        };
        match outcome {
            LoginOutcome::Next(step) => self.queue_login(step, progress.failures, now),
            LoginOutcome::LoggedIn(new_token) => {
                // A provider of the user's own may not check its token: the
                // session does, so that no unusable token is ever sent.
                let token = self.login_token.as_bytes();
                if token.is_empty() {
                    self.reject(Error::UnusableToken(TokenProblem::Empty));
                } else if !is_header_safe(token) {
                    self.reject(Error::UnusableToken(TokenProblem::NotHeaderSafe));
                } else {
                    self.activate(new_token, progress, now);
                }
            }
            LoginOutcome::Rejected(error) => self.reject(error),
            LoginOutcome::Retry(hint) => self.retry_later(progress, hint, now),
        }
    }

    /// Makes the new token the session's, planning its idle deadline,
    /// expiry and refresh from the instant its login was sent; or, if it
    /// cannot serve a call, counts the login as failed.
    ///
    /// A token "cannot serve a call" when the time it has left on arrival
    /// is shorter than the login took: logging in for it again at once
    /// would make logins without end (a JWT with `exp == iat`, a lifetime
    /// shorter than the round trip).
    fn activate(&mut self, new_token: NewToken, progress: LoginProgress, now: Instant) {
        let sent_at = progress.sent_at;
        let lifetime = new_token
            .lifetime
            .or_else(|| self.lifetime_from_wall_clock(new_token.expires_at_unix, sent_at));
        let mut times = TokenTimes {
            idle_deadline: self
                .provider
                .idle_timeout()
                .map(|idle| self.idle_deadline(sent_at, idle)),
            expires_at: None,
            refresh_at: None,
            refresh: None,
            refresh_failures: 0,
            step_up: if new_token.stepped_up {
                StepUpState::SteppedUp
            } else {
                StepUpState::NotNeeded
            },
        };
        if let Some(lifetime) = lifetime {
            let (expires_at, refresh_at) = self.plan_expiry(sent_at, lifetime);
            times.expires_at = Some(expires_at);
            times.refresh_at = refresh_at;
        }
        let round_trip = now.saturating_duration_since(sent_at);
        let usable_until = [times.idle_deadline, times.expires_at]
            .into_iter()
            .flatten()
            .min();
        if usable_until.is_some_and(|end| end <= now + round_trip) {
            let hint = RetryHint::without_wait(Error::TokenLapsedOnArrival);
            self.retry_later(progress, hint, now);
            return;
        }
        core::mem::swap(&mut self.token, &mut self.login_token);
        self.login_token.clear();
        self.challenges.reset();
        self.generation = self.generation.wrapping_add(1);
        self.last_error = None;
        self.state = State::Active(times);
        self.emit(EventKind::LoggedIn {
            generation: self.generation,
        });
    }

    /// A token's lifetime from its `exp` in Unix seconds, when the caller
    /// told the session the wall-clock time.
    fn lifetime_from_wall_clock(
        &self,
        expires_at_unix: Option<u64>,
        sent_at: Instant,
    ) -> Option<Duration> {
        let unix_at_zero = self.config.unix_time_at_zero?;
        let sent_unix = unix_at_zero.saturating_add(sent_at.as_millis() / 1000);
        expires_at_unix?
            .checked_sub(sent_unix)
            .map(Duration::from_secs)
    }

    /// When a token of `lifetime`, whose login was sent at `sent_at`, is
    /// treated as lapsed, and when its refresh starts. Both margins shrink
    /// for short lifetimes (a twentieth and a tenth of it), and the refresh
    /// is spread over a window as wide as its margin, so that clients
    /// started together do not log in together.
    fn plan_expiry(&mut self, sent_at: Instant, lifetime: Duration) -> (Instant, Option<Instant>) {
        let expiry_margin = self.config.expiry_margin.min(lifetime / 20);
        let expires_at = sent_at + lifetime.saturating_sub(expiry_margin);
        let ahead = self.config.refresh_ahead.min(lifetime / 10);
        if ahead.is_zero() {
            return (expires_at, None);
        }
        let spread = self.jitter.up_to(ahead);
        let refresh_at = expires_at.saturating_sub(ahead + spread);
        (expires_at, Some(refresh_at.max(sent_at)))
    }

    /// When a token last used at `activity` is treated as idle-expired. The
    /// margin is at most half the idle timeout, so that a short one (a
    /// sandbox's) still leaves the token half its time.
    pub(super) fn idle_deadline(&self, activity: Instant, idle: Duration) -> Instant {
        activity + idle.saturating_sub(self.config.expiry_margin.min(idle / 2))
    }

    /// Ends a login that another process of the fleet already saw refused
    /// with these credentials (its store said so): the session is
    /// rejected without sending it, with `error`, as if the server had
    /// refused it. Does nothing without a login to end.
    pub fn reject_login(&mut self, error: Error) {
        if matches!(
            self.state,
            State::LoggingIn(_) | State::LoggedOut | State::Expired(_) | State::Waiting { .. }
        ) {
            self.reject(error);
        }
    }

    pub(super) fn reject(&mut self, error: Error) {
        self.forget_token();
        self.last_error = Some(error);
        self.state = State::Rejected;
        self.emit(EventKind::LoginRejected);
    }

    /// A login failed for a passing reason: wait with backoff, or give up.
    /// A failed refresh leaves the current token serving until it lapses.
    fn retry_later(&mut self, progress: LoginProgress, hint: RetryHint, now: Instant) {
        self.login_token.clear();
        let attempt = progress.failures.saturating_add(1);
        let server_wait = match hint.retry_after {
            Some(wait) => Some(self.config.capped_retry_after(wait)),
            None if hint.rate_limited => Some(self.config.rate_limit_wait),
            None => None,
        };
        self.last_error = Some(hint.error);
        let wait = self.jitter.retry_delay(&self.config, attempt, server_wait);
        let until = now + wait;
        self.throttles.login_not_before = until;
        let gave_up = attempt >= self.config.max_attempts;
        match &mut self.state {
            State::Active(times) => {
                times.refresh = None;
                times.refresh_failures = attempt;
                // After the last attempt, the token serves out its life and
                // the next login starts when it lapses.
                times.refresh_at = if gave_up { None } else { Some(until) };
            }
            state if gave_up => *state = State::LoggedOut,
            state => {
                *state = State::Waiting {
                    until,
                    failures: attempt,
                };
            }
        }
        self.emit(if gave_up {
            EventKind::GaveUp
        } else {
            EventKind::RetryScheduled { until, attempt }
        });
    }

    /// The token lapsed. A refresh in flight carries on as the session's
    /// login, so that no second login is sent.
    pub(super) fn expire(&mut self, why: ExpiryReason) {
        let refresh = match self.state {
            State::Active(times) => times.refresh,
            _ => None,
        };
        self.token.clear();
        self.challenges.reset();
        if let Some(progress) = refresh {
            self.state = State::LoggingIn(progress);
        } else {
            self.forget_token();
            self.state = State::Expired(why);
        }
        self.emit(EventKind::Expired { why });
    }

    pub(super) fn finish_logout(&mut self) {
        self.forget_token();
        self.state = State::LoggedOut;
        self.emit(EventKind::LoggedOut);
    }
}
