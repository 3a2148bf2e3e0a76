//! The memory a device needs to run a Currencycloud session over the
//! core's `wire` module: every answer of a session (login, calls, logout)
//! against the sandbox, tapped on the wire, then read again with ever
//! smaller buffers and header arrays to find the least each needs. Run
//! with `--nocapture` to see the table.
// Test helpers may fail loudly: their panics are the tests' failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::wire::embedded_io::{ErrorType, Read, Write};
use authsession_core::wire::httparse::EMPTY_HEADER;
use authsession_core::wire::{Call, Driver, Endpoint, read_response};
use authsession_core::{Instant, Level, Method, Provider, Response, Session, Verdict};
use authsession_sandbox::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Sandbox, SandboxConfig};
use embedded_io_adapters::std::FromStd;

/// What the `embedded_session` example and the README give a device.
const RESPONSE_BUFFER: usize = 2048;
const RESPONSE_HEADERS: usize = 24;

/// The answers read on each connection, in order.
type Tapped = Rc<RefCell<Vec<Vec<u8>>>>;

/// A connection that keeps a copy of every byte it reads.
struct Tap {
    inner: FromStd<TcpStream>,
    tapped: Tapped,
    index: usize,
}

impl ErrorType for Tap {
    type Error = io::Error;
}

impl Read for Tap {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.tapped.borrow_mut()[self.index].extend_from_slice(&buf[..read]);
        Ok(read)
    }
}

impl Write for Tap {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn connector(addr: SocketAddr, tapped: &Tapped) -> impl FnMut() -> io::Result<Tap> {
    let tapped = tapped.clone();
    move || {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let index = tapped.borrow().len();
        tapped.borrow_mut().push(Vec::new());
        Ok(Tap {
            inner: FromStd::new(stream),
            tapped: tapped.clone(),
            index,
        })
    }
}

/// What one answer needs.
#[derive(Debug)]
struct Needs {
    status: u16,
    head: usize,
    body: usize,
    /// The least buffer it can be read into (head, body and, for a
    /// chunked body, the room its framing takes while it is decoded).
    buffer: usize,
    headers: usize,
}

fn needs(answer: &[u8]) -> Needs {
    let read = |buffer: usize, headers: usize| {
        let mut buf = vec![0u8; buffer];
        let mut slots = vec![EMPTY_HEADER; headers];
        read_response(&mut &answer[..], &mut buf, &mut slots)
            .map(|response| {
                (
                    response.status(),
                    response.head_len(),
                    response.body().len(),
                    response.headers().len(),
                )
            })
            .ok()
    };
    let (status, head, body, headers) = read(64 * 1024, 256).expect("a readable answer");
    let buffer = (0..=64 * 1024)
        .find(|&size| read(size, headers).is_some())
        .unwrap();
    // Not one byte or header less.
    assert!(read(buffer - 1, headers).is_none());
    assert!(read(buffer, headers - 1).is_none());
    Needs {
        status,
        head,
        body,
        buffer,
        headers,
    }
}

/// Runs `session` through `calls` and a logout over the driver, and
/// returns every answer as it came off the wire. Generic over the
/// provider: Weavr (base path `/multi`) and the access-key API (base path
/// `/access-key`) measure the same way.
fn tap_a_session<P: Provider>(
    sandbox: &Sandbox,
    base_path: &str,
    mut session: Session<P>,
    calls: &[&str],
) -> Vec<Vec<u8>> {
    let tapped = Tapped::default();
    let host = sandbox.addr().to_string();
    let endpoint = Endpoint::new(&host).with_base_path(base_path);
    let mut driver =
        Driver::new(connector(sandbox.addr(), &tapped), endpoint).with_header_capacity::<64>();
    let started = std::time::Instant::now();
    let mut now = || Instant::from_millis(u64::try_from(started.elapsed().as_millis()).unwrap());
    let mut buf = vec![0u8; 64 * 1024];
    for path in calls {
        let mut headers = [EMPTY_HEADER; 64];
        let call = Call::new(Level::User, Method::Get, path);
        let (verdict, response) = driver
            .call(&mut session, &call, &mut buf, &mut headers, &mut now)
            .unwrap();
        assert_eq!((verdict, response.status()), (Verdict::Ok, 200), "{path}");
    }
    session.logout(now());
    driver.drive(&mut session, &mut buf, &mut now).unwrap();
    drop(driver);
    Rc::try_unwrap(tapped).unwrap().into_inner()
}

#[test]
fn a_currencycloud_session_fits_the_buffers_given_to_devices() {
    let sandbox = Sandbox::start(SandboxConfig::for_tests()).unwrap();
    let credentials =
        CurrencycloudCredentials::new(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY).unwrap();
    let session = Session::new(Currencycloud::default(), credentials);
    let calls = ["/v2/accounts/current", "/v2/balances/find"];
    let answers = tap_a_session(&sandbox, "", session, &calls);

    let names = [
        "login",
        "GET /v2/accounts/current",
        "GET /v2/balances/find",
        "logout",
    ];
    assert_eq!(answers.len(), names.len());
    println!("answer                     status  head  body  buffer  headers");
    for (name, answer) in names.iter().zip(&answers) {
        let needs = needs(answer);
        println!(
            "{name:<26} {:>6} {:>5} {:>5} {:>7} {:>8}",
            needs.status, needs.head, needs.body, needs.buffer, needs.headers
        );
        // Half of what devices are given: the real API sends more headers
        // (cookies, tracing) than the sandbox.
        assert!(needs.buffer <= RESPONSE_BUFFER / 2, "{name}: {needs:?}");
        assert!(needs.headers <= RESPONSE_HEADERS / 2, "{name}: {needs:?}");
    }
}
