//! Getting encoded records to a log daemon, and counting every one that
//! does not get there.
//!
//! The `syslog` crate neither reconnects nor frames TCP messages (its issues
//! #21 and #63), yet log daemons restart (rsyslog on rotation, journald on
//! upgrade) and central servers go away. So each [`Sender`] puts a bounded
//! queue in front of one thread that does the I/O: the caller never blocks,
//! the thread reconnects with exponential backoff (100 ms doubling up to
//! 5 s), and every record that is not written is counted and announced to
//! the receiver itself by a `lost` record ("hostscope export lost N
//! events"). Every record carries a sequence id, taken when it is offered to
//! the queue, so a receiver also sees gaps.
//!
//! What reaching the daemon means differs by transport:
//! - unix datagrams (`/dev/log`, journald): a datagram is taken whole or not
//!   at all, so a record is retried until the daemon takes it; none is lost
//!   while the daemon restarts, as long as the queue holds the newer ones.
//! - UDP: sent, never acknowledged. A refused datagram (ICMP port
//!   unreachable) is only reported on a later send, so each such error counts
//!   in [`Stats::failed`] for one lost record.
//! - TCP: the record whose write fails is written again on a new connection.
//!   A record in flight when the peer dies may therefore be duplicated or
//!   lost, and TCP cannot tell which: each failed write counts in
//!   [`Stats::failed`]. A peer that closed the connection in good order is
//!   noticed before the next write, so nothing is written into it. What a
//!   daemon's kernel acknowledged but the daemon never read before it
//!   stopped is lost unseen: TCP acknowledges receipt, not reading (RELP
//!   exists for that). The receiver sees the gap in the sequence ids.
//!
//! The encoding is the caller's ([`Encode`]): this module frames and sends
//! bytes and knows nothing of RFC 3164, RFC 5424 or the journal's fields.

use std::fmt;
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use super::format::truncate;
use super::record::{Record, Severity};

/// The journal's native-protocol socket, where `journald` sends.
pub const JOURNALD_SOCKET: &str = "/run/systemd/journal/socket";

/// The longest UDP message we send, in bytes: what RFC 5426 (section 3.2)
/// says every receiver SHOULD accept.
const UDP_MAX: usize = 2048;

/// Where a message refused by `/dev/log` as too long (EMSGSIZE: longer than
/// our socket's send buffer, about 200 KiB by default) is cut before the one
/// retry, in bytes: rsyslog's default maximum message size, beyond which it
/// would cut the message itself.
const UNIX_RETRY_MAX: usize = 8192;

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one write may block on a daemon that does not read, before a
/// unix datagram is offered again or a TCP connection is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// The least time the idle thread sleeps between looks for losses to
/// report, so that a zero `report_every` cannot make it spin.
const IDLE_WAKE_MIN: Duration = Duration::from_millis(100);

const FORMS: &str = "unix:///PATH, udp://HOST:PORT, tcp://HOST:PORT, journald or journald:///PATH";

/// Where records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A syslog daemon's local datagram socket, usually `/dev/log`.
    Unix(PathBuf),
    /// A syslog server over UDP: `host:port` as the user gave it, resolved
    /// again whenever a send fails.
    Udp(String),
    /// A syslog server over TCP with octet-counted framing (RFC 6587
    /// section 3.4.1): `host:port` as the user gave it.
    Tcp(String),
    /// The journal's native-protocol datagram socket, [`JOURNALD_SOCKET`]
    /// unless a test points it elsewhere.
    Journald(PathBuf),
}

/// Why a destination URL was rejected. Each message quotes the URL and
/// lists the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// Neither `journald` nor a `unix`, `udp`, `tcp` or `journald` URL.
    #[error("{url:?} is not a log destination (accepted: {FORMS})")]
    Scheme { url: String },
    /// A socket path that is empty or relative.
    #[error("{url:?} needs an absolute socket path, as in unix:///dev/log (accepted: {FORMS})")]
    Path { url: String },
    /// Not `HOST:PORT` with a port from 1 to 65535.
    #[error(
        "{url:?} needs HOST:PORT with a port from 1 to 65535 and an IPv6 address in brackets, as in udp://[::1]:514 (accepted: {FORMS})"
    )]
    HostPort { url: String },
}

