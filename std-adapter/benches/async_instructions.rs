//! The instructions one call costs on each side of the `async_client`
//! benchmark (`AsyncClient::get`, raw reqwest with the token set by hand,
//! `SessionMiddleware`), counted rather than timed: a 2-vCPU machine's
//! timings of one side against another spread by ten points, a count of
//! instructions does not.
//!
//! `scripts/instructions` runs this program under callgrind for each side,
//! at two numbers of calls, and prints the difference per call of its main
//! thread's instructions: everything the client does for a call on a
//! current-thread tokio runtime, its start, login and first connection
//! left out. The sandbox serves from threads of its own, which are not
//! counted. Run by itself, `async_instructions SIDE CALLS` makes `CALLS`
//! calls on side `client`, `raw` or `middleware`. Run by `cargo bench`
//! without them, it makes a few calls on each side and says so.
// A failed request is a broken measurement, which should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod async_sides;
// Only its sandbox: nothing here is timed.
#[allow(dead_code)]
mod support;

use async_sides::{Sides, WAYS, Way};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`, after any filter it was given.
    let measuring = !args.iter().any(|arg| arg == "--bench");
    let (ways, calls) = match args.as_slice() {
        [side, calls] if measuring => {
            let way = match side.as_str() {
                "client" => Way::Client,
                "raw" => Way::Raw,
                "middleware" => Way::Middleware,
                other => panic!("no side {other}: client, raw or middleware"),
            };
            (vec![way], calls.parse().expect("a number of calls"))
        }
        // Check that every side works.
        _ => (WAYS.to_vec(), 10),
    };
    let sandbox = support::quiet_sandbox();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sides = Sides::start(&sandbox.currencycloud_url()).await;
        for way in &ways {
            for _ in 0..calls {
                std::hint::black_box(sides.get(*way).await);
            }
        }
        // Closed here rather than by the last clone's drop, which would
        // send the logout as the runtime shuts down.
        sides.client.logout().await.unwrap();
    });
    let counters = sandbox.counters();
    // The two logins of the start, and every call answered with the token.
    assert_eq!(counters.logins, 2);
    assert_eq!(counters.unauthorized, 0);
    if !measuring {
        println!(
            "async_instructions: {calls} calls on each side answered; scripts/instructions counts them"
        );
    }
}
