//! The `snapshot_restore` target: any bytes restored as a session's
//! snapshot (what a store hands back, tampered or not). The restore never
//! panics; it takes a token only if the token fits a header and its
//! buffer, and then the session is active, holds that token, and writes a
//! snapshot that restores to the same.

// A fuzz target's failed expectation is its finding: it panics.
#![allow(clippy::expect_used)]

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::{Instant, Level, Session, SessionState};

/// The scope the target's snapshots are bound to.
pub const SCOPE: &[u8] = b"authsession:{fuzz}";
/// The wall clock of the target, in Unix milliseconds.
pub const NOW_MS: u64 = 1_764_633_600_000;

fn session() -> Session<Currencycloud> {
    let credentials = CurrencycloudCredentials::new(
        "development@example.com",
        "1f6a3e944f8c4ebdc6658d6fc1103f12ebbc33f5ed05ca3549fdbc3883556544",
    )
    .expect("the fixture credentials are valid");
    Session::new(Currencycloud::default(), credentials)
}

/// Restores `data` and checks what came of it.
pub fn snapshot_restore(data: &[u8]) {
    let mut restored = session();
    let now = Instant::from_millis(5_000);
    if restored.restore(data, SCOPE, now, NOW_MS, None).is_err() {
        assert_eq!(
            restored.state(),
            SessionState::LoggedOut,
            "a refused snapshot changed the session"
        );
        return;
    }
    assert_eq!(restored.state(), SessionState::Active);
    let token = {
        let grant = restored
            .authorize(Level::User, now)
            .expect("a restored token serves");
        let value = grant.headers.iter().next().expect("the token header").value;
        let token: String = value.parts().concat();
        assert!(!token.is_empty());
        assert!(
            token.bytes().all(|byte| (0x21..=0x7e).contains(&byte)),
            "{token:?}"
        );
        token
    };
    // What it holds, it writes again, and that restores to the same.
    let mut out = [0_u8; 1024];
    let len = restored
        .snapshot(SCOPE, now, NOW_MS, &mut out)
        .expect("an active session writes its snapshot");
    let mut again = session();
    again
        .restore(&out[..len], SCOPE, now, NOW_MS, None)
        .expect("its own snapshot restores");
    assert_eq!(again.generation(), restored.generation());
    let grant = again.authorize(Level::User, now).expect("the token serves");
    let value = grant.headers.iter().next().expect("the token header").value;
    assert_eq!(value.parts().concat(), token);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The committed seed `seed-valid` is a snapshot the core writes: the
    /// hand-made seeds follow the format of `core/src/session/snapshot.rs`.
    #[test]
    fn the_valid_seed_restores_and_the_others_are_refused() {
        let corpus =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/snapshot_restore");
        let now = Instant::from_millis(5_000);
        for (name, restores) in [
            ("seed-valid", true),
            ("seed-valid-with-expiry", true),
            ("seed-lapsed", false),
            ("seed-crlf-token", false),
            ("seed-long-token", false),
            ("seed-other-version", false),
            ("seed-other-provider", false),
            ("seed-other-scope", false),
            ("seed-bad-flag", false),
            ("seed-provider-state", false),
            ("seed-truncated", false),
        ] {
            let data = std::fs::read(corpus.join(name)).unwrap();
            let mut restored = session();
            let outcome = restored.restore(&data, SCOPE, now, NOW_MS, None);
            assert_eq!(outcome.is_ok(), restores, "{name}: {outcome:?}");
            snapshot_restore(&data);
        }
    }
}