impl FromStr for Destination {
    type Err = DestinationError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        if url == "journald" {
            return Ok(Destination::Journald(PathBuf::from(JOURNALD_SOCKET)));
        }
        let url_owned = || url.to_owned();
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| DestinationError::Scheme { url: url_owned() })?;
        let path = || {
            if rest.len() > 1 && rest.starts_with('/') {
                Ok(PathBuf::from(rest))
            } else {
                Err(DestinationError::Path { url: url_owned() })
            }
        };
        let host_port = || {
            if is_host_port(rest) {
                Ok(rest.to_owned())
            } else {
                Err(DestinationError::HostPort { url: url_owned() })
            }
        };
        match scheme {
            "unix" => path().map(Destination::Unix),
            "journald" => path().map(Destination::Journald),
            "udp" => host_port().map(Destination::Udp),
            "tcp" => host_port().map(Destination::Tcp),
            _ => Err(DestinationError::Scheme { url: url_owned() }),
        }
    }
}

/// `HOST:PORT`, or `[IPV6]:PORT`; the host is checked for its characters
/// only, since whether it resolves may change while we run.
fn is_host_port(text: &str) -> bool {
    let (host, port) = match text.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once("]:") {
            Some((address, port)) if address.parse::<Ipv6Addr>().is_ok() => (address, port),
            _ => return false,
        },
        None => match text.rsplit_once(':') {
            // A bare IPv6 address leaves no way to tell its last group from a port.
            Some((host, port)) if !host.contains(':') => (host, port),
            _ => return false,
        },
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    let port_ok = !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p != 0);
    host_ok && port_ok
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Unix(path) => write!(f, "unix://{}", path.display()),
            Destination::Udp(host_port) => write!(f, "udp://{host_port}"),
            Destination::Tcp(host_port) => write!(f, "tcp://{host_port}"),
            Destination::Journald(path) if path == Path::new(JOURNALD_SOCKET) => {
                f.write_str("journald")
            }
            Destination::Journald(path) => write!(f, "journald://{}", path.display()),
        }
    }
}

/// Writes one record, with its sequence id (1, 2, …), into the buffer as
/// one message, unframed. The buffer arrives empty.
pub type Encode = Box<dyn Fn(&Record, u64, &mut Vec<u8>) + Send>;

/// Counters of one [`Sender`], in records. Once [`Sender::close`] has
/// returned, `sent + dropped` is the number of records given to
/// [`Sender::send`]; the `lost` records the sender adds count in neither.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records written to the destination.
    pub sent: u64,
    /// Records never written: the queue was full, the destination could
    /// not take them (too long for journald, or the encoder panicked), or
    /// they were still waiting when [`Sender::close`] ran out of time.
    pub dropped: u64,
    /// Writes that failed on a connection: each may have lost a record
    /// already written into it (TCP, UDP). The record being written is
    /// written again, so it may also count in `sent`.
    pub failed: u64,
    /// Connections made after a connection attempt or a connection failed.
    pub reconnects: u64,
}

