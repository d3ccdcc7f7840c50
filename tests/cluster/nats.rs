//! A real `nats-server` with JetStream for the cluster tests: loopback, a port of its own
//! choosing (`-p -1`, read back from its log: nothing is released and bound again), a store
//! directory the test owns (so a restart keeps the data), killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long the server may take to say it is ready (two shared cores).
const READY: Duration = Duration::from_secs(60);

pub struct Nats {
    child: Child,
    pub port: u16,
    store: PathBuf,
}

impl Nats {
    /// Starts `nats-server -js` on a free loopback port with `store` as its JetStream store.
    pub fn start(store: &Path) -> Nats {
        Nats::spawn(store, &["-p", "-1"], true)
    }

    /// Starts a server without JetStream (what `serve --nats` must refuse).
    pub fn start_without_jetstream(store: &Path) -> Nats {
        Nats::spawn(store, &["-p", "-1"], false)
    }

    /// Stops the server (SIGKILL, as a crash) and starts it again on the same port with the
    /// same store.
    pub fn restart(&mut self) {
        self.kill();
        let port = self.port.to_string();
        let again = Nats::spawn(&self.store, &["-p", &port], true);
        assert_eq!(again.port, self.port);
        *self = again;
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn spawn(store: &Path, port: &[&str], jetstream: bool) -> Nats {
        let mut command = Command::new(binary());
        command.args(["-a", "127.0.0.1"]).args(port);
        if jetstream {
            command.arg("-js").arg("-sd").arg(store);
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nats-server (Debian package nats-server; run scripts/install-deps)");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Reads the log to the end so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut port = None;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                    port = rest.rsplit(':').next().and_then(|p| p.trim().parse().ok());
                }
                if line.contains("Server is ready") {
                    let _ = tx.send(port);
                }
            }
        });
        let port = match rx.recv_timeout(READY) {
            Ok(Some(port)) => port,
            other => {
                let _ = child.kill();
                panic!("nats-server did not get ready: {other:?}");
            }
        };
        Nats {
            child,
            port,
            store: store.to_path_buf(),
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `nats-server` from `PATH`, else where Debian puts it (`/usr/sbin`, which a non-root user's
/// `PATH` often lacks).
fn binary() -> std::path::PathBuf {
    let in_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nats-server"))
            .find(|p| p.is_file())
    });
    in_path.unwrap_or_else(|| "/usr/sbin/nats-server".into())
}
