//! What a session costs in memory, provider by provider: `size_of` the
//! session and of what it holds, and the buffers each provider declares.
//! The core has no heap, so this is all of it; `BENCHMARKS.md` keeps the
//! table.
//!
//! `cargo test -p authsession-tests --test footprint -- --nocapture` prints
//! the table; the test fails if a session grows past its buffers by more
//! than the bookkeeping allowed below, if a Currencycloud session outgrows
//! 2 KiB, or if the error outgrows 512 bytes.

use core::mem::size_of;

use authsession_core::providers::{
    AccessKey, AccessKeyCredentials, Currencycloud, CurrencycloudCredentials, Weavr,
    WeavrCredentials, access_key, currencycloud, weavr,
};
use authsession_core::{Error, Event, Grant, Provider, Session, Transmit};

/// The bytes a session may hold besides its two token buffers, its body
/// buffer and its credentials: state, timers, events, the last error (which
/// keeps the server's error inline) and the provider itself.
const BOOKKEEPING_MAX: usize = 1280;

/// The error travels by value in results and events: it stays small.
const ERROR_MAX: usize = 512;

/// A Currencycloud session, whose tokens are short, fits in 2 KiB.
const CURRENCYCLOUD_SESSION_MAX: usize = 2048;

struct Row {
    provider: &'static str,
    session: usize,
    token: usize,
    body: usize,
    credentials: usize,
}

fn row<P: Provider>(provider: &'static str, token: usize, body: usize) -> Row {
    Row {
        provider,
        session: size_of::<Session<P>>(),
        token,
        body,
        credentials: size_of::<P::Credentials>(),
    }
}

#[test]
fn session_sizes() {
    let rows = [
        row::<Currencycloud>(
            "Currencycloud",
            currencycloud::TOKEN_CAPACITY,
            currencycloud::BODY_CAPACITY,
        ),
        row::<Weavr>("Weavr", weavr::TOKEN_CAPACITY, weavr::BODY_CAPACITY),
        row::<AccessKey>(
            "access key",
            access_key::TOKEN_CAPACITY,
            access_key::BODY_CAPACITY,
        ),
    ];
    println!(
        "| provider | size_of Session<P> | TOKEN_CAPACITY (x2) | BODY_CAPACITY | size_of P::Credentials | the rest |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for row in &rows {
        let buffers = 2 * row.token + row.body + row.credentials;
        let rest = row.session.saturating_sub(buffers);
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            row.provider, row.session, row.token, row.body, row.credentials, rest
        );
        // The session holds a token, the token a login is writing, a body
        // and the credentials, inline.
        assert!(row.session >= buffers, "{}", row.provider);
        assert!(
            rest <= BOOKKEEPING_MAX,
            "{}: {rest} bytes besides the buffers",
            row.provider
        );
    }
    assert!(
        rows[0].session <= CURRENCYCLOUD_SESSION_MAX,
        "Session<Currencycloud> is {} bytes",
        rows[0].session
    );
    println!();
    println!("| type | size_of |");
    println!("| --- | ---: |");
    for (name, size) in [
        ("Error", size_of::<Error>()),
        ("Event<'_>", size_of::<Event<'_>>()),
        ("Grant<'_>", size_of::<Grant<'_>>()),
        ("Transmit<'_>", size_of::<Transmit<'_>>()),
        (
            "CurrencycloudCredentials",
            size_of::<CurrencycloudCredentials>(),
        ),
        ("WeavrCredentials", size_of::<WeavrCredentials>()),
        ("AccessKeyCredentials", size_of::<AccessKeyCredentials>()),
    ] {
        println!("| `{name}` | {size} |");
    }
    assert!(
        size_of::<Error>() <= ERROR_MAX,
        "Error is {} bytes",
        size_of::<Error>()
    );
}
