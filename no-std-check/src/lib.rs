//! A `no_std` static library that drives a Currencycloud session through a
//! login and one authorized call, by hand and through the async `wire`
//! driver: it builds only if nothing under `authsession-core` needs `std`,
//! and its size is the footprint a device pays for one provider.
#![no_std]

use core::convert::Infallible;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::wire::embedded_io_async::{ErrorType, Read, Write};
use authsession_core::wire::{AsyncConnector, AsyncDriver, Call, Endpoint, httparse};
use authsession_core::{Instant, Level, Method, Response, ResponseParts, Session};

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

/// Runs a login, one call and a logout through the async driver over
/// canned connections; returns the call's status, or 0 on any failure.
#[unsafe(no_mangle)]
pub extern "C" fn authsession_async_demo(now_ms: u64) -> u16 {
    let Ok(credentials) = CurrencycloudCredentials::new(
        "device@example.com",
        "1f6a3e944f8c4ebdc6658d6fc1103f12ebbc33f5ed05ca3549fdbc3883556544",
    ) else {
        return 0;
    };
    let mut session = Session::new(Currencycloud::default(), credentials);
    let mut task = pin!(async_session(&mut session, now_ms));
    // The canned streams are always ready: one poll runs the task through.
    match task.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(status) => status,
        Poll::Pending => 0,
    }
}

async fn async_session(session: &mut Session<Currencycloud>, now_ms: u64) -> u16 {
    let mut now = || Instant::from_millis(now_ms);
    let mut buf = [0u8; 512];
    let mut driver = AsyncDriver::new(Canned::default(), Endpoint::new("devapi.currencycloud.com"))
        .with_header_capacity::<8>();
    let call = Call::new(Level::User, Method::Get, "/v2/accounts/current");
    let mut headers = [httparse::EMPTY_HEADER; 8];
    let status = match driver
        .call(session, &call, &mut buf, &mut headers, &mut now)
        .await
    {
        Ok((_, response)) => response.status(),
        Err(_) => return 0,
    };
    session.logout(now());
    if driver.tick(session, &mut buf, &mut now).await.is_err() {
        return 0;
    }
    status
}

/// Answers each connection with the next canned answer, and lends each
/// connection its count of bytes written: the shape of a device's
/// connector, whose connections borrow the socket buffers it keeps.
#[derive(Default)]
struct Canned {
    opened: usize,
    written: usize,
}

const ANSWERS: [&[u8]; 3] = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 49\r\n\r\n{\"auth_token\":\"ea6d13c7bc50feb46cf978d137bc01a2\"}",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
];

struct CannedStream<'c> {
    answer: &'static [u8],
    written: &'c mut usize,
}

impl AsyncConnector for Canned {
    type Stream<'s> = CannedStream<'s>;
    type Error = Infallible;

    async fn connect(&mut self) -> Result<CannedStream<'_>, Infallible> {
        let answer = ANSWERS.get(self.opened).copied().unwrap_or_default();
        self.opened += 1;
        Ok(CannedStream {
            answer,
            written: &mut self.written,
        })
    }
}

impl ErrorType for CannedStream<'_> {
    type Error = Infallible;
}

impl Read for CannedStream<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let n = buf.len().min(self.answer.len());
        let (now, later) = self.answer.split_at(n);
        if let Some(into) = buf.get_mut(..n) {
            into.copy_from_slice(now);
        }
        self.answer = later;
        Ok(n)
    }
}

impl Write for CannedStream<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        *self.written += buf.len();
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
