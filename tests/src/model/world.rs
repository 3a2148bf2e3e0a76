//! The driver: applies an [`Input`] to the real [`Session`] by the drain
//! rule, applies it to the reference [`Model`], and checks after every step
//! that the two agree (state, generation, step-up, timer, events, requests,
//! answers) and that the session kept the invariants ([`Watch`]).

use core::time::Duration;

use authsession_core::{
    Event, Instant, Level, NotReady, RequestId, Session, SessionState, StepUpRefused, Ticket,
    Verdict,
};

use super::fixture::{
    Canned, Fixture, LoginMeaning, Meaning, ReplyMeaning, Req, Setup, StepUpMeaning,
};
use super::input::{Input, Pick, Reply};
use super::reference::{Authorized, Ev, Model, Oracle, Token, VerdictKind};
use super::step_up::{Prompt, StepUpEvent};
use super::watch::{EventKind, Granted, Limits, ServerWait, StepReport, Watch, Wire};

/// The most outputs one input may produce before the driver calls it a
/// runaway loop.
const DRAIN_LIMIT: usize = 64;

/// Tokens of broken answers: never kept, never printed.
const MANGLED_TOKENS: [&str; 3] = [
    "abcdefghijklmnopqrstuvwxyz",
    "abcdefgh ijklmnop.qrst.uvwx",
    "abcdéfgh.ijklmnop.qrstuvwx",
];

/// A request the session sent.
#[derive(Clone, Copy, Debug)]
struct Sent {
    id: RequestId,
    request: Req,
    /// Answered, failed, or timed out: any later answer is stale.
    answered: bool,
    /// Unanswered past its deadline when the session was told the time.
    timed_out: bool,
    /// When it was sent (and queued: in the same step).
    at: Instant,
}

/// The oracle of a step: what the session did in it.
struct Observed {
    sent_login: bool,
}

impl Oracle for Observed {
    fn sent_login(&self) -> Option<bool> {
        Some(self.sent_login)
    }
}

/// A session, its model, and the invariants' watch, driven together.
pub struct World<F: Fixture> {
    /// The setup.
    pub setup: Setup,
    /// The session under test.
    pub session: Session<F::P>,
    /// The reference model.
    pub model: Model,
    /// The invariants' memory.
    pub watch: Watch,
    /// The caller's clock.
    pub now: Instant,
    requests: Vec<Sent>,
    /// The tickets of the calls sent, with the model's step-up count then.
    calls: Vec<(Ticket, u64)>,
    tokens_handed_out: u64,
    /// The code the user typed last.
    last_code: Option<&'static str>,
    /// Inputs applied, for failure messages.
    pub steps: usize,
}

/// What a failing case shows of the world: which provider, when, and the
/// model's state; the session, the requests and the calls so far are left
/// out.
impl<F: Fixture> core::fmt::Debug for World<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "World {{ {} at {:?}, model: {:?}, .. }}",
            F::NAME,
            self.now,
            self.model
        )
    }
}

impl<F: Fixture> World<F> {
    /// A logged-out session at instant zero.
    pub fn new(setup: Setup) -> Self {
        let config = setup.config;
        let mut watch = Watch::new(
            F::secrets(),
            Limits {
                max_attempts: config.max_attempts,
                max_retry_after: config.max_retry_after,
                rate_limit_wait: config.rate_limit_wait,
                backoff_max: config.backoff_max,
                resend_interval: F::facts(&setup).resend_interval,
            },
        );
        for token in MANGLED_TOKENS {
            watch.add_secret(token);
        }
        World {
            setup,
            session: F::session(&setup),
            model: Model::new(setup, F::facts(&setup)),
            watch,
            now: Instant::ZERO,
            requests: Vec::new(),
            calls: Vec::new(),
            tokens_handed_out: 0,
            last_code: None,
            steps: 0,
        }
    }

    /// Applies one input and checks everything.
    pub fn apply(&mut self, input: Input) {
        self.steps += 1;
        match input {
            Input::Burst(n) => {
                for _ in 0..(n % 4) + 2 {
                    self.step(Input::Authorize(Level::User));
                }
            }
            Input::SlowAnswer(span, answer) => {
                self.step(Input::Wait(span));
                self.step(Input::Answer(Pick::Latest, answer));
            }
            input => self.step(input),
        }
    }

