//! Faults injected on demand, so that tests can drive a client through the
//! failures of a real network and a real vendor: error statuses, dropped
//! connections, slow answers.

use std::collections::VecDeque;
use std::time::Duration;

/// A fault that the sandbox applies to the next requests, whatever API they
/// are for. Injected with [`Sandbox::inject`].
///
/// ```
/// use std::time::Duration;
/// use authsession_sandbox::{Fault, Sandbox, SandboxConfig};
///
/// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
/// sandbox.inject(Fault::Status(503), 1); // the next request gets a 503
/// sandbox.inject(Fault::StatusRetryAfter(429, 1), 2); // the two after it a 429
/// sandbox.inject(Fault::Delay(Duration::from_millis(50)), 1);
/// sandbox.inject(Fault::Drop, 1);
/// sandbox.inject(Fault::Answer(200, br#"{"auth_token":"not a token"}"#), 1);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// [`Sandbox::inject`]: super::Sandbox::inject
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with the API's own JSON error body (for
    /// Currencycloud: `503` `service_unavailable`, `429`
    /// `too_many_requests`, `500` `internal_server_error`, ...), without a
    /// `Retry-After` header, as the real APIs do.
    Status(u16),
    /// Like [`Fault::Status`], with a `Retry-After` header of this many
    /// seconds.
    StatusRetryAfter(u16, u32),
    /// Close the TCP connection without any answer: the client sees a
    /// transport error, not a status.
    Drop,
    /// Wait this long, then serve the request normally.
    Delay(Duration),
    /// Answer this status with exactly this body (as JSON), whatever the
    /// request: what a hostile or broken server says, such as a login
    /// `200` whose token cannot be used, or an answer of megabytes.
    Answer(u16, &'static [u8]),
}

/// Faults waiting to be applied, in the order they were injected.
#[derive(Debug, Default)]
pub(super) struct FaultQueue(VecDeque<(Fault, u32)>);

impl FaultQueue {
    pub fn push(&mut self, fault: Fault, times: u32) {
        if times > 0 {
            self.0.push_back((fault, times));
        }
    }

    /// The fault for the request at hand, if one is pending.
    pub fn take(&mut self) -> Option<Fault> {
        let (fault, times) = self.0.front_mut()?;
        let fault = *fault;
        *times -= 1;
        if *times == 0 {
            self.0.pop_front();
        }
        Some(fault)
    }
}
