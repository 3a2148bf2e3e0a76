//! A session written down in one process and taken up in another: the
//! token and its times survive a change of clock, and every bad snapshot
//! is a typed error that leaves the session as it was.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use authsession_core::providers::weavr::{Weavr, WeavrCredentials};
use authsession_core::{Level, NotReady, SessionState, SnapshotError};
use authsession_tests::{Harness, LOGIN_OK, NEXT_LOGIN_OK, Seen, TOKEN, at, mins, secs};

const SCOPE: &[u8] = b"https://devapi.currencycloud.com development@example.com";
/// The wall clock when the first process writes the snapshot, in ms.
const WRITTEN_AT: u64 = 1_764_633_600_000;

/// A logged-in Currencycloud session's snapshot, written at instant zero.
fn snapshot_of(h: &Harness<authsession_core::providers::Currencycloud>) -> Vec<u8> {
    let mut out = [0_u8; 512];
    let len = h
        .session
        .snapshot(SCOPE, h.now, WRITTEN_AT, &mut out)
        .unwrap();
    out[..len].to_vec()
}

fn token_header(h: &mut Harness<authsession_core::providers::Currencycloud>) -> String {
    h.grant().headers[0].value.clone()
}

#[test]
fn another_process_goes_on_with_the_token_until_the_same_wall_clock_moment() {
    let first = Harness::logged_in();
    let idle_deadline = first.session.poll_timeout().expect("an idle deadline");
    let snapshot = snapshot_of(&first);

    // The second process starts a minute later, on a clock of its own.
    let mut second = Harness::currencycloud();
    second.set_time(secs(500));
    second
        .session
        .restore(&snapshot, SCOPE, second.now, WRITTEN_AT + 60_000, None)
        .unwrap();
    second.timeout();

    assert_eq!(second.take_events(), [Seen::Restored { generation: 1 }]);
    assert_eq!(second.state(), SessionState::Active);
    assert_eq!(second.session.generation(), 1);
    assert!(second.nothing_sent(), "no login");
    let left = idle_deadline
        .saturating_duration_since(at(secs(0)))
        .checked_sub(secs(60))
        .unwrap();
    assert_eq!(second.session.poll_timeout(), Some(at(secs(500)) + left));
    assert_eq!(token_header(&mut second), TOKEN);
}

#[test]
fn a_token_that_lapsed_meanwhile_is_not_taken() {
    let first = Harness::logged_in();
    let snapshot = snapshot_of(&first);
    let mut second = Harness::currencycloud();
    let an_hour_later = WRITTEN_AT + 3_600_000;
    assert_eq!(
        second
            .session
            .restore(&snapshot, SCOPE, second.now, an_hour_later, None),
        Err(SnapshotError::Lapsed)
    );
    assert_eq!(second.state(), SessionState::LoggedOut);
    assert_eq!(
        second.authorize_at(Level::User).err(),
        Some(NotReady::LoggingIn)
    );
}

#[test]
fn a_snapshot_is_bound_to_its_provider_and_scope() {
    let first = Harness::logged_in();
    let snapshot = snapshot_of(&first);

    let mut other_scope = Harness::currencycloud();
    assert_eq!(
        other_scope.session.restore(
            &snapshot,
            b"https://api.currencycloud.com other@example.com",
            other_scope.now,
            WRITTEN_AT,
            None
        ),
        Err(SnapshotError::OtherScope)
    );

    let credentials = WeavrCredentials::new("api-key", "ada@example.com", "s3cret!").unwrap();
    let mut weavr = Harness::with_session(authsession_core::Session::new(
        Weavr::default(),
        credentials,
    ));
    assert_eq!(
        weavr
            .session
            .restore(&snapshot, SCOPE, weavr.now, WRITTEN_AT, None),
        Err(SnapshotError::OtherProvider)
    );
    assert_eq!(weavr.state(), SessionState::LoggedOut);
}