    #[allow(clippy::too_many_lines)]
    fn step(&mut self, input: Input) {
        let token_before = self.model.token();
        let before = self.snapshot();
        let generation_before = self.session.generation();
        let state_before = self.session.state();
        let mut report = StepReport {
            told_now: true,
            caller_action: matches!(
                input,
                Input::Authorize(_)
                    | Input::Reply(..)
                    | Input::Login
                    | Input::Logout
                    | Input::NewCredentials(_)
                    | Input::StartStepUp(_)
                    | Input::SubmitCode(_)
                    | Input::PushResult(_)
            ),
            ..StepReport::default()
        };
        // Whether the input is an answer that must change nothing.
        let mut must_be_ignored = false;
        self.model.begin_step();
        match input {
            Input::Wait(span) => {
                self.now = self.now + span.duration();
                report.told_now = false;
            }
            Input::Tick(span) => {
                let at = self.now + span.duration();
                self.timeout(at, &mut report);
            }
            Input::Sleep => {
                let at = match self.session.poll_timeout() {
                    Some(at) => at.max(self.now),
                    None => self.now + Duration::from_secs(1),
                };
                self.timeout(at, &mut report);
            }
            Input::Overdue(millis) => {
                // Past the deadline of the newest request, by the World's
                // own clock: when it was sent, plus the request timeout.
                let late = Duration::from_millis(u64::from(millis));
                let at = match self.requests.last() {
                    Some(sent) => {
                        (sent.at + self.setup.config.request_timeout + late).max(self.now)
                    }
                    None => self.now + late,
                };
                self.timeout(at, &mut report);
            }
            Input::Authorize(level) => self.authorize(level, &mut report),
            Input::Burst(_) | Input::SlowAnswer(..) => {
                unreachable!("bursts and slow answers are split into steps")
            }
            Input::Reply(pick, reply) => {
                let Some(&(ticket, step_ups)) = choose(&self.calls, pick) else {
                    report.told_now = false;
                    return self.finish(input, report, token_before);
                };
                let (response, meaning) = F::reply(ticket.level(), reply);
                let pairs = response.header_pairs();
                let verdict = self
                    .session
                    .handle_reply(ticket, &response.parts(&pairs), self.now);
                report.printed.push(format!("{verdict:?}"));
                if let Verdict::Fatal(error) = &verdict {
                    report.printed.push(format!("{error}"));
                }
                report.reply = Some((ticket.generation(), meaning == ReplyMeaning::TokenRefused));
                report.payment_sca =
                    self.model.facts.payment_sca && matches!(reply, Reply::PaymentSca(_));
                if let Verdict::RateLimited { until } = verdict {
                    report.waits.push(until);
                }
                // A refusal of a call sent under an older token (or, for
                // step-up, before the last step-up) changes nothing.
                must_be_ignored = (ticket.generation() != generation_before
                    && matches!(
                        meaning,
                        ReplyMeaning::TokenRefused | ReplyMeaning::StepUpRequired
                    ))
                    || (meaning == ReplyMeaning::StepUpRequired && step_ups != self.model.step_ups);
                let oracle = self.drain(&mut report);
                let expected = self.model.handle_reply(
                    (ticket.generation(), step_ups),
                    meaning,
                    self.now,
                    &oracle,
                );
                check_verdict(&verdict, expected, input);
            }
            Input::Answer(pick, answer) => {
                let Some((index, sent)) = self.pick_request(pick) else {
                    // Nothing was ever sent: an answer to no request.
                    let response = Canned::new(200, "{}");
                    self.session.handle_response(
                        RequestId(u64::MAX),
                        &response.parts(&[]),
                        self.now,
                    );
                    self.drain(&mut report);
                    return self.finish_ignored(input, report, token_before, &before);
                };
                let request = sent.request;
                self.tokens_handed_out += 1;
                let answered = F::answer(
                    &self.setup,
                    request,
                    answer,
                    self.model.memory,
                    self.tokens_handed_out,
                );
                if let Some(token) = &answered.token {
                    self.watch.add_secret(token);
                }
                let current = self.model.is_current(index);
                if current {
                    report.issued = answered.token.clone().map(|token| {
                        let intermediate =
                            matches!(answered.meaning, Meaning::Login(LoginMeaning::Next(_)));
                        (token, intermediate)
                    });
                    if let Meaning::Login(LoginMeaning::Retry { wait, rate_limited }) =
                        answered.meaning
                    {
                        report.server_wait = Some(ServerWait {
                            retry_after: wait,
                            rate_limited,
                        });
                    }
                }
                if let (Req::VerifyCode(_), Meaning::StepUp(StepUpMeaning::CodeRefused { .. })) =
                    (request, answered.meaning)
                {
                    report.code_refused = Some(index);
                }
                must_be_ignored = sent.answered || index + 1 != self.requests.len();
                report.answered = Some(index);
                self.requests[index].answered = true;
                let pairs = answered.response.header_pairs();
                self.session
                    .handle_response(sent.id, &answered.response.parts(&pairs), self.now);
                let oracle = self.drain(&mut report);
                self.model.handle_response(
                    index,
                    answered.meaning,
                    answered.memory,
                    self.now,
                    &oracle,
                );
            }
            Input::Fail(pick) => {
                let Some((index, sent)) = self.pick_request(pick) else {
                    self.session.handle_failure(RequestId(u64::MAX), self.now);
                    self.drain(&mut report);
                    return self.finish_ignored(input, report, token_before, &before);
                };
                must_be_ignored = sent.answered || index + 1 != self.requests.len();
                report.answered = Some(index);
                self.requests[index].answered = true;
                self.session.handle_failure(sent.id, self.now);
                let oracle = self.drain(&mut report);
                self.model.handle_failure(index, self.now, &oracle);
            }
            Input::Login => {
                report.caller_asked_login = true;
                // The caller's login ends any backoff, where it starts one.
                report.backoff_reset = matches!(
                    state_before,
                    SessionState::LoggedOut
                        | SessionState::Expired { .. }
                        | SessionState::Rejected
                        | SessionState::Waiting { .. }
                );
                self.session.login(self.now);
                let oracle = self.drain(&mut report);
                self.model.login(self.now, &oracle);
            }
            Input::Logout => {
                report.caller_reset = true;
                self.session.logout(self.now);
                self.drain(&mut report);
                self.model.logout(self.now);
            }
            Input::NewCredentials(second) => {
                report.caller_asked_login = true;
                report.caller_reset = true;
                report.backoff_reset = true;
                report.told_now = false;
                self.session.set_credentials(F::credentials(second));
                self.drain(&mut report);
                self.model.set_credentials();
            }
            Input::StartStepUp(channel) => {
                let result = self.session.start_step_up(channel, self.now);
                report.printed.push(format!("{result:?}"));
                self.drain(&mut report);
                let expected = self.model.start_step_up(channel, self.now);
                check_refusal(result, expected, input);
            }
            Input::SubmitCode(code) => {
                let text = code.text(self.last_code);
                self.last_code = Some(text);
                report.code = Some(text.to_owned());
                let result = self.session.submit_code(text, self.now);
                report.printed.push(format!("{result:?}"));
                self.drain(&mut report);
                let expected = self.model.submit_code(code, self.now);
                check_refusal(result, expected, input);
            }
            Input::PushResult(approved) => {
                let result = self.session.report_push_result(approved, self.now);
                report.printed.push(format!("{result:?}"));
                self.drain(&mut report);
                let expected = self.model.report_push_result(approved, self.now);
                check_refusal(result, expected, input);
            }
        }
        if must_be_ignored {
            return self.finish_ignored(input, report, token_before, &before);
        }
        self.finish(input, report, token_before);
    }

