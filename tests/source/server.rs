//! A real HTTP/1.1 server on 127.0.0.1:0 for the network sources, small enough to misbehave on
//! purpose: each request goes to a handler that sees the path and how many times it was asked
//! for, and may answer, fail with a status, cut the body mid-way, or never answer at all. Plain
//! HTTP, or HTTPS ([`Server::start_tls`]) with the test certificate of 127.0.0.1 in
//! `tests/data/source/tls/` (signed by the test CA `ca.pem`, made by `make.sh` there).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

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
    tls: bool,
}

/// The test CA that signed the HTTPS server's certificate (for `serve --source-ca`).
pub fn test_ca() -> std::path::PathBuf {
    crate::common::repo().join("tests/data/source/tls/ca.pem")
}

fn tls_config() -> Arc<rustls::ServerConfig> {
    let dir = crate::common::repo().join("tests/data/source/tls");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("cert.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    Arc::new(config)
}

impl Server {
    /// Serves until the test process ends; one thread per connection.
    pub fn start(handler: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> Self {
        Self::listen(handler, None)
    }

    /// As [`Server::start`], over TLS.
    pub fn start_tls(handler: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> Self {
        Self::listen(handler, Some(tls_config()))
    }

    fn listen(
        handler: impl Fn(&str, usize) -> Reply + Send + Sync + 'static,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let counts = Arc::clone(&hits);
        let is_tls = tls.is_some();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let handler = Arc::clone(&handler);
                let counts = Arc::clone(&counts);
                let tls = tls.clone();
                std::thread::spawn(move || match tls {
                    None => serve(conn, &*handler, &counts),
                    Some(config) => {
                        let Ok(session) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        serve(rustls::StreamOwned::new(session, conn), &*handler, &counts)
                    }
                });
            }
        });
        Self {
            addr,
            hits,
            tls: is_tls,
        }
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

fn serve(conn: impl Read + Write, handler: &Handler, hits: &Mutex<HashMap<String, usize>>) {
    let mut reader = BufReader::new(conn);
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
    // A GET has no body: nothing the reader buffered is lost by writing to the stream itself.
    let conn = reader.get_mut();
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
