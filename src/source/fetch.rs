//! HTTP(S) GETs for the live sources: URL → a streaming body (`Read`) or the whole body as
//! bytes, every wait bounded and cut short by the shutdown token.
//!
//! The only file that touches reqwest. It uses reqwest's async client on a one-thread tokio
//! runtime owned by the source thread, so a read can race the shutdown token and a stall
//! timer instead of blocking in a socket read: a hung server costs at most [`STALL`], and
//! shutdown is noticed at once.
//!
//! Every request, redirect included, goes through the [`NetPolicy`]: an address literal is
//! checked before the request and at each redirect, and host names resolve through
//! [`PolicyResolver`], which hands the connector only the addresses the policy allows, so the
//! address checked is the address dialled. A refused or failed connection is reported as
//! [`policy::REFUSED`] or [`policy::UNAVAILABLE`]; the detail (address class, socket error) goes
//! to the server log only.

use std::future::Future;
use std::io::{self, Read};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::runtime::Runtime;
use tokio::time::error::Elapsed;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::policy::{self, NetPolicy, Refused};
use super::Fail;

/// Longest wait for a connection and response headers.
const CONNECT: Duration = Duration::from_secs(10);
/// Longest wait for the next bytes of a body before the connection counts as lost.
pub const STALL: Duration = Duration::from_secs(10);
/// Longest a whole small body (playlist, segment) may take.
const WHOLE: Duration = Duration::from_secs(30);
/// Playlists and segments are small; anything larger is a misconfigured URL.
const MAX_WHOLE_BYTES: usize = 64 << 20;
/// Redirects followed per request, as reqwest's default.
const MAX_REDIRECTS: usize = 10;

/// A GET client bound to one source's shutdown token.
pub struct Fetcher {
    rt: Arc<Runtime>,
    client: reqwest::Client,
    shutdown: CancellationToken,
    net: NetPolicy,
}

/// A response that passed the status check.
pub struct Opened {
    /// `Content-Type` without parameters, lower-cased (`audio/mpeg`).
    pub content_type: Option<String>,
    pub body: Body,
}

impl Fetcher {
    pub fn new(shutdown: CancellationToken, net: NetPolicy) -> Result<Self, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
        let redirects = net.clone();
        let mut builder = reqwest::Client::builder();
        for root in net.extra_roots() {
            builder = builder.add_root_certificate(root);
        }
        let client = builder
            .connect_timeout(CONNECT)
            .user_agent(concat!("claimwatch/", env!("CARGO_PKG_VERSION")))
            // A proxy would resolve and dial the host itself, past the resolver's check.
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver { net: net.clone() }))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
                }
                match redirects.check_url(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(refused) => attempt.error(refused),
                }
            }))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", chain(&e)))?;
        Ok(Self {
            rt: Arc::new(rt),
            client,
            shutdown,
            net,
        })
    }

    /// Starts a GET: `Err` on a refused or failed connection or a non-2xx status, else the
    /// open body.
    pub fn open(&self, url: &str) -> Result<Opened, Fail> {
        let parsed = Url::parse(url).map_err(|e| Fail::Error(format!("{url}: {e}")))?;
        if let Err(refused) = self.net.check_url(&parsed) {
            return Err(refused_fail(url, &refused));
        }
        let request = self.client.get(parsed).send();
        let response = self
            .run(CONNECT, request)?
            .map_err(|_| {
                let detail = format!("no response in {} s", CONNECT.as_secs());
                unavailable(url, &detail)
            })?
            .map_err(|e| match find_refused(&e) {
                Some(refused) => refused_fail(url, refused),
                None => unavailable(url, &chain(&e)),
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(Fail::Error(format!("{url}: HTTP {status}")));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        Ok(Opened {
            content_type,
            body: Body {
                rt: Arc::clone(&self.rt),
                response: Mutex::new(response),
                chunk: bytes::Bytes::new(),
                shutdown: self.shutdown.clone(),
                url: url.to_string(),
                done: false,
            },
        })
    }

    /// The whole body of a small resource (a playlist, a segment).
    pub fn get(&self, url: &str) -> Result<Vec<u8>, Fail> {
        let mut response = self.open(url)?.body;
        let all = self.run(WHOLE, async {
            let response = response
                .response
                .get_mut()
                .unwrap_or_else(|p| p.into_inner());
            let mut all = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                all.extend_from_slice(&chunk);
                if all.len() > MAX_WHOLE_BYTES {
                    break;
                }
            }
            Ok::<_, reqwest::Error>(all)
        })?;
        let all = all
            .map_err(|_| Fail::Error(format!("{url}: body took over {} s", WHOLE.as_secs())))?
            .map_err(|e| Fail::Error(format!("{url}: {}", chain(&e))))?;
        if all.len() > MAX_WHOLE_BYTES {
            return Err(Fail::Error(format!(
                "{url}: larger than {} MiB",
                MAX_WHOLE_BYTES >> 20
            )));
        }
        Ok(all)
    }

    /// Runs `fut` for at most `limit` (`Err(Elapsed)` after), unless shutdown comes first.
    fn run<F: Future>(&self, limit: Duration, fut: F) -> Result<Result<F::Output, Elapsed>, Fail> {
        run_until_cancelled(&self.rt, &self.shutdown, limit, fut).ok_or(Fail::Stopped)
    }
}