    /// `handle_timeout` at `at`. Afterwards every request whose deadline
    /// has passed is over (invariant 13): had the session kept it in
    /// flight, its late answer would change something, which the checks of
    /// a stale answer catch.
    fn timeout(&mut self, at: Instant, report: &mut StepReport) {
        self.now = at;
        report.handled_timeout = true;
        self.session.handle_timeout(self.now);
        let oracle = self.drain(report);
        self.model.handle_timeout(self.now, &oracle);
        let timeout = self.setup.config.request_timeout;
        for (index, sent) in self.requests.iter_mut().enumerate() {
            if !sent.answered && sent.at + timeout <= self.now {
                sent.answered = true;
                sent.timed_out = true;
                report.timed_out.push(index);
            }
        }
    }

    fn authorize(&mut self, level: Level, report: &mut StepReport) {
        let result = self.session.authorize(level, self.now).map(|grant| {
            let header_values = header_values(&grant.headers);
            let token = token_of::<F>(&grant.headers);
            report.printed.push(format!("{grant:?}"));
            (
                grant.ticket,
                Granted {
                    level,
                    header_values,
                    token,
                },
            )
        });
        if let Err(why) = &result {
            report.printed.push(format!("{why:?}"));
        }
        let oracle = self.drain(report);
        let expected = self.model.authorize(level, self.now, &oracle);
        match (result, expected) {
            (Ok((ticket, granted)), Authorized::Granted(generation, step_ups)) => {
                assert_eq!(ticket.generation(), generation, "the ticket's generation");
                assert_eq!(ticket.level(), level, "the ticket's level");
                self.calls.push((ticket, step_ups));
                report.grants.push(granted);
            }
            (Err(NotReady::Backoff { until }), Authorized::Backoff(bound)) => {
                report.waits.push(until);
                assert!(
                    bound.contains(until),
                    "a backoff until {until:?}, outside {bound:?}"
                );
                self.model.learn_wait(until);
            }
            (Err(why), Authorized::NotReady(expected)) if why == expected => {}
            (got, expected) => panic!(
                "authorize({level:?}) gave {:?}, the model expected {expected:?}",
                got.map(|(ticket, _)| ticket)
            ),
        }
    }

