//! Test support: a real HTTP server on 127.0.0.1 serving fixture bytes, and a runner for the real
//! `gazette` binary against a config and archive in a temporary directory.

#![allow(
    dead_code,
    reason = "each test uses a different part of the support module"
)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

/// What the server sends for one request.
#[derive(Clone)]
pub enum Payload {
    Bytes(Vec<u8>),
    /// Chunks of zeros for as long as the client reads (bounded at 2 GiB / 60 s).
    Endless,
    /// Headers at once, then nothing for this long.
    Stall(Duration),
    /// The whole response after this long (to observe concurrency).
    Delayed(Duration, Vec<u8>),
}

/// One canned response.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub payload: Payload,
}

impl Reply {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            payload: Payload::Bytes(body.into()),
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![],
            payload: Payload::Bytes(format!("status {status}").into_bytes()),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn payload(mut self, payload: Payload) -> Reply {
        self.payload = payload;
        self
    }
}

#[derive(Default)]
struct Routes {
    /// Replies per path; the last one repeats.
    replies: HashMap<String, VecDeque<Reply>>,
    hits: HashMap<String, usize>,
    user_agents: Vec<String>,
    /// Every request's path and headers (names lower-cased), in order.
    requests: Vec<(String, HashMap<String, String>)>,
    /// Every request's path and body, in order.
    bodies: Vec<(String, Vec<u8>)>,
    in_flight: usize,
    peak_in_flight: usize,
}

/// A fixture server on 127.0.0.1, port chosen by the OS. Lives as long as the value.
pub struct FixtureServer {
    pub addr: SocketAddr,
    routes: Arc<Mutex<Routes>>,
    _runtime: tokio::runtime::Runtime,
}

impl FixtureServer {
    pub fn start() -> FixtureServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test runtime");
        let routes = Arc::new(Mutex::new(Routes::default()));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&routes));
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FixtureServer {
            addr,
            routes,
            _runtime: runtime,
        }
    }

    /// Always answer `path` with `reply`.
    pub fn route(&self, path: &str, reply: Reply) {
        self.sequence(path, vec![reply]);
    }

    /// The one story of `same-story.*` from two sources: `/wire.rss` and `/daily.json`.
    pub fn same_story(&self) {
        self.route(
            "/wire.rss",
            Reply::ok("application/rss+xml", fixture("same-story.rss")),
        );
        self.route(
            "/daily.json",
            Reply::ok("application/feed+json", fixture("same-story.json")),
        );
    }

    /// Answer `path` with these replies in turn; the last one repeats.
    pub fn sequence(&self, path: &str, replies: Vec<Reply>) {
        let mut r = self.routes.lock().expect("routes");
        r.replies.insert(path.to_string(), replies.into());
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.routes
            .lock()
            .expect("routes")
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// The headers of every request made to `path`, in order.
    pub fn requests(&self, path: &str) -> Vec<HashMap<String, String>> {
        let r = self.routes.lock().expect("routes");
        r.requests
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, h)| h.clone())
            .collect()
    }

    /// The bodies of every request made to `path`, in order.
    pub fn bodies(&self, path: &str) -> Vec<Vec<u8>> {
        let r = self.routes.lock().expect("routes");
        r.bodies
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// The most requests that were in flight at once (for `Payload::Delayed` replies).
    pub fn peak_in_flight(&self) -> usize {
        self.routes.lock().expect("routes").peak_in_flight
    }

    /// Starts counting the peak of requests in flight anew.
    pub fn reset_peak(&self) {
        let mut r = self.routes.lock().expect("routes");
        r.peak_in_flight = r.in_flight;
    }

    pub fn user_agents(&self) -> Vec<String> {
        self.routes.lock().expect("routes").user_agents.clone()
    }
}

async fn handle(State(routes): State<Arc<Mutex<Routes>>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let req = Request::from_parts(parts, axum::body::Body::empty());
    let reply = {
        let mut r = routes.lock().expect("routes");
        *r.hits.entry(path.clone()).or_default() += 1;
        if let Some(ua) = req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
        {
            r.user_agents.push(ua.to_string());
        }
        let headers = req
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        r.requests.push((path.clone(), headers));
        r.bodies.push((path.clone(), body));
        match r.replies.get_mut(&path) {
            Some(queue) if queue.len() > 1 => queue.pop_front(),
            Some(queue) => queue.front().cloned(),
            None => None,
        }
    };
    let reply = reply.unwrap_or_else(|| Reply::status(404));
    if let Payload::Delayed(d, _) = &reply.payload {
        {
            let mut r = routes.lock().expect("routes");
            r.in_flight += 1;
            r.peak_in_flight = r.peak_in_flight.max(r.in_flight);
        }
        tokio::time::sleep(*d).await;
        routes.lock().expect("routes").in_flight -= 1;
    }
    let body = match reply.payload {
        Payload::Bytes(b) | Payload::Delayed(_, b) => Body::from(b),
        Payload::Endless => {
            let started = Instant::now();
            let chunks = futures_util::stream::unfold(0u64, move |sent| async move {
                if sent > (2 << 30) || started.elapsed() > Duration::from_secs(60) {
                    return None;
                }
                Some((
                    Ok::<_, std::io::Error>(vec![b'x'; 64 * 1024]),
                    sent + 64 * 1024,
                ))
            });
            Body::from_stream(chunks)
        }
        Payload::Stall(d) => {
            let chunks = futures_util::stream::unfold(false, move |done| async move {
                if done {
                    return None;
                }
                tokio::time::sleep(d).await;
                Some((Ok::<_, std::io::Error>(b"<rss>".to_vec()), true))
            });
            Body::from_stream(chunks)
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in reply.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            response.headers_mut().insert(k, v);
        }
    }
    response
}

