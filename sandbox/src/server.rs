//! The HTTP server under the sandbox: hyper's HTTP/1.1 connections on a
//! tokio runtime of the sandbox's own, behind an accept loop that no failed
//! `accept` can end.
//!
//! The sandbox was built on `tiny_http` 0.12 before, and lost requests under
//! load to it: its accept thread returns at the first failed `accept`
//! (`EMFILE` and the like) and panics when it cannot clone an accepted
//! socket, so the server takes no connection ever again; and its task pool
//! counts a thread it has just woken as still idle, so a connection that
//! arrives right after another can sit in the queue with no thread woken for
//! it until some other connection closes. Here every connection is a task of
//! its own, and a failed `accept` is counted, waited out and retried.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// The first wait after a failed `accept`; it doubles while they go on.
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
/// The longest wait after a failed `accept`: long enough not to spin while
/// the process is out of file descriptors, short enough that the sandbox
/// answers again soon after they are back.
const MAX_BACKOFF: Duration = Duration::from_millis(200);

/// What a handler returns to close the connection without any answer
/// ([`Fault::Drop`](super::Fault::Drop)): hyper closes a connection whose
/// service fails, and writes nothing for the request.
#[derive(Debug)]
pub(super) struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the sandbox dropped the connection on purpose")
    }
}

impl Error for Dropped {}

/// The running server. Stopping it (or dropping it) closes the listening
/// socket and every connection, and joins its threads.
#[derive(Debug)]
pub(super) struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on `listen` and answers every request with `handler`, on
    /// `threads` threads; `on_accept_failure` hears of each failed
    /// `accept`.
    pub fn start<H, F>(
        listen: SocketAddr,
        threads: usize,
        handler: H,
        on_accept_failure: impl Fn(&io::Error) + Send + 'static,
    ) -> io::Result<Self>
    where
        H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Result<Response<Full<Bytes>>, Dropped>> + Send + 'static,
    {
        let listener = std::net::TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let (started, start) = mpsc::channel();
        // The runtime is made, driven and dropped on a thread of its own, so
        // that a sandbox can be started and dropped anywhere, even inside
        // another async runtime, where dropping this one would panic.
        // Dropping it cancels every connection's task, which closes the
        // sockets.
        let (stop, stopped) = oneshot::channel();
        let thread = thread::Builder::new()
            .name("sandbox-accept".into())
            .spawn(move || {
                let running = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(threads.max(1))
                    .thread_name("sandbox-worker")
                    .enable_all()
                    .build()
                    .and_then(|runtime| {
                        let listener = {
                            // Registering the socket needs the runtime's
                            // context.
                            let _context = runtime.enter();
                            TcpListener::from_std(listener)?
                        };
                        Ok((listener, runtime))
                    });
                match running {
                    Ok((listener, runtime)) => {
                        let _ = started.send(Ok(()));
                        runtime.block_on(accept(listener, stopped, handler, on_accept_failure));
                    }
                    Err(error) => {
                        let _ = started.send(Err(error));
                    }
                }
            })?;
        start
            .recv()
            .map_err(|_| io::Error::other("the sandbox's server thread ended at its start"))??;
        Ok(Server {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes every connection and joins every thread.
    pub fn stop(&mut self) {
        // A closed channel stops the loop as well as a sent message.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The address to reach a socket bound to `addr` from this host.
pub(super) fn loopback(addr: SocketAddr) -> SocketAddr {
    let mut reachable = addr;
    if addr.ip().is_unspecified() {
        reachable.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    reachable
}

/// Accepts connections until told to stop, each served by a task of its
/// own. A failed `accept` loses at most the connection it was for: the
/// listening socket is still good, and a lack of file descriptors passes
/// when connections close.
async fn accept<H, F>(
    listener: TcpListener,
    mut stopped: oneshot::Receiver<()>,
    handler: H,
    on_accept_failure: impl Fn(&io::Error),
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Full<Bytes>>, Dropped>> + Send + 'static,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                backoff = FIRST_BACKOFF;
                tokio::spawn(serve(stream, handler.clone()));
            }
            Err(error) => {
                on_accept_failure(&error);
                tracing::warn!(%error, ?backoff, "sandbox: accept failed; trying again");
                // The socket stays readable while the cause lasts: without
                // a pause the loop would spin on the same error.
                tokio::select! {
                    _ = &mut stopped => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Serves one connection's requests until either side closes it.
async fn serve<H, F>(stream: TcpStream, handler: H)
where
    H: Fn(Request<Incoming>) -> F,
    F: Future<Output = Result<Response<Full<Bytes>>, Dropped>>,
{
    // Small answers go out at once rather than after Nagle's delay.
    let _ = stream.set_nodelay(true);
    let connection = http1::Builder::new()
        // No timeout of the server's own: a client's idle keep-alive
        // connection stays open as long as the client keeps it, as it did
        // before (hyper's header-read timeout would need a timer besides).
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(stream), service_fn(handler));
    // A client that goes away, a request that is not HTTP (hyper has
    // answered it `400`), a dropped connection: this connection is over,
    // and nothing else is.
    let _ = connection.await;
}
