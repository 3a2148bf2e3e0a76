//! Model-based testing of the session: a reference model of
//! `shared/DESIGN.md` ([`reference`], with its login cycle in [`login`] and
//! its step-up in [`step_up`]), each API's table of answers
//! ([`providers`]), the inputs of a random session ([`input`]), invariants
//! 1 to 13 ([`watch`]), and the [`World`] that drives a real session and
//! the model side by side and checks both after every step.
//!
//! The property tests (`tests/model_*.rs`) generate the inputs with
//! `proptest-state-machine`; the fuzz target `session` decodes them with
//! `arbitrary`. Adding a provider takes one [`Fixture`] and one test file.

pub mod fixture;
pub mod input;
pub mod known;
pub mod login;
pub mod providers;
pub mod reference;
pub mod step_up;
pub mod watch;
pub mod world;

pub use fixture::{Fixture, Setup};
pub use input::Input;
pub use providers::{AccessKeyFixture, CurrencycloudFixture, WeavrFixture};
pub use reference::Model;
pub use world::World;