    /// An answer the session had to ignore: nothing may have changed.
    fn finish_ignored(
        &mut self,
        input: Input,
        report: StepReport,
        token_before: Option<Token>,
        before: &str,
    ) {
        let timed_out = report
            .answered
            .is_some_and(|index| self.requests[index].timed_out);
        let which = if timed_out {
            "invariant 13: a request that timed out is over"
        } else {
            "invariant 5"
        };
        assert!(
            report.sent.is_empty() && report.events.is_empty(),
            "{which}: {input:?}, a late or stale answer, made the session act: {:?} {:?}",
            report.sent,
            report.events
        );
        assert_eq!(
            self.snapshot(),
            before,
            "{which}: {input:?}, a late or stale answer, changed the session"
        );
        self.finish(input, report, token_before);
    }

    /// The checks after every step.
    #[allow(clippy::too_many_lines)]
    fn finish(&mut self, input: Input, report: StepReport, token_before: Option<Token>) {
        let context = || {
            format!(
                "{} step {} ({input:?}) at {:?}",
                F::NAME,
                self.steps,
                self.now
            )
        };
        let mut report = report;
        report.now = self.now;
        // Requests.
        let expected = self.model.end_step();
        let got: Vec<Req> = report.sent.iter().map(|wire| wire.request).collect();
        assert_eq!(
            got,
            expected.into_iter().collect::<Vec<_>>(),
            "requests sent, {}",
            context()
        );
        // Events.
        let mut ceiling = None;
        let expected_events = self.model.events.clone();
        assert_eq!(
            report.events.len(),
            expected_events.len(),
            "events {:?}, the model expected {expected_events:?}, {}",
            report.events,
            context()
        );
        for ((kind, text), expected) in report.events.iter().zip(&expected_events) {
            let same = match (kind, expected) {
                (
                    EventKind::RetryScheduled(until),
                    Ev::RetryScheduled {
                        until: bound,
                        attempt,
                    },
                ) => {
                    assert!(
                        bound.contains(*until),
                        "a retry at {until:?} outside {bound:?}, {}",
                        context()
                    );
                    assert!(
                        text.contains(&format!("attempt: {attempt}")),
                        "{text} is not attempt {attempt}"
                    );
                    ceiling = Some(self.ceiling(*attempt));
                    self.model.learn_wait(*until);
                    true
                }
                (EventKind::LoggedIn, Ev::LoggedIn(generation)) => {
                    text == &format!("LoggedIn {{ generation: {generation} }}")
                }
                (EventKind::Expired, Ev::Expired(why)) => {
                    text == &format!("Expired {{ why: {why:?} }}")
                }
                (EventKind::LoginRejected, Ev::LoginRejected)
                | (EventKind::GaveUp, Ev::GaveUp)
                | (EventKind::LoggedOut, Ev::LoggedOut)
                | (EventKind::CodeSent, Ev::StepUp(StepUpEvent::CodeSent))
                | (EventKind::AwaitingApproval, Ev::StepUp(StepUpEvent::AwaitingApproval)) => true,
                (EventKind::StepUpFailed, Ev::StepUp(StepUpEvent::Failed)) => {
                    text.starts_with("StepUpFailed(")
                }
                (EventKind::Other, Ev::StepUp(event)) => text == event.event_name(),
                _ => false,
            };
            assert!(
                same,
                "event {text}, the model expected {expected:?}, {}",
                context()
            );
        }
        // State, generation, step-up, timer.
        let (state, bound) = self.model.state();
        match (self.session.state(), bound) {
            (authsession_core::SessionState::Waiting { until, attempt }, Some(bound)) => {
                assert!(
                    bound.contains(until),
                    "waiting until {until:?}, outside {bound:?}, {}",
                    context()
                );
                assert_eq!(
                    authsession_core::SessionState::Waiting {
                        until: bound.lo,
                        attempt
                    },
                    state,
                    "{}",
                    context()
                );
                self.model.learn_wait(until);
            }
            (got, _) => assert_eq!(got, state, "the state, {}", context()),
        }
        assert_eq!(
            self.session.generation(),
            self.model.generation,
            "the generation, {}",
            context()
        );
        assert_eq!(
            self.session.step_up_state(),
            self.model.step_up_state(),
            "the step-up, {}",
            context()
        );
        match (self.session.poll_timeout(), self.model.poll_timeout()) {
            (None, None) => {}
            (Some(at), Some(bound)) => {
                assert!(
                    bound.contains(at),
                    "the timer at {at:?}, outside {bound:?}, {}",
                    context()
                );
                self.model.learn_timeout(at);
            }
            (got, expected) => panic!(
                "the timer {got:?}, the model expected {expected:?}, {}",
                context()
            ),
        }
        assert_eq!(
            self.session.events_lost(),
            0,
            "events were lost, {}",
            context()
        );
        let prompt = self.session.code_prompt().map(|prompt| Prompt {
            channel: prompt.channel,
            reason: prompt.reason,
            tries_left: prompt.tries_left,
        });
        assert_eq!(
            prompt,
            self.model.code_prompt(),
            "the code prompt, {}",
            context()
        );
        // What the invariants need of the session's timers: its timer, the
        // deadline of the request in flight by the World's own clock (when
        // it was sent, plus the request timeout), and the wait it shows.
        report.timer = self.session.poll_timeout();
        report.in_flight_deadline = self
            .model
            .in_flight
            .and_then(|flight| flight.sent)
            .map(|index| self.requests[index].at + self.setup.config.request_timeout);
        if let SessionState::Waiting { until, .. } = self.session.state() {
            report.waits.push(until);
        }
        // The invariants.
        self.watch.check(&report, token_before, ceiling);
    }