#[test]
fn every_cut_flip_and_addition_is_a_typed_error_never_a_panic() {
    let first = Harness::logged_in();
    let snapshot = snapshot_of(&first);
    for len in 0..snapshot.len() {
        let mut h = Harness::currencycloud();
        let result = h
            .session
            .restore(&snapshot[..len], SCOPE, h.now, WRITTEN_AT, None);
        assert!(
            matches!(
                result,
                Err(SnapshotError::Malformed | SnapshotError::NotASnapshot)
            ),
            "cut at {len}: {result:?}"
        );
        assert_eq!(h.state(), SessionState::LoggedOut);
    }
    let mut longer = snapshot.clone();
    longer.push(0);
    let mut h = Harness::currencycloud();
    assert_eq!(
        h.session.restore(&longer, SCOPE, h.now, WRITTEN_AT, None),
        Err(SnapshotError::Malformed)
    );
    // Every single byte changed: refused, or (a time, the generation, a
    // token byte that stays header-safe) a session that still works.
    for at_byte in 0..snapshot.len() {
        for flip in [0x01_u8, 0x80, 0xff] {
            let mut bad = snapshot.clone();
            bad[at_byte] ^= flip;
            let mut h = Harness::currencycloud();
            if h.session
                .restore(&bad, SCOPE, h.now, WRITTEN_AT, None)
                .is_ok()
            {
                let granted = h.grant();
                let value = &granted.headers[0].value;
                assert!(
                    value.bytes().all(|b| (0x21..=0x7e).contains(&b)),
                    "{value:?}"
                );
            } else {
                assert_eq!(h.state(), SessionState::LoggedOut);
            }
        }
    }
}

#[test]
fn a_bad_version_magic_or_token_is_named() {
    let first = Harness::logged_in();
    let snapshot = snapshot_of(&first);
    let mut h = Harness::currencycloud();

    let mut version = snapshot.clone();
    version[4] = 9;
    assert_eq!(
        h.session.restore(&version, SCOPE, h.now, WRITTEN_AT, None),
        Err(SnapshotError::Version { found: 9 })
    );
    assert_eq!(
        h.session
            .restore(b"{\"token\":1}", SCOPE, h.now, WRITTEN_AT, None),
        Err(SnapshotError::NotASnapshot)
    );
    let at_token = snapshot
        .windows(TOKEN.len())
        .position(|w| w == TOKEN.as_bytes())
        .unwrap();
    for bad in [b'\r', b'\n', b' ', 0, 0xc3] {
        let mut crlf = snapshot.clone();
        crlf[at_token + 3] = bad;
        assert_eq!(
            h.session.restore(&crlf, SCOPE, h.now, WRITTEN_AT, None),
            Err(SnapshotError::BadToken),
            "{bad:#x}"
        );
    }
    assert_eq!(h.state(), SessionState::LoggedOut);
}

#[test]
fn a_token_too_long_for_the_providers_buffer_is_refused() {
    let first = Harness::logged_in();
    let snapshot = snapshot_of(&first);
    let at_token = snapshot
        .windows(TOKEN.len())
        .position(|w| w == TOKEN.as_bytes())
        .unwrap();
    let mut long = snapshot[..at_token - 2].to_vec();
    let token = "t".repeat(65);
    long.extend_from_slice(&u16::try_from(token.len()).unwrap().to_be_bytes());
    long.extend_from_slice(token.as_bytes());
    long.extend_from_slice(&[0, 0]);
    let mut h = Harness::currencycloud();
    assert_eq!(
        h.session.restore(&long, SCOPE, h.now, WRITTEN_AT, None),
        Err(SnapshotError::BadToken)
    );
}

#[test]
fn an_older_or_equal_generation_does_not_replace_the_token_held() {
    let first = Harness::logged_in();
    let old = snapshot_of(&first);
    let mut h = Harness::logged_in();
    assert_eq!(
        h.session.restore(&old, SCOPE, h.now, WRITTEN_AT, None),
        Err(SnapshotError::NotNewer)
    );
    assert_eq!(h.session.generation(), 1);
}

