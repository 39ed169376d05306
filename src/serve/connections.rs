//! The HTTP server's connections, bounded: a client must finish its request headers within
//! `header_timeout` of their first byte (slowloris), an idle keep-alive connection is closed
//! after `idle_timeout`, and at most `max_connections` are open — below the process's
//! descriptor limit, so the archive and the poller always have descriptors left. When the
//! limit is reached, the longest-idle connections are closed first, so a new request (a
//! health check) is still answered while thousands of idle clients hold connections.
//!
//! HTTP/1.1 through hyper (RFC 9112); graceful shutdown lets requests in flight finish.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How the server bounds its connections (`[server]` in feeds.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// From a request's first byte to the end of its headers.
    pub header_timeout: Duration,
    /// A keep-alive connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

/// Descriptors kept for everything but HTTP clients: the archive's files, the poller's
/// connections to sources, logs.
const RESERVED_DESCRIPTORS: u64 = 256;

/// Raises the soft limit on open descriptors to the hard one (what the unit's `LimitNOFILE`
/// grants), and returns how many client connections fit below it.
pub fn connections_that_fit() -> usize {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit write to and read from the struct passed in; nothing else.
        let soft = unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return 512;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = lim.rlim_max;
                }
            }
            lim.rlim_cur
        };
        let budget = soft.saturating_sub(RESERVED_DESCRIPTORS).max(soft / 2);
        usize::try_from(budget.min(1 << 20)).unwrap_or(1 << 20)
    }
    #[cfg(not(unix))]
    {
        1024
    }
}

/// One connection as the server sees it.
struct Conn {
    /// Milliseconds since `epoch` of the last byte read or written.
    last_activity: AtomicU64,
    /// When bytes of a request's head started arriving (ms since `epoch`, 0: none pending).
    head_started: AtomicU64,
    /// Requests being answered.
    in_flight: AtomicUsize,
    /// Set to close the connection now.
    kill: Notify,
    killed: AtomicBool,
    epoch: Instant,
}

impl Conn {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0
            || self.head_started.load(Ordering::Acquire) != 0
        {
            return None;
        }
        let last = self.last_activity.load(Ordering::Acquire);
        Some(Duration::from_millis(self.now_ms().saturating_sub(last)))
    }

    fn close(&self) {
        self.killed.store(true, Ordering::Release);
        self.kill.notify_one();
    }
}

/// The open connections, for eviction.
#[derive(Default)]
struct Registry {
    next: u64,
    open: HashMap<u64, Arc<Conn>>,
}

/// Serves `app` on `listener` within `limits` until `shutdown`, then lets requests in flight
/// finish (idle connections close at once).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let registry = Arc::new(Mutex::new(Registry::default()));
    let tracker = TaskTracker::new();
    let epoch = Instant::now();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(s) => s,
            Err(e) => {
                // out of descriptors (EMFILE/ENFILE) or a connection reset before accept:
                // make room and go on; never stop serving
                tracing::warn!("accepting a connection: {e}");
                evict_idle(&registry, 16);
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let open = lock(&registry).open.len();
        if open >= limits.max_connections {
            let wanted = (open + 1 - limits.max_connections).max(limits.max_connections / 64);
            if evict_idle(&registry, wanted) == 0 {
                // every connection is busy: this one cannot be served now
                tracing::warn!(
                    open,
                    "connection limit reached with no idle connection to close; refusing one"
                );
                drop(stream);
                continue;
            }
        }
        let _ = stream.set_nodelay(true);
        let conn = Arc::new(Conn {
            last_activity: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            kill: Notify::new(),
            killed: AtomicBool::new(false),
            epoch,
        });
        conn.last_activity.store(conn.now_ms(), Ordering::Release);
        let id = {
            let mut r = lock(&registry);
            r.next += 1;
            let id = r.next;
            r.open.insert(id, Arc::clone(&conn));
            id
        };
        let (app, registry, shutdown) = (app.clone(), Arc::clone(&registry), shutdown.clone());
        tracker.spawn(async move {
            serve_one(stream, peer, app, Arc::clone(&conn), limits, shutdown).await;
            lock(&registry).open.remove(&id);
        });
    }
    tracker.close();
    tracker.wait().await;
    Ok(())
}

fn lock(registry: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(|p| p.into_inner())
}

/// Closes up to `n` idle connections, longest idle first; returns how many.
fn evict_idle(registry: &Mutex<Registry>, n: usize) -> usize {
    let r = lock(registry);
    let mut idle: Vec<(Duration, &Arc<Conn>)> = r
        .open
        .values()
        .filter(|c| !c.killed.load(Ordering::Acquire))
        .filter_map(|c| c.idle_for().map(|d| (d, c)))
        .collect();
    idle.sort_by_key(|e| std::cmp::Reverse(e.0));
    let closing = idle.len().min(n);
    for (_, c) in idle.into_iter().take(closing) {
        c.close();
    }
    closing
}

async fn serve_one(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    app: Router,
    conn: Arc<Conn>,
    limits: ServerLimits,
    shutdown: CancellationToken,
) {
    let io = TokioIo::new(Tracked {
        inner: stream,
        conn: Arc::clone(&conn),
    });
    let service = {
        let conn = Arc::clone(&conn);
        // one per connection: each request clones the router inside `call`
        let app = TowerToHyperService::new(app);
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            // who is asking, for the routes only loopback may see (`public_status = false`)
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            // the head is complete: the header timeout no longer applies
            conn.head_started.store(0, Ordering::Release);
            conn.in_flight.fetch_add(1, Ordering::AcqRel);
            let done = InFlight(Arc::clone(&conn));
            let response = hyper::service::Service::call(&app, req);
            async move {
                let r = response.await;
                drop(done);
                r
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // both timeouts are the watchdog's below (a tick every 250 ms per connection): hyper's own
    // header timer is armed and reset on every request, which cost 304s measurably
    builder.header_read_timeout(None).keep_alive(true);
    let served = builder.serve_connection(io, service);
    tokio::pin!(served);
    let mut tick = tokio::time::interval(Duration::from_millis(250).min(limits.header_timeout));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut draining = false;
    loop {
        tokio::select! {
            r = served.as_mut() => {
                if let Err(e) = r {
                    tracing::trace!("connection ended: {e}");
                }
                return;
            }
            _ = conn.kill.notified() => return,
            _ = shutdown.cancelled(), if !draining => {
                draining = true;
                served.as_mut().graceful_shutdown();
            }
            _ = tick.tick() => {
                let now = conn.now_ms();
                let head = conn.head_started.load(Ordering::Acquire);
                if head != 0 && now.saturating_sub(head) > ms(limits.header_timeout) {
                    tracing::debug!("closing a connection that did not finish its request headers in time");
                    return;
                }
                if conn.idle_for().is_some_and(|d| d > limits.idle_timeout) {
                    return;
                }
            }
        }
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Counts a request as in flight until its response is ready.
struct InFlight(Arc<Conn>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        let now = self.0.now_ms();
        self.0.last_activity.store(now, Ordering::Release);
    }
}

/// A client socket that notes when bytes move, for the timeouts and for eviction.
struct Tracked {
    inner: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let now = self.conn.now_ms().max(1);
            self.conn.last_activity.store(now, Ordering::Release);
            // bytes while no request is being answered: a head is arriving
            if self.conn.in_flight.load(Ordering::Acquire) == 0 {
                let _ = self.conn.head_started.compare_exchange(
                    0,
                    now,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            let now = self.conn.now_ms();
            self.conn.last_activity.store(now, Ordering::Release);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            let now = self.conn.now_ms();
            self.conn.last_activity.store(now, Ordering::Release);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
