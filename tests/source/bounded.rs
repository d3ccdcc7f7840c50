//! Waiting with a limit: a thread join, a channel read or a child process that does not finish in
//! time fails its test with a message naming what hung, instead of hanging the whole test run.
//! Limits are generous bounds on a shared, loaded machine, never speed tests.

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Joins `handle`, failing the test if it has not finished within `limit`. A thread cannot be
/// joined with a timeout, so a helper thread joins it and reports over a channel; on a timeout
/// the helper and the stuck thread are left behind (the test fails either way).
pub fn join_within<T: Send + 'static>(handle: JoinHandle<T>, limit: Duration, what: &str) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(handle.join());
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// Runs `command` to completion like [`Command::output`], killing it and failing the test when it
/// runs past `limit`. Stdin is closed so a child waiting for input ends instead of hanging.
pub fn output_within(command: &mut Command, limit: Duration) -> Output {
    let what = format!("{command:?}");
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    wait_within(child, limit, &what)
}

/// [`Child::wait_with_output`] with a limit: the child's stdout and stderr (where piped) are
/// read to their end, and a child still running after `limit` is killed and fails the test.
pub fn wait_within(mut child: Child, limit: Duration, what: &str) -> Output {
    // The pipes are drained on their own threads while we wait: a child that fills a pipe
    // buffer blocks until someone reads it, and would otherwise never exit.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} was still running after {limit:?}; killed");
            }
            Err(e) => panic!("{what}: cannot wait: {e}"),
        }
    };
    // The pipes close when the child exits, unless it left a process behind holding them.
    let pipes = Duration::from_secs(10);
    Output {
        status,
        stdout: join_within(stdout, pipes, &format!("reading the stdout of {what}")),
        stderr: join_within(stderr, pipes, &format!("reading the stderr of {what}")),
    }
}

#[test]
fn a_child_past_its_limit_fails_with_a_message() {
    let began = Instant::now();
    let result = std::panic::catch_unwind(|| {
        output_within(Command::new("sleep").arg("30"), Duration::from_millis(300))
    });
    let message = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("\"sleep\" \"30\"") && message.contains("killed"),
        "{message}"
    );
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "{:?}",
        began.elapsed()
    );

    let out = output_within(
        Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
        Duration::from_secs(30),
    );
    assert_eq!(
        (out.status.code(), &out.stdout[..], &out.stderr[..]),
        (Some(3), &b"out\n"[..], &b"err\n"[..])
    );
}

#[test]
fn a_join_past_its_limit_fails_with_a_message() {
    let (_keep, parked) = mpsc::channel::<()>();
    let stuck = std::thread::spawn(move || {
        let _ = parked.recv();
    });
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        join_within(stuck, Duration::from_millis(200), "the stuck thread")
    }));
    let message = *result.unwrap_err().downcast::<String>().unwrap();
    assert_eq!(message, "the stuck thread did not finish within 200ms");
    assert_eq!(
        join_within(
            std::thread::spawn(|| 7),
            Duration::from_secs(30),
            "a quick thread"
        ),
        7
    );
}
