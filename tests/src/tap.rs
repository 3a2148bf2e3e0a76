//! A recording TCP relay: a [`Tap`] listens on 127.0.0.1, relays every
//! connection to an upstream server (the sandbox), and keeps a copy of
//! every byte in each direction, so that a test learns what went over the
//! wire: the tokens its client was given, the order of its requests.
//!
//! Only std: the tap knows nothing of the sandbox or of any API. What a
//! test reads out of the traffic (which JSON key holds a token, which
//! lines are requests) is the test's own.
//!
//! ```no_run
//! # let upstream: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
//! use authsession_tests::tap::Tap;
//!
//! let tap = Tap::start(upstream);
//! // ... a client of `tap.url()` makes its calls ...
//! let tokens = tap.answer_strings("auth_token");
//! ```

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a tap accepts connections.
const TAP_LIFETIME: Duration = Duration::from_secs(60);
/// How long a relayed read or write may wait.
const TAP_IO_TIMEOUT: Duration = Duration::from_secs(5);
/// The acceptor's pause when no connection is waiting.
const IDLE_POLL: Duration = Duration::from_millis(2);
/// The acceptor's pause after a failed accept.
const ERROR_POLL: Duration = Duration::from_millis(10);

/// A TCP relay in front of a server that keeps a copy of every byte in
/// each direction. Bounded: it stops accepting after a minute; dropping it
/// closes every connection it relays and joins its threads.
pub struct Tap {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    inner: Arc<TapInner>,
    acceptor: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct TapInner {
    /// Everything the clients sent, all connections together.
    requests: Mutex<Vec<u8>>,
    /// Everything the server sent back, all connections together.
    answers: Mutex<Vec<u8>>,
    streams: Mutex<Vec<TcpStream>>,
    pumps: Mutex<Vec<JoinHandle<()>>>,
}

/// The guard of `mutex`, poisoned or not: a pump that panicked still left
/// its bytes.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Tap {
    /// A tap on a free port of 127.0.0.1 that relays to `upstream`.
    ///
    /// Panics if it cannot listen: the test cannot run without it.
    pub fn start(upstream: SocketAddr) -> Tap {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap_or_else(|error| panic!("tap did not bind: {error}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|error| panic!("tap has no address: {error}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|error| panic!("tap stays blocking: {error}"));
        let stop = Arc::new(AtomicBool::new(false));
        let inner = Arc::new(TapInner::default());
        let acceptor = {
            let (stop, inner) = (stop.clone(), inner.clone());
            thread::spawn(move || {
                let deadline = Instant::now() + TAP_LIFETIME;
                while !stop.load(Ordering::Acquire) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((client, _)) => {
                            // A connection the tap cannot relay fails the client's request.
                            let _ = inner.relay(client, upstream);
                        }
                        Err(error) if error.kind() == ErrorKind::WouldBlock => {
                            thread::sleep(IDLE_POLL);
                        }
                        Err(_) => thread::sleep(ERROR_POLL),
                    }
                }
            })
        };
        Tap {
            addr,
            stop,
            inner,
            acceptor: Some(acceptor),
        }
    }

    /// The address the tap listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://` and the tap's address: a base URL through the tap.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything the clients sent so far, as text (lossy).
    pub fn requests(&self) -> String {
        String::from_utf8_lossy(&locked(&self.inner.requests)).into_owned()
    }

    /// Everything the server sent back so far, as text (lossy).
    pub fn answers(&self) -> String {
        String::from_utf8_lossy(&locked(&self.inner.answers)).into_owned()
    }

    /// The string values of the JSON key `key` in every answer so far, in
    /// order (written compactly: `"key":"value"`).
    pub fn answer_strings(&self, key: &str) -> Vec<String> {
        json_strings(&self.answers(), key)
    }
}

/// The string values of the JSON key `key` in `text`, in order, where they
/// are written compactly (`"key":"value"`, no escapes in the value).
pub fn json_strings(text: &str, key: &str) -> Vec<String> {
    let opening = format!("\"{key}\":\"");
    text.match_indices(&opening)
        .filter_map(|(at, _)| {
            let rest = &text[at + opening.len()..];
            rest.find('"').map(|end| rest[..end].to_owned())
        })
        .collect()
}

impl fmt::Debug for Tap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tap")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl TapInner {
    fn relay(self: &Arc<Self>, client: TcpStream, upstream: SocketAddr) -> io::Result<()> {
        let server = TcpStream::connect(upstream)?;
        for stream in [&client, &server] {
            stream.set_nonblocking(false)?;
            stream.set_read_timeout(Some(TAP_IO_TIMEOUT))?;
            stream.set_write_timeout(Some(TAP_IO_TIMEOUT))?;
        }
        locked(&self.streams).extend([client.try_clone()?, server.try_clone()?]);
        let (client_reader, server_reader) = (client.try_clone()?, server.try_clone()?);
        let upward = {
            let inner = self.clone();
            thread::spawn(move || pump(client_reader, server, &inner.requests))
        };
        let downward = {
            let inner = self.clone();
            thread::spawn(move || pump(server_reader, client, &inner.answers))
        };
        locked(&self.pumps).extend([upward, downward]);
        Ok(())
    }
}

/// Copies `from` to `to` until either closes, keeping a copy in `log`.
fn pump(mut from: TcpStream, mut to: TcpStream, log: &Mutex<Vec<u8>>) {
    let mut buffer = [0u8; 4096];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        locked(log).extend_from_slice(&buffer[..read]);
        if to.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for stream in locked(&self.inner.streams).drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let pumps: Vec<_> = locked(&self.inner.pumps).drain(..).collect();
        for pump in pumps {
            let _ = pump.join();
        }
    }
}
