//! The `proptest-state-machine` side of the model tests, shared by the
//! `model_*.rs` files: the reference state machine that generates inputs
//! (the reference model, fed the same inputs while generating, so that the
//! inputs fit the state: answers while a request is in flight, codes while
//! a code was sent...), and the test that drives a real session with them.
//!
//! Cases: `AUTHSESSION_PROPTEST_CASES` sets how many sequences each
//! provider runs (default 2000, of 1 to 50 steps each); for a deep run,
//! 100 times more:
//!
//! ```text
//! AUTHSESSION_PROPTEST_CASES=200000 cargo test --release -p authsession-tests --test model_weavr
//! ```
//!
//! A failing sequence is shrunk and kept in
//! `tests/proptest-regressions/<file>.txt`, replayed first by every later
//! run: commit it with the fix.

use core::marker::PhantomData;
use core::time::Duration;

use authsession_core::{Config, Instant, Level, StepUpState};
use authsession_tests::model::fixture::{Req, Setup};
use authsession_tests::model::input::{
    Answer, CHANNELS, Code, Input, Mangle, Pick, Reply, RetryAfter, Span,
};
use authsession_tests::model::providers::JWT_ISSUED_AT;
use authsession_tests::model::reference::{Authorized, Guess, Model, Phase};
use authsession_tests::model::{Fixture, World};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};

/// Sequences per provider unless `AUTHSESSION_PROPTEST_CASES` says more.
pub const DEFAULT_CASES: u32 = 2000;

/// The proptest configuration of a model test whose regressions live in
/// `regressions` (relative to the `tests` package).
pub fn config(regressions: &'static str) -> ProptestConfig {
    config_share(regressions, 100)
}

/// [`config`] with `percent` of the cases.
pub fn config_share(regressions: &'static str, percent: u32) -> ProptestConfig {
    let cases = std::env::var("AUTHSESSION_PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(DEFAULT_CASES)
        * percent
        / 100;
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        max_shrink_iters: 20_000,
        ..ProptestConfig::default()
    }
}

/// What the generator knows: the reference model, fed the inputs so far.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The reference model.
    pub model: Model,
    now: Instant,
    /// The requests sent: which, whether answered, when sent.
    requests: Vec<(Req, bool, Instant)>,
    calls: Vec<((u64, u64), Level)>,
    tokens: u64,
    /// Whether this sequence heads for step-up: the inputs that lead to a
    /// challenge and its codes weigh more (a third of the sequences of a
    /// provider with step-up), so that long runs of codes for one
    /// challenge happen (invariant 11).
    focus: bool,
}

/// Which sequences a test draws.
pub trait Mix: 'static {
    /// Whether a sequence heads for step-up, given a roll in `0..3`.
    fn focus(roll: u8) -> bool;
}

/// Every kind of sequence; a third of them head for step-up.
#[derive(Debug)]
pub struct General;

impl Mix for General {
    fn focus(roll: u8) -> bool {
        roll == 0
    }
}

/// Sequences that head for step-up: a challenge, and long runs of codes.
#[derive(Debug)]
// Only the providers with step-up draw them.
#[allow(dead_code)]
pub struct StepUps;

impl Mix for StepUps {
    fn focus(_: u8) -> bool {
        true
    }
}

/// The reference state machine of provider `F`, drawing sequences of `M`.
#[derive(Debug)]
pub struct Reference<F, M = General>(PhantomData<(F, M)>);

