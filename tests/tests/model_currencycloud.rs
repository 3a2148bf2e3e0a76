//! Model-based property test of a Currencycloud session: random sequences of
//! inputs (time, calls at every level, every answer of the API's table,
//! tokens that cannot be used or lapse on arrival, absurd `Retry-After`s,
//! payment SCA `401`s, transport failures, requests nobody answers, late
//! and reordered answers, logout, new credentials) against the real session
//! and the reference model, with invariants 1 to 13 of DESIGN.md checked
//! after every step. See `model_support` for the case count
//! (`AUTHSESSION_PROPTEST_CASES`) and the regression file.

mod model_support;

use authsession_tests::model::CurrencycloudFixture;
use model_support::{SessionTest, config};
use proptest_state_machine::prop_state_machine;

prop_state_machine! {
    #![proptest_config(config("proptest-regressions/model_currencycloud.txt"))]

    #[test]
    fn random_currencycloud_sessions_keep_the_invariants(sequential 1..50 => SessionTest<CurrencycloudFixture>);
}