/// The bytes of `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A gazette home: a temporary directory with `feeds.toml` and the archive under `archive/`.
pub struct Gazette {
    pub dir: tempfile::TempDir,
}

/// Finished run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `articles --json` output, parsed.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    }
}

impl Gazette {
    /// A home whose `feeds.toml` is `[archive] path = "archive"` followed by `body`, and (unless
    /// `body` has its own) a `[server]` on a port the OS picks.
    pub fn new(body: &str) -> Gazette {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = if body.contains("[server]") {
            ""
        } else {
            "\n[server]\nlisten = \"127.0.0.1:0\"\n"
        };
        let config = format!("[archive]\npath = \"archive\"\n\n{body}{server}");
        std::fs::write(dir.path().join("feeds.toml"), config).expect("write config");
        Gazette { dir }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("feeds.toml")
    }

    pub fn archive_path(&self) -> PathBuf {
        self.dir.path().join("archive")
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gazette"));
        cmd.arg("--config")
            .arg(self.config_path())
            .env_remove("RUST_LOG")
            .env_remove("GAZETTE_CONFIG")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("RUST_BACKTRACE", "1");
        cmd
    }

    /// Runs `gazette --config <home>/feeds.toml <args>` to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command().args(args).output().expect("run gazette"))
    }
}

/// A `[[source]]` block.
pub fn source(id: &str, url: &str, extra: &str) -> String {
    format!("[[source]]\nid = \"{id}\"\nurl = \"{url}\"\n{extra}\n\n")
}

/// Runs the binary without any config (for `inspect`).
pub fn gazette(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .env_remove("RUST_LOG")
        .env("GAZETTE_CONFIG", "/nonexistent/feeds.toml")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .expect("run gazette");
    Run::from(out)
}

/// A response read by [`http_get`].
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// A plain HTTP/1.1 GET over a fresh loopback connection (no client-side magic: what the
/// server sends is what the test sees, compressed or not).
pub fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..eol])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}

/// A running `gazette run`, stopped with SIGTERM on drop.
pub struct Daemon {
    pub child: std::process::Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<String>>,
}

impl Gazette {
    /// Starts `gazette run` and waits until it says where it listens.
    pub fn start(&self) -> Daemon {
        self.start_with_env(&[])
    }

    /// [`Gazette::start`] with extra environment variables.
    pub fn start_with_env(&self, env: &[(&str, &str)]) -> Daemon {
        let mut cmd = self.command();
        cmd.envs(env.iter().copied());
        self.spawn_daemon(cmd)
    }

    /// [`Gazette::start`] under a wrapper command (`prlimit --nofile=1024:1024 --`).
    pub fn start_under(&self, wrapper: &[&str]) -> Daemon {
        let inner = self.command();
        let mut cmd = Command::new(wrapper[0]);
        cmd.args(&wrapper[1..])
            .arg(inner.get_program())
            .args(inner.get_args());
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        self.spawn_daemon(cmd)
    }

    fn spawn_daemon(&self, mut cmd: Command) -> Daemon {
        use std::io::BufRead;
        let mut child = cmd
            .arg("run")
            .env("RUST_LOG", "info,gazette::serve=debug")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn gazette run");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(at) = line.find("listening on http://") {
                    let rest = &line[at + "listening on http://".len()..];
                    let addr = rest.split('/').next().unwrap_or_default().to_string();
                    let _ = tx.send(addr);
                }
                let mut l = sink.lock().expect("log");
                l.push_str(&line);
                l.push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => a.parse().expect("listen address"),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "gazette run did not start listening: {}",
                    log.lock().expect("log")
                );
            }
        };
        Daemon { child, addr, log }
    }
}

impl Daemon {
    /// SIGTERM, then the exit code (None if it had to be killed after 10 s).
    pub fn stop(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
