//! The daemon under a service manager: sd_notify messages read from a real unix datagram socket
//! set as `NOTIFY_SOCKET`.

#![cfg(unix)]

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use crate::support::{FixtureServer, Gazette, Reply, fixture, http_get, source};

fn messages_until(
    sock: &UnixDatagram,
    want: &str,
    within: Duration,
    seen: &mut Vec<String>,
) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let hit = msg.lines().any(|l| l == want || l.starts_with(want));
            seen.push(msg);
            if hit {
                return true;
            }
        }
    }
    false
}

#[test]
fn sd_notify_ready_after_bind_status_watchdog_and_stopping() {
    let server = FixtureServer::start();
    server.route(
        "/a.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = Gazette::new(&source("a", &server.url("/a.rss"), ""));
    let path = home.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut daemon = home.start_with_env(&[
        ("NOTIFY_SOCKET", path.to_str().expect("path")),
        ("WATCHDOG_USEC", "2000000"),
    ]);
    let mut seen = Vec::new();
    assert!(
        messages_until(&sock, "READY=1", Duration::from_secs(10), &mut seen),
        "{seen:?}"
    );
    // READY came after the listener was bound: it answers now
    assert_eq!(http_get(daemon.addr, "/healthz", &[]).status, 200);
    let ready = seen.iter().find(|m| m.contains("READY=1")).expect("ready");
    assert!(ready.contains("STATUS=1 sources, "), "{ready}");
    assert!(
        messages_until(&sock, "WATCHDOG=1", Duration::from_secs(5), &mut seen),
        "watchdog pings: {seen:?}"
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.child.id().to_string()])
        .status();
    assert!(
        messages_until(&sock, "STOPPING=1", Duration::from_secs(5), &mut seen),
        "{seen:?}"
    );
    assert_eq!(daemon.stop(), Some(0));
}