fn setups<F: Fixture>() -> impl Strategy<Value = Setup> {
    let durations = |choices: Vec<Duration>| proptest::sample::select(choices);
    (
        any::<u64>(),
        1u32..=6,
        durations(vec![
            Duration::from_secs(1),
            Duration::from_millis(100),
            Duration::ZERO,
        ]),
        durations(vec![Duration::from_secs(60), Duration::from_secs(5)]),
        durations(vec![Duration::from_secs(60), Duration::from_secs(1)]),
        durations(vec![
            Duration::from_secs(30),
            Duration::ZERO,
            Duration::from_secs(5),
        ]),
        durations(vec![
            Duration::from_secs(60),
            Duration::ZERO,
            Duration::from_secs(10),
        ]),
        proptest::option::of(Just(JWT_ISSUED_AT)),
        0..F::VARIANTS,
        // The cap on Retry-After: the default, and under the waits asked.
        durations(vec![Duration::from_secs(300), Duration::from_secs(30)]),
        // The request timeout: the default, and short enough to meet.
        durations(vec![
            Duration::from_secs(60),
            Duration::from_secs(10),
            Duration::from_secs(1),
        ]),
    )
        .prop_map(
            |(
                seed,
                max_attempts,
                backoff_base,
                backoff_max,
                rate_limit_wait,
                expiry_margin,
                refresh_ahead,
                unix,
                variant,
                max_retry_after,
                request_timeout,
            )| {
                Setup {
                    config: Config {
                        expiry_margin,
                        refresh_ahead,
                        unix_time_at_zero: unix,
                        backoff_base,
                        backoff_max,
                        max_attempts,
                        rate_limit_wait,
                        max_retry_after,
                        request_timeout,
                        seed,
                    },
                    variant,
                }
            },
        )
}

fn spans() -> impl Strategy<Value = Span> {
    prop_oneof![
        3 => any::<u16>().prop_map(Span::Millis),
        3 => (0u16..600).prop_map(Span::Seconds),
        // Around the idle timeouts (90 s, 5 and 30 minutes, less margins).
        2 => proptest::sample::select(vec![60u16, 85, 90, 270, 295, 300, 1770, 1795, 1800])
            .prop_map(Span::Seconds),
        1 => any::<u16>().prop_map(Span::Seconds),
        1 => (0u8..48).prop_map(Span::Hours),
    ]
}

/// Time passing: any span, or, in a sequence that heads for step-up, a
/// short one (a user typing), so that the token stays alive for long runs
/// of codes.
fn spans_of(focus: bool) -> BoxedStrategy<Span> {
    if focus {
        (0u16..10_000).prop_map(Span::Millis).boxed()
    } else {
        spans().boxed()
    }
}

fn retry_afters() -> impl Strategy<Value = RetryAfter> {
    prop_oneof![
        3 => Just(RetryAfter::Absent),
        2 => (0u16..120).prop_map(RetryAfter::Seconds),
        // Around and beyond the caps (30 s, 5 minutes) and the backoff's.
        1 => (200u16..=700).prop_map(RetryAfter::Seconds),
        1 => Just(RetryAfter::Huge),
        1 => Just(RetryAfter::HttpDate),
        1 => Just(RetryAfter::Garbage),
    ]
}

/// Time for an answer to take: a round trip, a token's short life, an idle
/// timeout's margin.
fn answer_delays() -> impl Strategy<Value = Span> {
    prop_oneof![
        2 => (0u16..5000).prop_map(Span::Millis),
        2 => (1u16..=10).prop_map(Span::Seconds),
        2 => proptest::sample::select(vec![30u16, 40, 45, 50, 60, 135, 150, 200, 900, 1000])
            .prop_map(Span::Seconds),
    ]
}

fn mangles() -> impl Strategy<Value = Mangle> {
    proptest::sample::select(vec![
        Mangle::Empty,
        Mangle::NotJson,
        Mangle::Truncated,
        Mangle::WrongType,
        Mangle::ControlInToken,
        Mangle::SpaceInToken,
        Mangle::NonAsciiToken,
        Mangle::LongToken,
        Mangle::Deep,
        Mangle::NoContent,
        Mangle::EmptyToken,
        Mangle::CrLfInToken,
        Mangle::EscapedToken,
        Mangle::NotJwt,
        Mangle::Overflow,
    ])
}

/// A weighted choice among the options whose weight is not zero.
fn weighted<T: core::fmt::Debug + 'static>(
    options: Vec<(u32, BoxedStrategy<T>)>,
) -> BoxedStrategy<T> {
    let options: Vec<_> = options
        .into_iter()
        .filter(|(weight, _)| *weight > 0)
        .collect();
    proptest::strategy::Union::new_weighted(options).boxed()
}