    /// The backoff's ceiling before retry number `attempt`.
    fn ceiling(&self, attempt: u32) -> Duration {
        let config = self.setup.config;
        config
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(31))
            .min(config.backoff_max)
    }

    fn pick_request(&self, pick: Pick) -> Option<(usize, Sent)> {
        let index = pick_index(self.requests.len(), pick)?;
        Some((index, self.requests[index]))
    }

    /// Everything the session shows of itself.
    fn snapshot(&self) -> String {
        format!(
            "{:?} {:?} {:?} {:?} {}",
            self.session,
            self.session.state(),
            self.session.step_up_state(),
            self.session.poll_timeout(),
            self.session.generation()
        )
    }

    /// The drain rule: transmits and events until both are empty.
    fn drain(&mut self, report: &mut StepReport) -> Observed {
        let mut sent_login = false;
        for _ in 0..DRAIN_LIMIT {
            let mut progressed = false;
            if let Some(transmit) = self.session.poll_transmit() {
                report.printed.push(format!("{transmit:?}"));
                let request = F::request_of(transmit.method, transmit.path).unwrap_or_else(|| {
                    panic!("an unknown request {} {}", transmit.method, transmit.path)
                });
                sent_login |= matches!(request, Req::Login(_));
                let wire = Wire {
                    index: self.requests.len(),
                    request,
                    header_values: header_values(&transmit.headers),
                    token: token_of::<F>(&transmit.headers),
                    body: transmit.body.to_vec(),
                };
                self.requests.push(Sent {
                    id: transmit.id,
                    request,
                    answered: false,
                    timed_out: false,
                    at: self.now,
                });
                report.sent.push(wire);
                progressed = true;
            }
            if let Some(event) = self.session.poll_event() {
                let text = format!("{event:?}");
                let kind = match event {
                    Event::LoggedIn { .. } => EventKind::LoggedIn,
                    Event::Expired { .. } => EventKind::Expired,
                    Event::LoginRejected(error) => {
                        report.printed.push(format!("{error} {error:?}"));
                        EventKind::LoginRejected
                    }
                    Event::RetryScheduled { until, .. } => EventKind::RetryScheduled(until),
                    Event::GaveUp(error) => {
                        report.printed.push(format!("{error} {error:?}"));
                        EventKind::GaveUp
                    }
                    Event::LoggedOut => EventKind::LoggedOut,
                    Event::StepUpFailed(error) => {
                        report.printed.push(format!("{error} {error:?}"));
                        EventKind::StepUpFailed
                    }
                    Event::CodeSent => EventKind::CodeSent,
                    Event::AwaitingApproval => EventKind::AwaitingApproval,
                    _ => EventKind::Other,
                };
                report.events.push((kind, text));
                progressed = true;
            }
            if !progressed {
                report.printed.push(format!("{:?}", self.session));
                report
                    .printed
                    .push(format!("{:?}", self.session.last_error()));
                if let Some(error) = self.session.last_error() {
                    report.printed.push(format!("{error}"));
                }
                return Observed { sent_login };
            }
        }
        panic!("the session kept producing outputs past {DRAIN_LIMIT}");
    }
}