/// Sends records to one destination from a thread of its own.
///
/// Dropping a `Sender` without [`Sender::close`] discards what is still
/// queued.
pub struct Sender {
    queue: Option<SyncSender<(u64, Record)>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Sender {
    /// Starts the sender thread. At most `queue` records wait for it;
    /// `report_every` is the longest a loss goes unannounced (while the
    /// destination takes records) before a `lost` record is sent.
    ///
    /// Nothing is connected yet: the destination is first tried with the
    /// first record, and trouble shows in [`Sender::stats`]. If the system
    /// cannot start a thread, every record is counted as dropped.
    pub fn start(
        destination: Destination,
        encode: Encode,
        queue: usize,
        report_every: Duration,
    ) -> Sender {
        let (queue_tx, queue_rx) = mpsc::sync_channel(queue);
        let shared = Arc::new(Shared::default());
        let worker = Worker {
            destination,
            encode,
            shared: Arc::clone(&shared),
            report_every,
            conn: None,
            backoff: BACKOFF_MIN,
            down: false,
            report_soon: false,
            reported: 0,
            last_report: Instant::now(),
        };
        // A failed spawn drops the receiver, so `send` counts each record
        // as dropped.
        let thread = thread::Builder::new()
            .name("export-sender".to_owned())
            .spawn(move || worker.run(&queue_rx))
            .ok();
        Sender {
            queue: Some(queue_tx),
            shared,
            thread,
        }
    }

    /// Queues `record` without blocking. It gets the next sequence id even
    /// when it is dropped, so receivers see the gap. Returns false if it was
    /// dropped because the queue is full.
    pub fn send(&self, record: Record) -> bool {
        let seq = self.shared.next_seq();
        let queued = self
            .queue
            .as_ref()
            .is_some_and(|queue| match queue.try_send((seq, record)) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            });
        if !queued {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
        queued
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Sends what is queued, for at most `timeout`, then a last `lost`
    /// record if anything was lost since the previous one, and stops.
    /// Records still waiting when time runs out count as dropped. Returns
    /// the final counters.
    pub fn close(mut self, timeout: Duration) -> Stats {
        self.stop(timeout);
        if let Some(thread) = self.thread.take() {
            // The thread catches the encoder's panics and raises none of its
            // own, so there is no error to pass on.
            let _ = thread.join();
        }
        self.shared.stats()
    }

    fn stop(&mut self, timeout: Duration) {
        // Without a representable deadline, the thread waits as long as it
        // takes.
        if let Some(deadline) = Instant::now().checked_add(timeout) {
            // Already set by `close` when this runs from `drop`.
            let _ = self.shared.deadline.set(deadline);
        }
        self.queue = None;
        if let Some(thread) = &self.thread {
            // Cuts short a backoff sleep.
            thread.thread().unpark();
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.stop(Duration::ZERO);
    }
}

/// What the caller's side and the thread share.
#[derive(Default)]
struct Shared {
    last_seq: AtomicU64,
    sent: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    reconnects: AtomicU64,
    /// Set by close: after it, queued records are dropped, not sent.
    deadline: OnceLock<Instant>,
}

impl Shared {
    fn next_seq(&self) -> u64 {
        self.last_seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn stats(&self) -> Stats {
        Stats {
            sent: self.sent.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
        }
    }

    fn lost(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }
}

/// An open connection to the destination.
enum Conn {
    Datagram(UnixDatagram),
    Udp(UdpSocket),
    Tcp(TcpStream),
}

/// Why a write did not happen.
enum Failure {
    /// The daemon did not take the datagram in time; the socket is fine.
    Busy,
    /// Too long for the socket (EMSGSIZE).
    TooBig,
    /// The connection is unusable. `lost`: the error may mean an earlier
    /// record was lost with it.
    Broken { lost: bool },
}

/// The sender thread's state.
struct Worker {
    destination: Destination,
    encode: Encode,
    shared: Arc<Shared>,
    report_every: Duration,
    conn: Option<Conn>,
    /// The next pause after a failure.
    backoff: Duration,
    /// A connection attempt or a connection failed since the last
    /// connection was made: the next one is a reconnect.
    down: bool,
    /// A reconnect happened: losses are announced now, not at the period.
    report_soon: bool,
    /// Losses (dropped + failed) already announced.
    reported: u64,
    last_report: Instant,
}

impl Worker {
    fn run(mut self, queue: &Receiver<(u64, Record)>) {
        let mut buf = Vec::new();
        loop {
            match queue.recv_timeout(self.wait()) {
                Ok((seq, record)) => {
                    let counter = if self.send_record(&record, seq, &mut buf) {
                        &self.shared.sent
                    } else {
                        &self.shared.dropped
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Err(RecvTimeoutError::Timeout) => {}
                // Closed, and everything queued has been taken.
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.report(&mut buf, false);
        }
        self.report(&mut buf, true);
    }

    /// How long to wait for the next record before looking at losses.
    fn wait(&self) -> Duration {
        if self.shared.lost() > self.reported {
            (self.last_report + self.report_every).saturating_duration_since(Instant::now())
        } else {
            // Only `send` adds losses while this thread waits, and it does
            // so when the queue is full, which wakes this thread anyway; the
            // periodic look is for an increment that lands just after ours.
            self.report_every.max(IDLE_WAKE_MIN)
        }
    }

    /// Sends a `lost` record if losses are unannounced and it is time: the
    /// period has passed, a reconnect just happened, or `closing`.
    fn report(&mut self, buf: &mut Vec<u8>, closing: bool) {
        let lost = self.shared.lost();
        let due = closing || self.report_soon || self.last_report.elapsed() >= self.report_every;
        self.report_soon = false;
        if lost <= self.reported || !due {
            return;
        }
        // Also after a failed attempt, so a report that cannot be written
        // is not retried in a loop.
        self.last_report = Instant::now();
        let newly = lost - self.reported;
        let record = Record::new(
            SystemTime::now(),
            Severity::Warning,
            "lost",
            format!("hostscope export lost {newly} events (queue full or destination down)"),
        )
        .field("lost", newly.to_string());
        let seq = self.shared.next_seq();
        if self.send_record(&record, seq, buf) {
            self.reported = lost;
        }
    }

    /// Encodes and writes one record; false if it was not written.
    fn send_record(&mut self, record: &Record, seq: u64, buf: &mut Vec<u8>) -> bool {
        if self.past_deadline() {
            return false;
        }
        buf.clear();
        // A formatter bug on one odd record must cost that record, not the
        // export; the panic message still reaches stderr.
        let encoded = panic::catch_unwind(AssertUnwindSafe(|| (self.encode)(record, seq, buf)));
        encoded.is_ok() && self.deliver(buf)
    }

    /// Writes one message, reconnecting and retrying until it is written
    /// or the close deadline passes; false if it was not written.
    fn deliver(&mut self, msg: &mut Vec<u8>) -> bool {
        if matches!(self.destination, Destination::Udp(_)) {
            truncate(msg, UDP_MAX);
        }
        let mut cut_once = false;
        while !self.past_deadline() {
            let conn = match self.conn.take() {
                Some(conn) => conn,
                None => match self.connect() {
                    Ok(conn) => {
                        if self.down {
                            self.down = false;
                            self.report_soon = true;
                            self.shared.reconnects.fetch_add(1, Ordering::Relaxed);
                        }
                        conn
                    }
                    Err(_) => {
                        self.down = true;
                        self.pause();
                        continue;
                    }
                },
            };
            match self.write(&conn, msg) {
                Ok(()) => {
                    self.conn = Some(conn);
                    self.backoff = BACKOFF_MIN;
                    return true;
                }
                // The write timeout was the wait.
                Err(Failure::Busy) => self.conn = Some(conn),
                Err(Failure::TooBig) => {
                    self.conn = Some(conn);
                    // The journal's binary fields cannot be cut; a syslog
                    // line can, once.
                    if cut_once || !matches!(self.destination, Destination::Unix(_)) {
                        return false;
                    }
                    truncate(msg, UNIX_RETRY_MAX);
                    cut_once = true;
                }
                Err(Failure::Broken { lost }) => {
                    if lost {
                        self.shared.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    self.down = true;
                    self.pause();
                }
            }
        }
        false
    }

    fn connect(&self) -> io::Result<Conn> {
        match &self.destination {
            Destination::Unix(path) | Destination::Journald(path) => {
                let socket = UnixDatagram::unbound()?;
                socket.connect(path)?;
                socket.set_write_timeout(Some(WRITE_TIMEOUT))?;
                Ok(Conn::Datagram(socket))
            }
            Destination::Udp(host_port) => {
                let peer = host_port.to_socket_addrs()?.next().ok_or_else(no_address)?;
                let local = match peer {
                    SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
                    SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
                };
                let socket = UdpSocket::bind(local)?;
                socket.connect(peer)?;
                socket.set_write_timeout(Some(WRITE_TIMEOUT))?;
                Ok(Conn::Udp(socket))
            }
            Destination::Tcp(host_port) => {
                let timeout = self.clamp_to_deadline(CONNECT_TIMEOUT);
                let mut last_error = no_address();
                for peer in host_port.to_socket_addrs()? {
                    match TcpStream::connect_timeout(&peer, timeout) {
                        Ok(stream) => {
                            // Nagle's algorithm may batch small records into
                            // one segment: throughput matters more than a
                            // few milliseconds.
                            stream.set_nodelay(false)?;
                            stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
                            return Ok(Conn::Tcp(stream));
                        }
                        Err(error) => last_error = error,
                    }
                }
                Err(last_error)
            }
        }
    }

    fn write(&self, conn: &Conn, msg: &[u8]) -> Result<(), Failure> {
        let closing = self.shared.deadline.get().is_some();
        let timeout = Some(self.clamp_to_deadline(WRITE_TIMEOUT));
        match conn {
            Conn::Datagram(socket) => {
                if closing {
                    socket
                        .set_write_timeout(timeout)
                        .map_err(|_| Failure::Broken { lost: false })?;
                }
                socket.send(msg).map(drop).map_err(|error| {
                    match (error.kind(), error.raw_os_error()) {
                        (io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut, _) => Failure::Busy,
                        (_, Some(libc::EMSGSIZE)) => Failure::TooBig,
                        // Mostly the daemon restarting (ECONNREFUSED,
                        // ENOENT, ENOTCONN); a new socket costs nothing.
                        _ => Failure::Broken { lost: false },
                    }
                })
            }
            Conn::Udp(socket) => {
                if closing {
                    socket
                        .set_write_timeout(timeout)
                        .map_err(|_| Failure::Broken { lost: false })?;
                }
                socket.send(msg).map(drop).map_err(|error| {
                    match (error.kind(), error.raw_os_error()) {
                        (io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut, _) => Failure::Busy,
                        // An earlier datagram met a closed port.
                        (_, Some(libc::ECONNREFUSED)) => Failure::Broken { lost: true },
                        _ => Failure::Broken { lost: false },
                    }
                })
            }
            Conn::Tcp(stream) => {
                if peer_closed(stream) {
                    return Err(Failure::Broken { lost: false });
                }
                if closing {
                    stream
                        .set_write_timeout(timeout)
                        .map_err(|_| Failure::Broken { lost: false })?;
                }
                // RFC 6587 section 3.4.1: MSG-LEN SP SYSLOG-MSG, in one write
                // so a frame is not split across segments needlessly.
                let mut frame = Vec::with_capacity(msg.len() + 12);
                frame.extend_from_slice(itoa::Buffer::new().format(msg.len()).as_bytes());
                frame.push(b' ');
                frame.extend_from_slice(msg);
                // A timeout may have left half a frame: the stream is no
                // longer in step either way.
                (&*stream)
                    .write_all(&frame)
                    .map_err(|_| Failure::Broken { lost: true })
            }
        }
    }

    /// Sleeps for the current backoff, or until the close deadline, and
    /// doubles the backoff.
    fn pause(&mut self) {
        let wake = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        loop {
            let wake = match self.shared.deadline.get() {
                Some(deadline) => wake.min(*deadline),
                None => wake,
            };
            let now = Instant::now();
            if now >= wake {
                return;
            }
            // `close` unparks; the channel's own wakeups only shorten a turn.
            thread::park_timeout(wake - now);
        }
    }

    fn past_deadline(&self) -> bool {
        self.shared
            .deadline
            .get()
            .is_some_and(|deadline| Instant::now() >= *deadline)
    }

    /// `limit`, or less when the close deadline is nearer; never zero,
    /// which socket timeouts refuse.
    fn clamp_to_deadline(&self, limit: Duration) -> Duration {
        let left = match self.shared.deadline.get() {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => limit,
        };
        left.clamp(Duration::from_millis(1), limit)
    }
}

fn no_address() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "the host name has no address")
}

/// Whether the TCP peer has closed the connection, read without blocking.
/// Writing into a connection the peer closed loses that record silently
/// (the peer answers with a reset only afterwards), so this is asked before
/// every write. Syslog receivers send nothing over plain TCP (RFC 6587 has
/// no replies), so whatever they do send is read and discarded.
fn peer_closed(stream: &TcpStream) -> bool {
    let mut scratch = [0u8; 256];
    loop {
        // SAFETY: recv writes at most `scratch.len()` bytes into `scratch`,
        // which is valid for writes; the descriptor is open for as long as
        // `stream` is borrowed.
        let n = unsafe {
            libc::recv(
                stream.as_raw_fd(),
                scratch.as_mut_ptr().cast(),
                scratch.len(),
                libc::MSG_DONTWAIT,
            )
        };
        match n {
            0 => return true,
            n if n > 0 => {}
            _ => {
                let error = io::Error::last_os_error();
                match error.kind() {
                    io::ErrorKind::Interrupted => {}
                    io::ErrorKind::WouldBlock => return false,
                    // A reset or another error: the write would fail too.
                    _ => return true,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::fs;
    use std::io::{BufRead, BufReader, Read};
    use std::net::TcpListener;
    use std::sync::mpsc::Sender as ChannelSender;

    use super::super::format::TRUNCATION_MARKER;
    use super::*;

    /// A directory of its own under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir()
                .join(format!("hostscope-transport-{}-{name}", std::process::id()));
            // Left over from an earlier, killed run with the same pid.
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
            TempDir(dir)
        }

        fn socket(&self) -> PathBuf {
            self.0.join("log.sock")
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// "SEQ MSGID [LOST ]MESSAGE".
    fn text() -> Encode {
        Box::new(|record, seq, out| {
            out.extend_from_slice(format!("{seq} {} ", record.msgid).as_bytes());
            if let Some(lost) = record.get("lost") {
                out.extend_from_slice(lost);
                out.push(b' ');
            }
            out.extend_from_slice(&record.message);
        })
    }

    fn event(i: usize) -> Record {
        Record::new(
            SystemTime::now(),
            Severity::Notice,
            "exec",
            format!("event {i}"),
        )
    }

    /// A received message, split as [`text`] wrote it.
    #[derive(Debug)]
    struct Line {
        seq: u64,
        msgid: String,
        rest: String,
    }

    fn parse(message: &[u8]) -> Line {
        let text = String::from_utf8(message.to_vec())
            .unwrap_or_else(|e| panic!("message is not UTF-8: {e}"));
        let mut parts = text.splitn(3, ' ');
        let seq = parts.next().and_then(|s| s.parse().ok());
        let msgid = parts.next();
        let rest = parts.next();
        match (seq, msgid, rest) {
            (Some(seq), Some(msgid), Some(rest)) => Line {
                seq,
                msgid: msgid.to_owned(),
                rest: rest.to_owned(),
            },
            _ => panic!("not a test message: {text:?}"),
        }
    }

    fn bind_unix(path: &Path) -> UnixDatagram {
        let socket = UnixDatagram::bind(path)
            .unwrap_or_else(|e| panic!("cannot bind {}: {e}", path.display()));
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("set a read timeout");
        socket
    }

    fn recv_unix(socket: &UnixDatagram) -> Line {
        let mut buf = vec![0; 65536];
        let n = socket
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no datagram within 5 s: {e}"));
        parse(&buf[..n])
    }

    #[test]
    fn parses_destinations() {
        let good = [
            ("unix:///dev/log", Destination::Unix("/dev/log".into())),
            (
                "unix:///tmp/x/sock",
                Destination::Unix("/tmp/x/sock".into()),
            ),
            (
                "udp://127.0.0.1:514",
                Destination::Udp("127.0.0.1:514".into()),
            ),
            ("udp://[::1]:514", Destination::Udp("[::1]:514".into())),
            (
                "tcp://localhost:6514",
                Destination::Tcp("localhost:6514".into()),
            ),
            (
                "tcp://log-1.example.org:601",
                Destination::Tcp("log-1.example.org:601".into()),
            ),
            ("journald", Destination::Journald(JOURNALD_SOCKET.into())),
            (
                "journald:///tmp/j.sock",
                Destination::Journald("/tmp/j.sock".into()),
            ),
        ];
        for (url, want) in good {
            let got: Destination = url
                .parse()
                .unwrap_or_else(|e| panic!("{url:?} rejected: {e}"));
            assert_eq!(got, want, "{url:?}");
            assert_eq!(got.to_string(), url, "{url:?} does not print back");
        }
        let bad = [
            "",
            "/dev/log",
            "dev/log",
            "journal",
            "http://host:80",
            "unix://",
            "unix:///",
            "unix://dev/log",
            "journald://relative",
            "udp://host",
            "udp://host:",
            "udp://:514",
            "udp://host:0",
            "udp://host:65536",
            "udp://host:+514",
            "udp://::1:514",
            "udp://[::1]514",
            "udp://[::1]",
            "udp://[localhost]:514",
            "udp://ho st:514",
            "tcp://host:514/path",
        ];
        for url in bad {
            let error = url
                .parse::<Destination>()
                .expect_err(&format!("{url:?} accepted"));
            let message = error.to_string();
            assert!(message.contains(&format!("{url:?}")), "{message}");
            assert!(message.contains("udp://HOST:PORT"), "{message}");
        }
    }

    #[test]
    fn unix_datagrams_arrive_in_order() {
        let dir = TempDir::new("order");
        let listener = bind_unix(&dir.socket());
        let sender = Sender::start(
            Destination::Unix(dir.socket()),
            text(),
            128,
            Duration::from_secs(1),
        );
        for i in 0..100 {
            assert!(sender.send(event(i)), "record {i} dropped");
        }
        for i in 0..100 {
            let line = recv_unix(&listener);
            assert_eq!((line.seq, line.rest), (i as u64 + 1, format!("event {i}")));
        }
        let stats = sender.close(Duration::from_secs(1));
        assert_eq!(
            stats,
            Stats {
                sent: 100,
                ..Stats::default()
            }
        );
    }

    #[test]
    fn unix_reconnects_when_the_daemon_comes_and_restarts() {
        let dir = TempDir::new("reconnect");
        let path = dir.socket();
        let sender = Sender::start(
            Destination::Unix(path.clone()),
            text(),
            64,
            Duration::from_secs(1),
        );
        for i in 0..20 {
            assert!(sender.send(event(i)), "record {i} dropped");
        }
        thread::sleep(Duration::from_millis(300));
        let listener = bind_unix(&path);
        for i in 20..40 {
            assert!(sender.send(event(i)), "record {i} dropped");
        }
        for i in 0..40 {
            assert_eq!(recv_unix(&listener).rest, format!("event {i}"));
        }

        // The daemon restarts: its old socket refuses, then there is none.
        drop(listener);
        fs::remove_file(&path).expect("remove the socket");
        for i in 40..50 {
            assert!(sender.send(event(i)), "record {i} dropped");
        }
        thread::sleep(Duration::from_millis(150));
        let listener = bind_unix(&path);
        for i in 40..50 {
            assert_eq!(recv_unix(&listener).rest, format!("event {i}"));
        }

        let stats = sender.close(Duration::from_secs(1));
        assert_eq!((stats.sent, stats.dropped, stats.failed), (50, 0, 0));
        assert!(stats.reconnects >= 2, "{stats:?}");
    }

    /// Accepts one connection on `listener` (within 5 s) and reads RFC 6587
    /// octet-counted frames until `limit` frames or end of stream, passing
    /// each on; then drops the connection and the listener.
    fn serve_tcp(
        listener: TcpListener,
        limit: usize,
        frames: ChannelSender<Line>,
    ) -> JoinHandle<()> {
        thread::spawn(move || {
            listener
                .set_nonblocking(true)
                .expect("nonblocking listener");
            let give_up = Instant::now() + Duration::from_secs(5);
            let stream = loop {
                match listener.accept() {
                    Ok((stream, _)) => break stream,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < give_up => {
                        thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("no connection within 5 s: {e}"),
                }
            };
            stream.set_nonblocking(false).expect("blocking stream");
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("set a read timeout");
            let mut reader = BufReader::new(stream);
            for _ in 0..limit {
                let mut length = Vec::new();
                match reader.read_until(b' ', &mut length) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) => panic!("reading a frame length: {e}"),
                }
                let length: usize = std::str::from_utf8(&length)
                    .ok()
                    .and_then(|l| l.trim_end().parse().ok())
                    .unwrap_or_else(|| panic!("bad frame length {length:?}"));
                let mut message = vec![0; length];
                reader
                    .read_exact(&mut message)
                    .unwrap_or_else(|e| panic!("reading a {length}-byte frame: {e}"));
                if frames.send(parse(&message)).is_err() {
                    return;
                }
            }
        })
    }

    #[test]
    fn tcp_frames_arrive_in_order_and_survive_a_server_restart() {
        const FIRST: usize = 10_000;
        const MORE: usize = 200;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let address = listener.local_addr().expect("local address");
        let (frames_tx, frames) = mpsc::channel();
        let server = serve_tcp(listener, FIRST, frames_tx.clone());
        let sender = Sender::start(
            Destination::Tcp(address.to_string()),
            text(),
            FIRST + MORE,
            Duration::from_millis(200),
        );
        for i in 0..FIRST {
            assert!(sender.send(event(i)), "record {i} dropped");
        }
        server.join().expect("the first server failed");
        let first: Vec<Line> = frames.try_iter().collect();
        assert_eq!(first.len(), FIRST);
        for (i, line) in first.iter().enumerate() {
            assert_eq!(
                (line.seq, &line.rest),
                (i as u64 + 1, &format!("event {i}"))
            );
        }

        // The server is gone (its connection closed); it comes back on the
        // same port while records keep coming.
        for i in FIRST..FIRST + MORE / 2 {
            assert!(sender.send(event(i)), "record {i} dropped");
        }
        thread::sleep(Duration::from_millis(150));
        let listener = TcpListener::bind(address).expect("bind the same port again");
        let server = serve_tcp(listener, usize::MAX, frames_tx);
        for i in FIRST + MORE / 2..FIRST + MORE {
            assert!(sender.send(event(i)), "record {i} dropped");
        }
        let stats = sender.close(Duration::from_secs(5));
        server.join().expect("the second server failed");
        let second: Vec<Line> = frames.try_iter().collect();

        let total = (FIRST + MORE) as u64;
        assert!(
            stats.sent + stats.dropped + stats.failed >= total,
            "{stats:?}"
        );
        assert!(stats.reconnects >= 1, "{stats:?}");
        // Per connection; `lost` records take their ids when they are sent.
        let seqs: Vec<u64> = second
            .iter()
            .filter(|line| line.msgid == "exec")
            .map(|line| line.seq)
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "out of order: {seqs:?}"
        );
        let events: HashSet<&str> = first
            .iter()
            .chain(&second)
            .filter(|line| line.msgid == "exec")
            .map(|line| line.rest.as_str())
            .collect();
        let last = format!("event {}", FIRST + MORE - 1);
        assert!(events.contains(last.as_str()), "{last} did not arrive");
        let missing = total - events.len() as u64;
        assert!(
            missing <= stats.failed + stats.dropped,
            "{missing} records lost silently: {stats:?}"
        );
    }

    #[test]
    fn a_full_queue_drops_and_reports_what_it_dropped() {
        let dir = TempDir::new("overflow");
        let path = dir.socket();
        let sender = Sender::start(
            Destination::Unix(path.clone()),
            text(),
            10,
            Duration::from_millis(100),
        );
        let queued = (0..100).filter(|&i| sender.send(event(i))).count();
        let dropped = sender.stats().dropped;
        // The thread holds one record, or has not taken one yet.
        assert!((89..=90).contains(&dropped), "dropped {dropped}");
        assert_eq!(queued as u64, 100 - dropped);

        let listener = bind_unix(&path);
        let mut events = 0;
        let mut reported = None;
        while events < queued || reported.is_none() {
            let line = recv_unix(&listener);
            match line.msgid.as_str() {
                "exec" => events += 1,
                "lost" => reported = Some(line.rest),
                other => panic!("unexpected msgid {other:?}"),
            }
        }
        let reported = reported.unwrap_or_default();
        assert!(
            reported.starts_with(&format!("{dropped} hostscope export lost {dropped} events")),
            "{reported:?}"
        );
        let stats = sender.close(Duration::from_secs(1));
        assert_eq!((stats.sent, stats.dropped), (queued as u64, dropped));
    }

    #[test]
    fn close_gives_up_on_a_dead_destination_in_time() {
        let dir = TempDir::new("deadline");
        let sender = Sender::start(
            Destination::Unix(dir.socket()),
            text(),
            10,
            Duration::from_secs(1),
        );
        for i in 0..5 {
            assert!(sender.send(event(i)), "record {i} dropped");
        }
        let started = Instant::now();
        let stats = sender.close(Duration::from_millis(200));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!((stats.sent, stats.dropped), (0, 5));
    }

    #[test]
    fn an_encoder_panic_costs_one_record() {
        let dir = TempDir::new("panic");
        let listener = bind_unix(&dir.socket());
        let encode = text();
        let sender = Sender::start(
            Destination::Unix(dir.socket()),
            Box::new(move |record, seq, out| {
                assert_ne!(record.message, b"boom", "a formatter bug");
                encode(record, seq, out);
            }),
            10,
            Duration::from_secs(1),
        );
        sender.send(Record::new(
            SystemTime::now(),
            Severity::Notice,
            "exec",
            "boom",
        ));
        sender.send(event(1));
        let line = recv_unix(&listener);
        assert_eq!((line.seq, line.rest.as_str()), (2, "event 1"));
        let stats = sender.close(Duration::from_secs(1));
        assert_eq!((stats.sent, stats.dropped), (1, 1));
    }

    #[test]
    fn oversize_datagrams_are_cut_for_syslog_and_dropped_for_the_journal() {
        // Far beyond a unix socket's default send buffer (about 200 KiB).
        let huge = "x".repeat(4 << 20);
        let dir = TempDir::new("oversize");
        let syslog_path = dir.0.join("syslog.sock");
        let journal_path = dir.0.join("journal.sock");
        let syslog = bind_unix(&syslog_path);
        let journal = bind_unix(&journal_path);
        let syslog_sender = Sender::start(
            Destination::Unix(syslog_path),
            text(),
            10,
            Duration::from_secs(1),
        );
        let journal_sender = Sender::start(
            Destination::Journald(journal_path),
            text(),
            10,
            Duration::from_secs(1),
        );
        for sender in [&syslog_sender, &journal_sender] {
            sender.send(Record::new(
                SystemTime::now(),
                Severity::Notice,
                "exec",
                huge.as_str(),
            ));
            sender.send(event(1));
        }

        let mut buf = vec![0; UNIX_RETRY_MAX * 2];
        let n = syslog.recv(&mut buf).expect("no datagram within 5 s");
        assert!(n <= UNIX_RETRY_MAX, "{n} bytes");
        assert!(
            buf[..n].ends_with(TRUNCATION_MARKER.as_bytes()),
            "no marker"
        );
        assert_eq!(recv_unix(&syslog).rest, "event 1");
        let stats = syslog_sender.close(Duration::from_secs(1));
        assert_eq!((stats.sent, stats.dropped), (2, 0));

        let line = recv_unix(&journal);
        assert_eq!((line.seq, line.rest.as_str()), (2, "event 1"));
        let stats = journal_sender.close(Duration::from_secs(1));
        assert_eq!((stats.sent, stats.dropped), (1, 1));
        let report = recv_unix(&journal);
        assert_eq!(report.msgid, "lost", "{report:?}");
        assert!(report.rest.starts_with("1 "), "{report:?}");
    }

    #[test]
    fn udp_messages_are_cut_to_fit() {
        let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback port");
        receiver
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("set a read timeout");
        let address = receiver.local_addr().expect("local address");
        let sender = Sender::start(
            Destination::Udp(address.to_string()),
            text(),
            10,
            Duration::from_secs(1),
        );
        sender.send(event(0));
        // 2 bytes a character: a cut at an odd offset would split one.
        let long = "é".repeat(2500);
        sender.send(Record::new(
            SystemTime::now(),
            Severity::Notice,
            "exec",
            long,
        ));

        let mut buf = vec![0; 65536];
        let n = receiver.recv(&mut buf).expect("no datagram within 5 s");
        let line = parse(&buf[..n]);
        assert_eq!((line.seq, line.rest.as_str()), (1, "event 0"));

        let n = receiver.recv(&mut buf).expect("no datagram within 5 s");
        let message = &buf[..n];
        assert!(n <= UDP_MAX, "{n} bytes");
        assert!(message.ends_with(TRUNCATION_MARKER.as_bytes()), "no marker");
        let line = parse(message);
        assert_eq!(line.seq, 2);
        assert!(line.rest.starts_with("éé"));

        let stats = sender.close(Duration::from_secs(1));
        assert_eq!((stats.sent, stats.dropped, stats.failed), (2, 0, 0));
    }
}
