//! A whole session fed an arbitrary sequence of inputs: the model tests'
//! [`World`] drives the real session and the reference model side by side
//! and asserts, after every step, that they agree and that the
//! invariants of DESIGN.md (1 to 13) hold. The first byte picks the provider, the
//! next ones the configuration; the rest decodes (with `arbitrary`) into
//! up to [`MAX_STEPS`] inputs.

use core::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use authsession_core::Config;
use authsession_tests::model::providers::JWT_ISSUED_AT;
use authsession_tests::model::{
    AccessKeyFixture, CurrencycloudFixture, Fixture, Input, Setup, WeavrFixture, World,
};

/// The most inputs one run applies.
pub const MAX_STEPS: usize = 96;

fn setup<F: Fixture>(u: &mut Unstructured<'_>) -> arbitrary::Result<Setup> {
    let pick = |u: &mut Unstructured<'_>, choices: &[Duration]| u.choose(choices).copied();
    Ok(Setup {
        config: Config {
            expiry_margin: pick(
                u,
                &[
                    Duration::from_secs(30),
                    Duration::ZERO,
                    Duration::from_secs(5),
                ],
            )?,
            refresh_ahead: pick(
                u,
                &[
                    Duration::from_secs(60),
                    Duration::ZERO,
                    Duration::from_secs(10),
                ],
            )?,
            unix_time_at_zero: if bool::arbitrary(u)? {
                Some(JWT_ISSUED_AT)
            } else {
                None
            },
            backoff_base: pick(
                u,
                &[
                    Duration::from_secs(1),
                    Duration::from_millis(100),
                    Duration::ZERO,
                ],
            )?,
            backoff_max: pick(u, &[Duration::from_secs(60), Duration::from_secs(5)])?,
            max_attempts: u.int_in_range(1..=6)?,
            rate_limit_wait: pick(u, &[Duration::from_secs(60), Duration::from_secs(1)])?,
            max_retry_after: pick(u, &[Duration::from_secs(300), Duration::from_secs(30)])?,
            request_timeout: pick(
                u,
                &[
                    Duration::from_secs(60),
                    Duration::from_secs(10),
                    Duration::from_secs(1),
                ],
            )?,
            seed: u64::arbitrary(u)?,
        },
        variant: u.int_in_range(0..=F::VARIANTS - 1)?,
    })
}

fn run<F: Fixture>(u: &mut Unstructured<'_>) {
    let Ok(setup) = setup::<F>(u) else {
        return;
    };
    let mut world = World::<F>::new(setup);
    for _ in 0..MAX_STEPS {
        match Input::arbitrary(u) {
            Ok(input) => world.apply(input),
            Err(_) => break,
        }
        if u.is_empty() {
            break;
        }
    }
}

/// The fuzz target's body.
pub fn session(data: &[u8]) {
    let mut u = Unstructured::new(data);
    match u.int_in_range(0u8..=2) {
        Ok(0) => run::<CurrencycloudFixture>(&mut u),
        Ok(1) => run::<WeavrFixture>(&mut u),
        Ok(_) => run::<AccessKeyFixture>(&mut u),
        Err(_) => {}
    }
}

/// Seeds: a few byte strings of each provider (decoded by `arbitrary`, so
/// any bytes are a session; these just start from sessions of some length).
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state.to_le_bytes()[0]
    };
    let mut seeds = Vec::new();
    for provider in 0u8..3 {
        for (n, length) in [64usize, 256, 1024].into_iter().enumerate() {
            let mut bytes = vec![provider];
            bytes.extend((0..length).map(|_| next()));
            seeds.push((format!("provider{provider}-{n}"), bytes));
        }
    }
    seeds
}
