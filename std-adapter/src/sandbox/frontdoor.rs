//! The TCP front of the sandbox: it accepts the clients' connections and
//! relays their bytes to the `tiny_http` server behind it. It exists for
//! [`Fault::Drop`](super::Fault::Drop): `tiny_http` never lets go of a
//! keep-alive socket, so only a relay that owns the client's socket can
//! close it without an answer.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

/// The relayed connections, by the address `tiny_http` sees as the peer.
#[derive(Debug, Default)]
pub(super) struct Links {
    open: Mutex<HashMap<SocketAddr, Link>>,
    next_id: AtomicU64,
}

#[derive(Debug)]
struct Link {
    /// Tells this link from a later one that reuses its port.
    id: u64,
    client: TcpStream,
    upstream: TcpStream,
}

impl Links {
    /// Closes the client connection whose request `tiny_http` saw coming
    /// from `peer`, and the relay behind it.
    pub fn cut(&self, peer: SocketAddr) {
        if let Some(link) = self.lock().remove(&peer) {
            link.close();
        }
    }

    fn cut_all(&self) {
        for (_, link) in self.lock().drain() {
            link.close();
        }
    }

    fn forget(&self, peer: SocketAddr, id: u64) {
        let mut open = self.lock();
        if open.get(&peer).is_some_and(|link| link.id == id) {
            open.remove(&peer);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Link>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Link {
    fn close(&self) {
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.upstream.shutdown(Shutdown::Both);
    }
}

/// The listening socket and the threads that relay for it.
#[derive(Debug)]
pub(super) struct Frontdoor {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    links: Arc<Links>,
    acceptor: Option<JoinHandle<()>>,
    relays: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Frontdoor {
    /// Listens on `listen` and relays every connection to `upstream`.
    pub fn start(listen: SocketAddr, upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let links = Arc::new(Links::default());
        let relays = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let (stop, links, relays) = (stop.clone(), links.clone(), relays.clone());
            thread::Builder::new()
                .name("sandbox-accept".into())
                .spawn(move || accept(&listener, upstream, &stop, &links, &relays))?
        };
        Ok(Frontdoor {
            addr,
            stop,
            links,
            acceptor: Some(acceptor),
            relays,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn links(&self) -> Arc<Links> {
        self.links.clone()
    }

    /// Stops accepting, closes every connection and joins every thread.
    pub fn stop(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return;
        };
        self.stop.store(true, Ordering::Release);
        // The acceptor blocks in `accept`: a connection of our own wakes it.
        let _ = TcpStream::connect(loopback(self.addr));
        let _ = acceptor.join();
        self.links.cut_all();
        let relays =
            std::mem::take(&mut *self.relays.lock().unwrap_or_else(PoisonError::into_inner));
        for relay in relays {
            let _ = relay.join();
        }
    }
}

impl Drop for Frontdoor {
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

fn accept(
    listener: &TcpListener,
    upstream: SocketAddr,
    stop: &AtomicBool,
    links: &Arc<Links>,
    relays: &Mutex<Vec<JoinHandle<()>>>,
) {
    for client in listener.incoming() {
        if stop.load(Ordering::Acquire) {
            return;
        }
        // A failed accept or connect loses one client, not the sandbox.
        let Ok(client) = client else { continue };
        if let Ok(started) = relay(client, upstream, links) {
            let mut relays = relays.lock().unwrap_or_else(PoisonError::into_inner);
            relays.retain(|relay| !relay.is_finished());
            relays.extend(started);
        }
    }
}

/// Connects `client` to `upstream`, registers the link before any byte
/// flows (so a fault can always find it), and starts one thread per
/// direction.
fn relay(
    mut client: TcpStream,
    upstream: SocketAddr,
    links: &Arc<Links>,
) -> io::Result<[JoinHandle<()>; 2]> {
    let mut upstream = TcpStream::connect(upstream)?;
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let peer = upstream.local_addr()?;
    let id = links.next_id.fetch_add(1, Ordering::Relaxed);
    let link = Link {
        id,
        client: client.try_clone()?,
        upstream: upstream.try_clone()?,
    };
    links.lock().insert(peer, link);
    let (mut client_in, mut upstream_out) = (client.try_clone()?, upstream.try_clone()?);
    let requests = thread::Builder::new()
        .name("sandbox-relay".into())
        .spawn(move || {
            let _ = io::copy(&mut client_in, &mut upstream_out);
            // The client is done sending; answers may still be on their way.
            let _ = upstream_out.shutdown(Shutdown::Write);
        })?;
    let links = links.clone();
    let replies = thread::Builder::new()
        .name("sandbox-relay".into())
        .spawn(move || {
            let _ = io::copy(&mut upstream, &mut client);
            // The server has closed: nothing more can flow either way, and
            // the other direction must not wait on a client that lingers.
            let _ = client.shutdown(Shutdown::Both);
            let _ = upstream.shutdown(Shutdown::Both);
            links.forget(peer, id);
        })?;
    Ok([requests, replies])
}
