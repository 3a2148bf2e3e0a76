//! Model-based property test of a Weavr session: random sequences of
//! inputs (time, calls at every level, every answer of the API's table,
//! tokens that cannot be used or lapse on arrival, absurd `Retry-After`s,
//! transport failures, requests nobody answers, late and reordered answers,
//! logout, new credentials, step-up with wrong, repeated and expired codes)
//! against the real session and the reference model, with invariants 1 to
//! 13 of DESIGN.md checked after every step. See `model_support` for the
//! case count (`AUTHSESSION_PROPTEST_CASES`) and the regression files.

mod model_support;

use authsession_tests::model::WeavrFixture;
use model_support::{SessionTest, StepUps, config, config_share};
use proptest_state_machine::prop_state_machine;

prop_state_machine! {
    #![proptest_config(config("proptest-regressions/model_weavr.txt"))]

    #[test]
    fn random_weavr_sessions_keep_the_invariants(sequential 1..50 => SessionTest<WeavrFixture>);
}

prop_state_machine! {
    #![proptest_config(config_share("proptest-regressions/model_weavr_step_up.txt", 15))]

    /// Longer sequences that head for step-up: challenges, long runs of
    /// wrong and repeated codes (invariant 11), codes expiring, logins in
    /// between.
    #[test]
    fn random_weavr_step_ups_keep_the_invariants(sequential 20..90 => SessionTest<WeavrFixture, StepUps>);
}
