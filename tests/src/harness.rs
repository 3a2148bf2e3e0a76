//! The [`Harness`]: a [`Session`] of any provider, driven by the crate's
//! one rule (drain `poll_transmit` and `poll_event` after every input),
//! with every output recorded. The provider's own constructors and whole
//! exchanges are in [`currencycloud`](crate::currencycloud) and
//! [`weavr`](crate::weavr).

use core::time::Duration;

use authsession_core::{
    Channel, Instant, Level, NotReady, Provider, RequestId, ResponseParts, Session, SessionState,
    StepUpRefused, StepUpState, Ticket, Verdict,
};

use crate::record::{Granted, Seen, Sent};

/// The most outputs one input may produce before the harness calls it a
/// runaway loop.
const DRAIN_LIMIT: usize = 64;

/// A session driven by the drain rule, with every output recorded.
#[derive(Debug)]
pub struct Harness<P: Provider> {
    /// The session under test.
    pub session: Session<P>,
    /// The caller's clock; every input is given this instant.
    pub now: Instant,
    sent: Vec<Sent>,
    events: Vec<Seen>,
    /// Every request ever sent, for checks over a whole test.
    pub all_sent: Vec<Sent>,
    /// Every grant ever given.
    pub all_grants: Vec<Granted>,
    /// Everything the session's outputs printed (`Debug` of transmits,
    /// grants, events, refusals, verdicts and the session; `Debug` and
    /// `Display` of errors).
    pub printed: Vec<String>,
}

impl<P: Provider> Harness<P> {
    /// A harness around `session`, at instant zero.
    pub fn with_session(session: Session<P>) -> Self {
        Harness {
            session,
            now: Instant::ZERO,
            sent: Vec::new(),
            events: Vec::new(),
            all_sent: Vec::new(),
            all_grants: Vec::new(),
            printed: Vec::new(),
        }
    }

    // -- time --

    /// Lets `duration` pass (no input).
    pub fn advance(&mut self, duration: Duration) {
        self.now = self.now + duration;
    }

    /// Sets the clock to `duration` after the origin.
    pub fn set_time(&mut self, since_origin: Duration) {
        self.now = Instant::ZERO + since_origin;
    }

    /// Sets the clock to `instant`.
    pub fn set_now(&mut self, instant: Instant) {
        self.now = instant;
    }

    // -- inputs, each followed by a drain --

    /// `Session::login`.
    pub fn login(&mut self) {
        self.session.login(self.now);
        self.drain();
    }

    /// `Session::logout`.
    pub fn logout(&mut self) {
        self.session.logout(self.now);
        self.drain();
    }

    /// `Session::set_credentials`.
    pub fn set_credentials(&mut self, credentials: P::Credentials) {
        self.session.set_credentials(credentials);
        self.drain();
    }

    /// `Session::handle_timeout` at the current instant.
    pub fn timeout(&mut self) {
        self.session.handle_timeout(self.now);
        self.drain();
    }

    /// Moves the clock to `poll_timeout` (which must be set) and calls
    /// `handle_timeout` there.
    pub fn sleep_until_timeout(&mut self) {
        let deadline = self
            .session
            .poll_timeout()
            .expect("the session has a timer set");
        assert!(deadline >= self.now, "a timer in the past: {deadline:?}");
        self.now = deadline;
        self.timeout();
    }

    /// `Session::authorize` at `level`, owned.
    pub fn authorize_at(&mut self, level: Level) -> Result<Granted, NotReady> {
        let result = self
            .session
            .authorize(level, self.now)
            .map(|g| Granted::of(&g));
        match &result {
            Ok(granted) => {
                self.printed.push(granted.debug.clone());
                self.all_grants.push(granted.clone());
            }
            Err(not_ready) => self.printed.push(format!("{not_ready:?}")),
        }
        self.drain();
        result
    }

    /// `Session::authorize` for a call that needs the user's token.
    pub fn authorize(&mut self) -> Result<Granted, NotReady> {
        self.authorize_at(Level::User)
    }

    /// A grant at `level` that must be given.
    pub fn grant_at(&mut self, level: Level) -> Granted {
        match self.authorize_at(level) {
            Ok(granted) => granted,
            Err(why) => panic!(
                "no grant at {level:?}: {why:?} in {:?}",
                self.session.state()
            ),
        }
    }

    /// A grant for a call that needs the user's token, which must be given.
    pub fn grant(&mut self) -> Granted {
        self.grant_at(Level::User)
    }

    /// `Session::handle_reply` of an application call's answer.
    pub fn reply(&mut self, ticket: Ticket, status: u16, body: &str) -> Verdict {
        self.reply_with(ticket, &ResponseParts::new(status, body.as_bytes()))
    }