/// `None` on shutdown. The timer is created inside `block_on`: tokio timers need the runtime's
/// context to exist.
fn run_until_cancelled<F: Future>(
    rt: &Runtime,
    shutdown: &CancellationToken,
    limit: Duration,
    fut: F,
) -> Option<Result<F::Output, Elapsed>> {
    rt.block_on(async {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => None,
            out = tokio::time::timeout(limit, fut) => Some(out),
        }
    })
}

/// A streaming response body as a blocking `Read`, for symphonia.
pub struct Body {
    rt: Arc<Runtime>,
    // Mutex only to make the body `Sync`, as symphonia's `MediaSource` requires; one thread
    // ever reads it.
    response: Mutex<reqwest::Response>,
    chunk: bytes::Bytes,
    shutdown: CancellationToken,
    url: String,
    done: bool,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            let response = self.response.get_mut().unwrap_or_else(|p| p.into_inner());
            let next = run_until_cancelled(&self.rt, &self.shutdown, STALL, response.chunk());
            match next {
                None => return Err(super::pump::cancelled()),
                Some(Err(_)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no data for {} s", STALL.as_secs()),
                    ))
                }
                Some(Ok(Err(e))) => {
                    return Err(io::Error::other(format!("{}: {}", self.url, chain(&e))))
                }
                Some(Ok(Ok(None))) => self.done = true,
                Some(Ok(Ok(Some(chunk)))) => self.chunk = chunk,
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// Resolves host names with the system resolver, then keeps only the addresses the policy
/// allows: the connector dials what this returns, so no second lookup can swap in another
/// address (DNS rebinding).
struct PolicyResolver {
    net: NetPolicy,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let net = self.net.clone();
        Box::pin(async move {
            let host = name.as_str();
            let resolved = tokio::net::lookup_host((host, 0)).await?;
            let kept = net.filter_resolved(host, resolved)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// The policy's refusal somewhere in reqwest's error chain (from the resolver or the redirect
/// policy), if that is why the request failed.
fn find_refused<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Some(refused);
        }
        next = e.source();
    }
    None
}

/// A refusal: the reason to the server log, the generic word to whoever reads the stream's
/// status.
fn refused_fail(url: &str, refused: &Refused) -> Fail {
    eprintln!("claimwatch: {url}: refused by policy: {refused}");
    Fail::Error(format!("{url}: {}", policy::REFUSED))
}

/// A connection that failed (name not found, refused, timed out, TLS): the detail would map the
/// network for whoever reads the stream's status, so it goes to the server log only.
fn unavailable(url: &str, detail: &str) -> Fail {
    eprintln!("claimwatch: {url}: {detail}");
    Fail::Error(format!("{url}: {}", policy::UNAVAILABLE))
}

/// reqwest's `Display` hides the cause ("error sending request"); the chain says what happened
/// ("connection refused").
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}
