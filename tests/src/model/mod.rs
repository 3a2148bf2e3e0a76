//! Model-based testing of the session: a reference model of
//! `shared/DESIGN.md` ([`reference`]), each API's table of answers
//! ([`providers`]), the inputs of a random session ([`input`]), the nine
//! invariants ([`watch`]), and the [`World`] that drives a real session and
//! the model side by side and checks both after every step.
//!
//! The property tests (`tests/model_*.rs`) generate the inputs with
//! `proptest-state-machine`; the fuzz target `session` decodes them with
//! `arbitrary`. Adding a provider takes one [`Fixture`] and one test file.

pub mod fixture;
pub mod input;
pub mod known;
pub mod providers;
pub mod reference;
pub mod watch;
pub mod world;

pub use fixture::{Fixture, Setup};
pub use input::Input;
pub use providers::{AccessKeyFixture, CurrencycloudFixture, WeavrFixture};
pub use reference::Model;
pub use world::World;