fn choose<T>(items: &[T], pick: Pick) -> Option<&T> {
    items.get(pick_index(items.len(), pick)?)
}

fn pick_index(len: usize, pick: Pick) -> Option<usize> {
    let last = len.checked_sub(1)?;
    Some(match pick {
        Pick::Latest => last,
        Pick::Back(n) => last - usize::from(n) % len,
    })
}

/// Every header's name and whole value.
fn header_values(headers: &authsession_core::Headers<'_>) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .map(|header| {
            let [prefix, value] = header.value.parts();
            (
                header.name.to_owned(),
                [prefix.as_bytes(), value.as_bytes()].concat(),
            )
        })
        .collect()
}

/// The token in the headers that carry one.
fn token_of<F: Fixture>(headers: &authsession_core::Headers<'_>) -> Option<String> {
    F::token_headers().iter().find_map(|(name, prefix)| {
        let value = headers.get(name)?;
        let [got_prefix, token] = value.parts();
        assert_eq!(got_prefix, *prefix, "the prefix of {name}");
        Some(token.to_owned())
    })
}

fn check_verdict(verdict: &Verdict, expected: VerdictKind, input: Input) {
    let same = match (verdict, expected) {
        (Verdict::Ok, VerdictKind::Ok)
        | (Verdict::Replay, VerdictKind::Replay)
        | (Verdict::StepUp, VerdictKind::StepUp)
        | (Verdict::Fatal(_), VerdictKind::Fatal) => true,
        (Verdict::RateLimited { until }, VerdictKind::RateLimited(expected)) => *until == expected,
        _ => false,
    };
    assert!(
        same,
        "{input:?} gave {verdict:?}, the model expected {expected:?}"
    );
}

fn check_refusal(
    got: Result<(), StepUpRefused>,
    expected: Result<(), StepUpRefused>,
    input: Input,
) {
    assert_eq!(got, expected, "{input:?}");
}
