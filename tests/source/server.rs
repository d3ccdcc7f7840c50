//! A real HTTP/1.1 server on 127.0.0.1:0 for the network sources, small enough to misbehave on
//! purpose: each request goes to a handler that sees the path and how many times it was asked
//! for, and may answer, fail with a status, cut the body mid-way, or never answer at all.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

pub enum Reply {
    Body(&'static str, Vec<u8>),
    /// Headers promise the whole body; the connection closes after `keep` bytes.
    Cut(&'static str, Vec<u8>, usize),
    Status(u16),
    /// Accepts and never answers (a hung server).
    Hang,
    /// Sends the first `keep` bytes, then the rest once the gate is opened (so a test can act
    /// while the client is known to have exactly the first part). A gate that stays shut for
    /// [`GATE_PATIENCE`] closes the connection instead, so no test waits forever.
    Gated(&'static str, Vec<u8>, usize, Gate),
    /// 302 to this location.
    Redirect(String),
}

/// How long a [`Reply::Gated`] answer waits for its gate.
pub const GATE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

/// Opened once by the test; read by the server thread.
#[derive(Clone, Default)]
pub struct Gate(Arc<std::sync::atomic::AtomicBool>);

impl Gate {
    pub fn open(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn wait(&self) -> bool {
        let deadline = std::time::Instant::now() + GATE_PATIENCE;
        while !self.0.load(std::sync::atomic::Ordering::SeqCst) {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        true
    }
}

type Handler = dyn Fn(&str, usize) -> Reply + Send + Sync;

pub struct Server {
    addr: SocketAddr,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Server {
    /// Serves until the test process ends; one thread per connection.
    pub fn start(handler: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let counts = Arc::clone(&hits);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let handler = Arc::clone(&handler);
                let counts = Arc::clone(&counts);
                std::thread::spawn(move || serve(conn, &*handler, &counts));
            }
        });
        Self { addr, hits }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

fn serve(conn: TcpStream, handler: &Handler, hits: &Mutex<HashMap<String, usize>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
    let nth = {
        let mut hits = hits.lock().unwrap();
        let n = hits.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let mut conn = conn;
    let head = |status: &str, content_type: &str, len: usize| {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\n\
             Connection: close\r\n\r\n"
        )
    };
    let _ = match handler(&path, nth) {
        Reply::Body(content_type, body) => conn
            .write_all(head("200 OK", content_type, body.len()).as_bytes())
            .and_then(|()| conn.write_all(&body)),
        Reply::Cut(content_type, body, keep) => conn
            .write_all(head("200 OK", content_type, body.len()).as_bytes())
            .and_then(|()| conn.write_all(&body[..keep])),
        Reply::Status(code) => {
            conn.write_all(head(&format!("{code} Oops"), "text/plain", 0).as_bytes())
        }
        Reply::Gated(content_type, body, keep, gate) => conn
            .write_all(head("200 OK", content_type, body.len()).as_bytes())
            .and_then(|()| conn.write_all(&body[..keep]))
            .and_then(|()| conn.flush())
            .and_then(|()| {
                if gate.wait() {
                    conn.write_all(&body[keep..])
                } else {
                    Ok(())
                }
            }),
        Reply::Redirect(location) => conn.write_all(
            format!(
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            )
            .as_bytes(),
        ),
        Reply::Hang => {
            std::thread::park();
            Ok(())
        }
    };
    let _ = conn.flush();
}
