//! Weavr secrets: the one-time code is never printed.
//!
//! Like the keys and tokens of the fixtures (seed
//! `001_41d0dd5883504114.txt`, `PROVIDERS.md` §2, issue 4), the code the
//! user types shows in no output, while it waits to be sent or after.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use authsession_core::Level;
use authsession_tests::Harness;
use authsession_tests::weavr::{OTP, SECOND_OTP, conflict};

// ---- secrets ----

#[test]
fn the_one_time_code_is_never_printed() {
    let mut h = Harness::weavr_logged_in();
    h.code_sent();
    h.submit_code(OTP).unwrap();
    // While the code sits in the request buffer.
    let verify = h.take_one_sent();
    assert!(verify.carries(OTP));
    h.printed.push(format!("{:?}", h.session));
    h.answer(&verify, 409, &conflict("VERIFICATION_CODE_INVALID"));
    h.submit_code(SECOND_OTP).unwrap();
    let verify = h.take_one_sent();
    h.answer(&verify, 204, "");
    h.grant_at(Level::SteppedUp);
    h.logout();

    h.assert_never_printed(OTP);
    h.assert_never_printed(SECOND_OTP);
    h.assert_no_secret_printed();
    let printed = h.printed.join("\n");
    assert!(printed.contains("SteppedUp"), "the harness saw nothing");
}
