//! Graceful shutdown: on SIGTERM or SIGINT respub stops accepting, writes what it had
//! queued for its clients, closes them and exits 0.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{cmd, free_port, Client};

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

async fn shutdown_on(sig: &str) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_respub"))
        .args(["--port", &port.to_string(), "--loglevel", "warning"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn respub");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "respub never listened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut sub = Client::connect(addr).await;
    sub.roundtrip(
        &cmd(&["SUBSCRIBE", "bye"]),
        b"*3\r\n$9\r\nsubscribe\r\n$3\r\nbye\r\n:1\r\n",
    )
    .await;
    let mut publisher = Client::connect(addr).await;
    publisher
        .roundtrip(&cmd(&["PUBLISH", "bye", "last"]), b":1\r\n")
        .await;

    signal(child.id(), sig);
    // The message published before the signal still arrives, then the connection ends.
    sub.expect(b"*3\r\n$7\r\nmessage\r\n$3\r\nbye\r\n$4\r\nlast\r\n")
        .await;
    sub.expect_eof().await;
    publisher.expect_eof().await;

    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("respub did not exit within 10 s of {sig}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status}");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still accepting after exit"
    );
}

#[tokio::test]
async fn sigterm_flushes_closes_and_exits_zero() {
    shutdown_on("-TERM").await;
}

#[tokio::test]
async fn sigint_flushes_closes_and_exits_zero() {
    shutdown_on("-INT").await;
}
