//! Model-based property test of a the access-key API session: random sequences of
//! inputs (time, calls at every level, every answer of the API's table,
//! transport failures, late and reordered answers, logout, new
//! credentials, step-up) against the real session and the reference model,
//! with the nine invariants of DESIGN.md checked after every step. See
//! `model_support` for the case count (`AUTHSESSION_PROPTEST_CASES`) and
//! the regression file.

mod model_support;

use authsession_tests::model::AccessKeyFixture;
use model_support::{SessionTest, config};
use proptest_state_machine::prop_state_machine;

prop_state_machine! {
    #![proptest_config(config("proptest-regressions/model_access_key.txt"))]

    #[test]
    fn random_access_key_sessions_keep_the_invariants(sequential 1..50 => SessionTest<AccessKeyFixture>);
}