/// Answers to a request; `step_up` adds the step-up refusals, `focus`
/// makes the success likelier (a wrong code's refusal, in a sequence that
/// heads for step-up).
fn answers(step_up: bool, focus: bool) -> BoxedStrategy<Answer> {
    weighted(vec![
        (
            if focus { 40 } else { 16 },
            any::<u8>().prop_map(Answer::Success).boxed(),
        ),
        (2, mangles().prop_map(Answer::Mangled).boxed()),
        (1, any::<u8>().prop_map(Answer::Refused).boxed()),
        (1, retry_afters().prop_map(Answer::TooMany).boxed()),
        (
            1,
            (any::<u8>(), retry_afters())
                .prop_map(|(n, wait)| Answer::ServerError(n, wait))
                .boxed(),
        ),
        (
            if step_up { 3 } else { 0 },
            any::<u8>().prop_map(Answer::StepUpError).boxed(),
        ),
    ])
}

fn replies() -> impl Strategy<Value = Reply> {
    prop_oneof![
        4 => Just(Reply::Ok),
        4 => Just(Reply::Unauthorized),
        2 => any::<bool>().prop_map(Reply::StepUpRequired),
        1 => Just(Reply::Forbidden),
        1 => retry_afters().prop_map(Reply::TooMany),
        1 => any::<u8>().prop_map(Reply::ServerError),
        1 => mangles().prop_map(Reply::Mangled),
        1 => Just(Reply::NotFound),
        2 => any::<u8>().prop_map(Reply::PaymentSca),
    ]
}

fn picks(late: bool) -> impl Strategy<Value = Pick> {
    if late {
        any::<u8>().prop_map(Pick::Back).boxed()
    } else {
        Just(Pick::Latest).boxed()
    }
}

impl<F: Fixture, M: Mix> ReferenceStateMachine for Reference<F, M> {
    type State = Generated;
    type Transition = Input;

    fn init_state() -> BoxedStrategy<Generated> {
        (setups::<F>(), 0u8..3)
            .prop_map(|(setup, focus)| {
                let facts = F::facts(&setup);
                Generated {
                    model: Model::new(setup, facts),
                    now: Instant::ZERO,
                    requests: Vec::new(),
                    calls: Vec::new(),
                    tokens: 0,
                    focus: facts.step_up && M::focus(focus),
                }
            })
            .boxed()
    }

    fn transitions(state: &Generated) -> BoxedStrategy<Input> {
        let model = &state.model;
        let step_up = model.facts.step_up;
        let calls = !state.calls.is_empty();
        let rejected = matches!(model.phase, Phase::Rejected);
        let busy_stepping_up = state.focus
            && (matches!(model.step_up_state(), StepUpState::CodeSent(_)) || stepping_up(model));
        let focus = focus_of(state);
        let level = prop_oneof![
            1 => Just(Level::Account),
            focus(6, 2) => Just(Level::User),
            if step_up { focus(3, 8) } else { 1 } => Just(Level::SteppedUp),
        ];
        let mut inputs = answers_to_requests(state);
        inputs.extend([
            (
                if busy_stepping_up { 1 } else { 7 },
                level.prop_map(Input::Authorize).boxed(),
            ),
            (focus(1, 0), any::<u8>().prop_map(Input::Burst).boxed()),
            (
                if calls { focus(6, 1) } else { 0 },
                (picks(false), replies())
                    .prop_map(|(pick, reply)| Input::Reply(pick, reply))
                    .boxed(),
            ),
            (
                if calls { focus(2, 0) } else { 0 },
                (picks(true), replies())
                    .prop_map(|(pick, reply)| Input::Reply(pick, reply))
                    .boxed(),
            ),
            (
                focus(2, 1),
                spans_of(state.focus).prop_map(Input::Wait).boxed(),
            ),
            (
                focus(2, 1),
                spans_of(state.focus).prop_map(Input::Tick).boxed(),
            ),
            (focus(3, 1), Just(Input::Sleep).boxed()),
            (if rejected { 5 } else { 1 }, Just(Input::Login).boxed()),
            (focus(1, 0), Just(Input::Logout).boxed()),
            (
                focus(1, 0),
                any::<bool>().prop_map(Input::NewCredentials).boxed(),
            ),
        ]);
        inputs.extend(step_up_inputs(state));
        weighted(inputs)
    }

