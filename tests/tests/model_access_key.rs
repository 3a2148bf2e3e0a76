//! Model-based property test of an access-key session: random sequences of
//! inputs (time, calls, every answer of the API's table, JWTs of every
//! lifetime down to `exp == iat`, answers that are no JWT, absurd
//! `Retry-After`s, transport failures, requests nobody answers, late and
//! reordered answers, logout, new credentials) against the real session and
//! the reference model, with invariants 1 to 13 of DESIGN.md checked after
//! every step. See `model_support` for the case count
//! (`AUTHSESSION_PROPTEST_CASES`) and the regression file.

mod model_support;

use authsession_tests::model::AccessKeyFixture;
use model_support::{SessionTest, config};
use proptest_state_machine::prop_state_machine;

prop_state_machine! {
    #![proptest_config(config("proptest-regressions/model_access_key.txt"))]

    #[test]
    fn random_access_key_sessions_keep_the_invariants(sequential 1..50 => SessionTest<AccessKeyFixture>);
}