    /// `Session::handle_reply` of any response.
    pub fn reply_with(&mut self, ticket: Ticket, response: &ResponseParts<'_>) -> Verdict {
        let verdict = self.session.handle_reply(ticket, response, self.now);
        self.printed.push(format!("{verdict:?}"));
        self.drain();
        verdict
    }

    /// `Session::handle_response` to request `to` with `status` and `body`.
    pub fn answer(&mut self, to: &Sent, status: u16, body: &str) {
        self.answer_with(to, status, &[], body);
    }

    /// The same with `headers`.
    pub fn answer_with(&mut self, to: &Sent, status: u16, headers: &[(&str, &[u8])], body: &str) {
        let response = ResponseParts::new(status, body.as_bytes()).with_headers(headers);
        self.answer_id(to.id, &response);
    }

    /// `Session::handle_response` to request `id` with any response.
    pub fn answer_id(&mut self, id: RequestId, response: &ResponseParts<'_>) {
        self.session.handle_response(id, response, self.now);
        self.drain();
    }

    /// `Session::handle_failure` of request `to`.
    pub fn fail(&mut self, to: &Sent) {
        self.fail_id(to.id);
    }

    /// `Session::handle_failure` of request `id`.
    pub fn fail_id(&mut self, id: RequestId) {
        self.session.handle_failure(id, self.now);
        self.drain();
    }

    /// `Session::start_step_up` on `channel`.
    pub fn start_step_up(&mut self, channel: Channel) -> Result<(), StepUpRefused> {
        let result = self.session.start_step_up(channel, self.now);
        self.printed.push(format!("{result:?}"));
        self.drain();
        result
    }

    /// `Session::submit_code` of the code the user typed.
    pub fn submit_code(&mut self, code: &str) -> Result<(), StepUpRefused> {
        let result = self.session.submit_code(code, self.now);
        self.printed.push(format!("{result:?}"));
        self.drain();
        result
    }

    /// `Session::report_push_result`: whether the user approved the push.
    pub fn report_push(&mut self, approved: bool) -> Result<(), StepUpRefused> {
        let result = self.session.report_push_result(approved, self.now);
        self.printed.push(format!("{result:?}"));
        self.drain();
        result
    }

    /// The rule: drains transmits and events until both are empty.
    pub fn drain(&mut self) {
        for _ in 0..DRAIN_LIMIT {
            let mut progressed = false;
            if let Some(transmit) = self.session.poll_transmit() {
                let sent = Sent::of(&transmit);
                self.printed.push(sent.debug.clone());
                self.sent.push(sent.clone());
                self.all_sent.push(sent);
                progressed = true;
            }
            if let Some(event) = self.session.poll_event() {
                self.printed.push(format!("{event:?}"));
                let seen = Seen::of(&event);
                if let Seen::LoginRejected(error)
                | Seen::GaveUp(error)
                | Seen::StepUpFailed(error) = &seen
                {
                    self.printed.push(format!("{error:?}"));
                    self.printed.push(format!("{error}"));
                }
                self.events.push(seen);
                progressed = true;
            }
            if !progressed {
                self.printed.push(format!("{:?}", self.session));
                self.printed.push(format!("{:#?}", self.session));
                return;
            }
        }
        panic!("the session kept producing outputs past {DRAIN_LIMIT}");
    }

    // -- outputs --

    /// The requests sent since the last take.
    pub fn take_sent(&mut self) -> Vec<Sent> {
        core::mem::take(&mut self.sent)
    }

    /// Exactly one request was sent since the last take: that one.
    pub fn take_one_sent(&mut self) -> Sent {
        let mut sent = self.take_sent();
        assert_eq!(sent.len(), 1, "expected one request, got {sent:#?}");
        sent.remove(0)
    }

    /// Puts a request taken earlier back among those sent since the last
    /// take, for a whole exchange that takes it (a login sent before it
    /// was called).
    pub fn put_back(&mut self, sent: Sent) {
        self.sent.push(sent);
    }

    /// Whether no request was sent since the last take.
    pub fn nothing_sent(&self) -> bool {
        self.sent.is_empty()
    }

    /// The events since the last take.
    pub fn take_events(&mut self) -> Vec<Seen> {
        core::mem::take(&mut self.events)
    }

    /// The state of the session.
    pub fn state(&self) -> SessionState {
        self.session.state()
    }

    /// The state of the session's step-up.
    pub fn step_up_state(&self) -> StepUpState {
        self.session.step_up_state()
    }

    /// Fails if anything the session's outputs printed shows `secret`.
    pub fn assert_never_printed(&self, secret: &str) {
        for text in &self.printed {
            assert!(!text.contains(secret), "{secret:?} printed in {text}");
        }
    }
}
