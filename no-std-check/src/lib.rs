//! A `no_std` static library that drives a Currencycloud session through a
//! login and one authorized call: it builds only if nothing under
//! `authsession-core` needs `std`, and its size is the footprint a device
//! pays for one provider.
#![no_std]

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::{Instant, Level, ResponseParts, Session};

/// Logs in with a canned answer and authorizes one call; returns the number
/// of header bytes the call carries, or 0 on any failure.
#[unsafe(no_mangle)]
pub extern "C" fn authsession_demo(now_ms: u64) -> usize {
    let Ok(credentials) = CurrencycloudCredentials::new(
        "device@example.com",
        "1f6a3e944f8c4ebdc6658d6fc1103f12ebbc33f5ed05ca3549fdbc3883556544",
    ) else {
        return 0;
    };
    let mut session = Session::new(Currencycloud::default(), credentials);
    let now = Instant::from_millis(now_ms);
    session.login(now);
    let Some(login) = session.poll_transmit() else {
        return 0;
    };
    let id = login.id;
    let answer = ResponseParts::new(200, br#"{"auth_token":"ea6d13c7bc50feb46cf978d137bc01a2"}"#);
    session.handle_response(id, &answer, now);
    while session.poll_event().is_some() {}
    match session.authorize(Level::User, now) {
        Ok(grant) => grant.headers.iter().map(|header| header.value.len()).sum(),
        Err(_) => 0,
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
