//! A real `redis-server` for the tests, never a mock: started on a free
//! loopback port with nothing persisted (`--save "" --appendonly no`),
//! stopped by its pid when the [`RedisServer`] is dropped, and stopped and
//! started again on the same port on demand, to test what a client does
//! while Redis is away.
//!
//! `redis-server` must be on `PATH` (`scripts/test` installs Debian's
//! package when it is not): without it [`RedisServer::start`] panics with
//! a message that says so. A test that needs Redis fails without it; it
//! never skips.
//!
//! Std only, so that any test crate of the workspace can use this file
//! (`authsession_tests::redis_server`, or a `#[path]` module, as
//! `authsession-std`'s store tests do). [`RedisServer::command`] speaks
//! just enough RESP to look into the server (`KEYS *`, `GET`, `PTTL`).
//!
//! ```no_run
//! use authsession_tests::redis_server::{RedisServer, Resp};
//!
//! let mut redis = RedisServer::start();
//! let url = redis.url(); // redis://127.0.0.1:PORT
//! assert_eq!(redis.command(&["PING"]), Resp::Simple("PONG".into()));
//! redis.stop();
//! redis.restart(); // the same port
//! # drop(url);
//! ```

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a starting server may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How many free ports are tried if another process takes the one picked.
const PORT_TRIES: usize = 5;
/// The time limit of one [`RedisServer::command`].
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// A `redis-server` child process on `127.0.0.1`. Dropping it kills the
/// process (by its pid) and reaps it.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port and waits until it
    /// answers `PING`. Panics if `redis-server` is not on `PATH` or does
    /// not come up within 10 seconds.
    pub fn start() -> Self {
        let mut last_log = String::new();
        for _ in 0..PORT_TRIES {
            let port = free_port();
            match Self::try_start_on(port) {
                Ok(server) => return server,
                // The port was taken between picking it and binding it:
                // pick another.
                Err(log) => last_log = log,
            }
        }
        panic!(
            "redis-server did not start on any of {PORT_TRIES} free ports; its log:\n{last_log}"
        );
    }

    /// Starts `redis-server` on `port` (of `127.0.0.1`). Panics as
    /// [`start`](Self::start) does, or if the port is taken.
    pub fn start_on(port: u16) -> Self {
        match Self::try_start_on(port) {
            Ok(server) => server,
            Err(log) => panic!("redis-server did not start on port {port}; its log:\n{log}"),
        }
    }

    fn try_start_on(port: u16) -> Result<Self, String> {
        let log = std::env::temp_dir().join(format!(
            "authsession-redis-{}-{port}.log",
            std::process::id()
        ));
        let child = spawn(port, &log);
        let mut server = RedisServer {
            child: Some(child),
            port,
            log,
        };
        server.wait_until_ready()?;
        Ok(server)
    }

    /// The server's port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The pid of the running server, if it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the server runs (it was not stopped, and did not exit).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the server by its pid (SIGKILL: Redis goes away at once, as
    /// in a crash) and waits for it to exit, so that its port is free.
    /// Nothing was persisted: a restarted server is empty.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // It may have exited already: then there is nothing to kill.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (SIGSTOP to its pid): it keeps its port and
    /// its connections but answers nothing, as a hung or unreachable Redis.
    /// [`resume`](Self::resume) thaws it; dropping it kills it all the same.
    pub fn pause(&mut self) {
        self.signal("STOP");
    }

    /// Thaws a [`pause`](Self::pause)d server (SIGCONT).
    pub fn resume(&mut self) {
        self.signal("CONT");
    }

    fn signal(&mut self, signal: &str) {
        let pid = self.pid().expect("the server is not running");
        // std has no signals but SIGKILL: the shell's `kill` sends them.
        let status = Command::new("sh")
            .args(["-c", &format!("kill -{signal} {pid}")])
            .status()
            .unwrap_or_else(|error| panic!("cannot run sh: {error}"));
        assert!(status.success(), "kill -{signal} {pid} failed");
    }

    /// Starts the server again on the same port (stopping it first if it
    /// runs), and waits until it answers. Panics if it does not come up.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            self.child = Some(spawn(self.port, &self.log));
            match self.wait_until_ready() {
                Ok(()) => return,
                Err(log) if Instant::now() >= deadline => panic!(
                    "redis-server did not start again on port {}; its log:\n{log}",
                    self.port
                ),
                // The old socket may linger for a moment: try again.
                Err(_) => {
                    self.stop();
                    thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    /// Sends one command and reads its reply. Panics on a connection
    /// error (the server must run) or a reply it cannot parse.
    pub fn command(&self, args: &[&str]) -> Resp {
        let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
        self.command_bytes(&args)
    }

    /// [`command`](Self::command) with arguments that are bytes.
    pub fn command_bytes(&self, args: &[&[u8]]) -> Resp {
        match query(self.port, args, COMMAND_TIMEOUT) {
            Ok(reply) => reply,
            Err(error) => panic!("redis on port {} did not answer: {error}", self.port),
        }
    }

    /// Every key the server holds (`KEYS *`), sorted.
    pub fn keys(&self) -> Vec<String> {
        let Resp::Array(Some(items)) = self.command(&["KEYS", "*"]) else {
            panic!("KEYS * gave no array");
        };
        let mut keys: Vec<String> = items
            .into_iter()
            .map(|item| match item {
                Resp::Bulk(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
                other => panic!("KEYS * gave {other:?}"),
            })
            .collect();
        keys.sort();
        keys
    }

    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if !self.is_running() {
                self.stop();
                return Err(self.read_log());
            }
            let answer = query(self.port, &[b"PING"], Duration::from_millis(500));
            if matches!(answer, Ok(Resp::Simple(pong)) if pong == "PONG") {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.stop();
                return Err(format!(
                    "(no PONG within {START_TIMEOUT:?})\n{}",
                    self.read_log()
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn read_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A RESP reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resp {
    /// `+OK`
    Simple(String),
    /// `-ERR ...`
    Error(String),
    /// `:1`
    Integer(i64),
    /// `$3\r\nabc` (`None`: the null bulk string, a missing key)
    Bulk(Option<Vec<u8>>),
    /// `*2 ...` (`None`: the null array)
    Array(Option<Vec<Resp>>),
}

fn spawn(port: u16, log: &PathBuf) -> Child {
    let log_file = File::create(log)
        .unwrap_or_else(|error| panic!("cannot create {}: {error}", log.display()));
    let log_err = log_file
        .try_clone()
        .unwrap_or_else(|error| panic!("cannot share {}: {error}", log.display()));
    let result = Command::new("redis-server")
        .args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1"])
        .args(["--save", ""])
        .args(["--appendonly", "no"])
        .args(["--dir", &std::env::temp_dir().to_string_lossy()])
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .spawn();
    if result.is_err() {
        let _ = std::fs::remove_file(log);
    }
    match result {
        Ok(child) => child,
        Err(error) if error.kind() == io::ErrorKind::NotFound => panic!(
            "redis-server is not on PATH: these tests need a real Redis. Install it \
             (Debian: `apt-get install redis-server`) or run `scripts/test`, which does"
        ),
        Err(error) => panic!("cannot start redis-server: {error}"),
    }
}

/// A port of `127.0.0.1` that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|error| panic!("cannot bind a loopback port: {error}"));
    listener
        .local_addr()
        .unwrap_or_else(|error| panic!("no local address: {error}"))
        .port()
}

fn query(port: u16, args: &[&[u8]], timeout: Duration) -> io::Result<Resp> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut request = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        request.extend_from_slice(arg);
        request.extend_from_slice(b"\r\n");
    }
    stream.write_all(&request)?;
    read_reply(&mut BufReader::new(stream), 0)
}

fn read_reply(reader: &mut impl BufRead, depth: usize) -> io::Result<Resp> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    if depth > 16 {
        return Err(bad("a reply nested too deep"));
    }
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let line = line
        .strip_suffix("\r\n")
        .ok_or_else(|| bad("a reply line without CRLF"))?;
    let (kind, rest) = line
        .split_at_checked(1)
        .ok_or_else(|| bad("an empty reply"))?;
    let number = || rest.parse::<i64>().map_err(|_| bad("a bad length"));
    Ok(match kind {
        "+" => Resp::Simple(rest.to_owned()),
        "-" => Resp::Error(rest.to_owned()),
        ":" => Resp::Integer(number()?),
        "$" => match usize::try_from(number()?) {
            Err(_) => Resp::Bulk(None),
            Ok(len) => {
                let mut body = vec![0; len + 2];
                reader.read_exact(&mut body)?;
                body.truncate(len);
                Resp::Bulk(Some(body))
            }
        },
        "*" => match usize::try_from(number()?) {
            Err(_) => Resp::Array(None),
            Ok(len) => {
                let mut items = Vec::with_capacity(len.min(1024));
                for _ in 0..len {
                    items.push(read_reply(reader, depth + 1)?);
                }
                Resp::Array(Some(items))
            }
        },
        _ => return Err(bad("an unknown reply type")),
    })
}