#[test]
fn a_restore_replaces_a_login_in_flight_whose_late_answer_changes_nothing() {
    // The first process logged in twice: generation 2.
    let mut first = Harness::logged_in();
    first.advance(mins(31));
    let _ = first.authorize();
    let login = first.take_one_sent();
    first.answer(&login, 200, NEXT_LOGIN_OK);
    let snapshot = {
        let mut out = [0_u8; 512];
        let len = first
            .session
            .snapshot(SCOPE, first.now, WRITTEN_AT, &mut out)
            .unwrap();
        out[..len].to_vec()
    };

    let mut second = Harness::currencycloud();
    second.login();
    let its_login = second.take_one_sent();
    second
        .session
        .restore(&snapshot, SCOPE, second.now, WRITTEN_AT, None)
        .unwrap();
    second.answer(&its_login, 200, LOGIN_OK);

    assert_eq!(second.session.generation(), 2);
    assert!(
        second
            .take_events()
            .contains(&Seen::Restored { generation: 2 })
    );
    assert_ne!(
        token_header(&mut second),
        TOKEN,
        "the late login is ignored"
    );
}

#[test]
fn nothing_is_written_without_a_token_or_into_a_buffer_too_small() {
    let h = Harness::currencycloud();
    let mut out = [0_u8; 512];
    assert_eq!(
        h.session.snapshot(SCOPE, h.now, WRITTEN_AT, &mut out),
        Err(SnapshotError::NoToken)
    );

    let first = Harness::logged_in();
    let mut small = [0xaa_u8; 16];
    let Err(SnapshotError::BufferTooSmall { needed }) = first
        .session
        .snapshot(SCOPE, first.now, WRITTEN_AT, &mut small)
    else {
        panic!("a 16-byte buffer holds a snapshot");
    };
    assert!(needed > 16);
    assert_eq!(small, [0; 16], "nothing half-written is left");
}

#[test]
fn a_weavr_session_goes_on_stepped_up_and_acting_for_the_same_identity() {
    let mut first = Harness::weavr_logged_in();
    first.step_up();
    assert_eq!(
        first.session.step_up_state(),
        authsession_core::StepUpState::SteppedUp
    );
    let mut out = [0_u8; 4096];
    let len = first
        .session
        .snapshot(SCOPE, first.now, WRITTEN_AT, &mut out)
        .unwrap();

    let mut second = Harness::weavr();
    second
        .session
        .restore(&out[..len], SCOPE, second.now, WRITTEN_AT, None)
        .unwrap();

    assert_eq!(
        second.session.step_up_state(),
        authsession_core::StepUpState::SteppedUp
    );
    assert_eq!(
        second.session.provider().identity(),
        first.session.provider().identity()
    );
    assert!(second.session.provider().identity().is_some());
    assert!(second.grant_at(Level::SteppedUp).headers.len() >= 2);
}

#[test]
fn the_fleets_last_use_moves_the_idle_deadline_of_a_restored_token() {
    let first = Harness::logged_in();
    let idle_deadline = first.session.poll_timeout().expect("an idle deadline");
    let snapshot = snapshot_of(&first);
    // Twenty minutes later; another process used the token a minute ago.
    let later = WRITTEN_AT + 20 * 60_000;
    let mut second = Harness::currencycloud();
    second
        .session
        .restore(&snapshot, SCOPE, second.now, later, Some(later - 60_000))
        .unwrap();
    let left = idle_deadline
        .saturating_duration_since(at(secs(0)))
        .checked_sub(secs(60))
        .unwrap();
    assert_eq!(second.session.poll_timeout(), Some(at(secs(0)) + left));

    // Without that use, the token idled out long ago.
    let much_later = WRITTEN_AT + 40 * 60_000;
    let mut third = Harness::currencycloud();
    assert_eq!(
        third
            .session
            .restore(&snapshot, SCOPE, third.now, much_later, None),
        Err(SnapshotError::Lapsed)
    );
    assert!(
        third
            .session
            .restore(
                &snapshot,
                SCOPE,
                third.now,
                much_later,
                Some(much_later - 1000)
            )
            .is_ok()
    );
}

#[test]
fn a_login_the_fleet_saw_refused_is_rejected_without_being_sent() {
    let mut h = Harness::currencycloud();
    h.login();
    let _login = h.take_one_sent();
    h.session
        .reject_login(authsession_core::Error::RefusedByFleet);
    h.drain();
    assert_eq!(h.state(), SessionState::Rejected);
    assert_eq!(
        h.take_events(),
        [Seen::LoginRejected(authsession_core::Error::RefusedByFleet)]
    );
    assert!(h.nothing_sent());
}