    fn apply(mut state: Generated, input: &Input) -> Generated {
        generate_apply::<F>(&mut state, *input);
        state
    }
}

/// A weight, or another one in a sequence that heads for step-up.
fn focus_of(state: &Generated) -> impl Fn(u32, u32) -> u32 {
    let focus = state.focus;
    move |general, step_up| if focus { step_up } else { general }
}

/// Whether a step-up request is in flight.
fn stepping_up(model: &Model) -> bool {
    model
        .in_flight
        .is_some_and(|flight| matches!(flight.request, Req::StartStepUp(_) | Req::VerifyCode(_)))
}

/// The server's answers (or silence) to the session's requests: mostly to
/// the one in flight, sometimes late, repeated or to nothing at all.
fn answers_to_requests(state: &Generated) -> Vec<(u32, BoxedStrategy<Input>)> {
    let model = &state.model;
    let in_flight = model.in_flight.is_some_and(|flight| flight.sent.is_some());
    let stepping_up = stepping_up(model);
    let focus = focus_of(state);
    vec![
        (
            if in_flight { focus(14, 48) } else { 0 },
            answers(stepping_up, state.focus)
                .prop_map(|answer| Input::Answer(Pick::Latest, answer))
                .boxed(),
        ),
        (
            if in_flight { focus(2, 1) } else { 0 },
            Just(Input::Fail(Pick::Latest)).boxed(),
        ),
        (
            if in_flight { focus(3, 2) } else { 0 },
            (answer_delays(), answers(stepping_up, state.focus))
                .prop_map(|(delay, answer)| Input::SlowAnswer(delay, answer))
                .boxed(),
        ),
        (
            if in_flight { focus(2, 1) } else { 0 },
            any::<u16>().prop_map(Input::Overdue).boxed(),
        ),
        (
            if state.requests.is_empty() {
                1
            } else {
                focus(2, 1)
            },
            (picks(true), answers(model.facts.step_up, false))
                .prop_map(|(pick, answer)| Input::Answer(pick, answer))
                .boxed(),
        ),
        (1, picks(true).prop_map(Input::Fail).boxed()),
    ]
}

/// The user's step-up actions, likelier where they fit the state.
fn step_up_inputs(state: &Generated) -> Vec<(u32, BoxedStrategy<Input>)> {
    let model = &state.model;
    let step_up = u32::from(model.facts.step_up);
    let step_up_state = model.step_up_state();
    let needed = matches!(step_up_state, StepUpState::Needed | StepUpState::NotNeeded)
        && matches!(model.phase, Phase::Active(_));
    let code_sent = matches!(step_up_state, StepUpState::CodeSent(_));
    let awaiting = matches!(step_up_state, StepUpState::AwaitingApproval(_));
    let focus = focus_of(state);
    let codes = prop_oneof![
        focus(3, 1) => Just(Code::Right),
        focus(3, 5) => any::<u8>().prop_map(Code::Wrong),
        1 => any::<u8>().prop_map(Code::Malformed),
        focus(2, 3) => Just(Code::Again),
    ];
    vec![
        (
            if needed { focus(8, 16) } else { step_up },
            proptest::sample::select(vec![CHANNELS[0], CHANNELS[0], CHANNELS[1], CHANNELS[2]])
                .prop_map(Input::StartStepUp)
                .boxed(),
        ),
        (
            if code_sent { focus(6, 20) } else { step_up },
            codes.prop_map(Input::SubmitCode).boxed(),
        ),
        (
            if awaiting { 5 } else { step_up },
            any::<bool>().prop_map(Input::PushResult).boxed(),
        ),
    ]
}

