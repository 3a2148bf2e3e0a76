//! Model-based property test of a Currencycloud session: random sequences of
//! inputs (time, calls at every level, every answer of the API's table,
//! transport failures, late and reordered answers, logout, new
//! credentials, step-up) against the real session and the reference model,
//! with the nine invariants of DESIGN.md checked after every step. See
//! `model_support` for the case count (`AUTHSESSION_PROPTEST_CASES`) and
//! the regression file.

mod model_support;

use authsession_tests::model::CurrencycloudFixture;
use model_support::{SessionTest, config};
use proptest_state_machine::prop_state_machine;

prop_state_machine! {
    #![proptest_config(config("proptest-regressions/model_currencycloud.txt"))]

    #[test]
    fn random_currencycloud_sessions_keep_the_invariants(sequential 1..50 => SessionTest<CurrencycloudFixture>);
}