/// The generator's dry run of an input on the model (no session; the
/// model guesses where the session would choose).
fn generate_apply<F: Fixture>(state: &mut Generated, input: Input) {
    let model = &mut state.model;
    let now = &mut state.now;
    model.begin_step();
    match input {
        Input::Wait(span) => *now = *now + span.duration(),
        Input::Tick(span) => {
            *now = *now + span.duration();
            model.handle_timeout(*now, &Guess);
        }
        Input::Sleep => {
            *now = model
                .poll_timeout()
                .map_or(*now + Duration::from_secs(1), |at| at.hi.max(*now));
            model.handle_timeout(*now, &Guess);
        }
        Input::Authorize(level) => {
            if let Authorized::Granted(generation, step_ups) = model.authorize(level, *now, &Guess)
            {
                state.calls.push(((generation, step_ups), level));
            }
        }
        Input::Burst(n) => {
            for _ in 0..(n % 4) + 2 {
                if let Authorized::Granted(generation, step_ups) =
                    model.authorize(Level::User, *now, &Guess)
                {
                    state.calls.push(((generation, step_ups), Level::User));
                }
                if let Some(request) = model.end_step() {
                    state.requests.push((request, false, *now));
                }
            }
        }
        Input::SlowAnswer(delay, answer) => {
            *now = *now + delay.duration();
            answer_request::<F>(state, Pick::Latest, answer);
        }
        Input::Overdue(millis) => {
            let late = Duration::from_millis(u64::from(millis));
            *now = match state.requests.last() {
                Some(&(_, _, sent_at)) => {
                    (sent_at + model.setup.config.request_timeout + late).max(*now)
                }
                None => *now + late,
            };
            model.handle_timeout(*now, &Guess);
        }
        Input::Reply(pick, reply) => {
            if let Some(index) = index_of(state.calls.len(), pick) {
                let (ticket, level) = state.calls[index];
                let (_, meaning) = F::reply(level, reply);
                model.handle_reply(ticket, meaning, *now, &Guess);
            }
        }
        Input::Answer(pick, answer) => answer_request::<F>(state, pick, answer),
        Input::Fail(pick) => {
            if let Some(index) = index_of(state.requests.len(), pick) {
                state.requests[index].1 = true;
                model.handle_failure(index, *now, &Guess);
            }
        }
        Input::Login => model.login(*now, &Guess),
        Input::Logout => model.logout(*now),
        Input::NewCredentials(_) => model.set_credentials(),
        Input::StartStepUp(channel) => {
            let _ = model.start_step_up(channel, *now);
        }
        Input::SubmitCode(code) => {
            let _ = model.submit_code(code, *now);
        }
        Input::PushResult(approved) => {
            let _ = model.report_push_result(approved, *now);
        }
    }
    let model = &mut state.model;
    if let Some(request) = model.end_step() {
        state.requests.push((request, false, state.now));
    }
}

fn answer_request<F: Fixture>(state: &mut Generated, pick: Pick, answer: Answer) {
    if let Some(index) = index_of(state.requests.len(), pick) {
        state.tokens += 1;
        let model = &mut state.model;
        let answered = F::answer(
            &model.setup,
            state.requests[index].0,
            answer,
            model.memory,
            state.tokens,
        );
        state.requests[index].1 = true;
        model.handle_response(index, answered.meaning, answered.memory, state.now, &Guess);
    }
}

fn index_of(len: usize, pick: Pick) -> Option<usize> {
    let last = len.checked_sub(1)?;
    Some(match pick {
        Pick::Latest => last,
        Pick::Back(n) => last - usize::from(n) % len,
    })
}

/// Drives a real session of provider `F` with the generated inputs.
#[derive(Debug)]
pub struct SessionTest<F, M = General>(PhantomData<(F, M)>);

impl<F: Fixture, M: Mix> StateMachineTest for SessionTest<F, M> {
    type SystemUnderTest = World<F>;
    type Reference = Reference<F, M>;

    fn init_test(state: &Generated) -> World<F> {
        World::new(state.model.setup)
    }

    fn apply(mut world: World<F>, _: &Generated, input: Input) -> World<F> {
        world.apply(input);
        world
    }
}
