//! Live monitoring's outside face: the HTTP + Server-Sent Events server.
//!
//! Input: the [event bus](crate::events) (what the pipeline published) and HTTP requests, which
//! reach the pipeline through [`StreamControl`](crate::live::StreamControl). Output: SSE streams,
//! JSON answers, Prometheus text. The server reads the bus; it never publishes pipeline events,
//! and the pipeline never imports this module.
//!
//! - [`app`]: the axum adapter (routes, auth, JSON errors, SSE) and [`serve`].
//! - [`console`]: the operator console at `/` (page, script, login).
//! - [`metrics`]: Prometheus exposition.
//! - [`sse_cap`]: the cap on open SSE connections.
//! - [`paging`]: pages of `GET /alerts`.
//! - [`operators`]: named operators, their roles and their tokens.
//! - [`review`]: the review and CSV export handlers; [`export`]: the CSV file.

pub mod app;
pub mod console;
pub mod export;
pub mod metrics;
pub mod operators;
pub mod paging;
pub mod review;
pub mod sse_cap;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

pub use app::{app, serve, ApiError, AppState};
pub use metrics::ServeMetrics;
pub use operators::{Operator, Operators, OperatorsError, Role};

use crate::events::EventBus;
use crate::live::StreamControl;
use crate::sinks::webhook::{self, WebhookConfig};

/// The server's settings (`claimwatch serve` flags, or a config file section).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Address to listen on; default 127.0.0.1:8080.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Bearer token every request must carry (one unnamed reviewer); a token or operators are
    /// required when `listen` is not loopback.
    #[serde(default)]
    pub token: Option<String>,
    /// Named operators: `NAME[:ROLE]=SECRET` each, or a bare secret ([`operators`]).
    #[serde(default)]
    pub tokens: Vec<String>,
    /// A file of `NAME[:ROLE]=SECRET` lines ([`operators`]).
    #[serde(default)]
    pub tokens_file: Option<PathBuf>,
    /// Who may call: set by [`ServeConfig::build`] from `token`, `tokens` and `tokens_file`.
    #[serde(skip)]
    pub operators: Operators,
    /// Where the event log (`events/`) and the webhook's cursor (`sinks/`) live.
    pub data_dir: PathBuf,
    /// URL to POST each alert to.
    #[serde(default)]
    pub webhook: Option<String>,
    /// Largest request body in bytes; default 64 KiB.
    #[serde(default = "default_body_limit")]
    pub body_limit: usize,
    /// Most SSE connections open at once; default 256.
    #[serde(default = "default_max_sse_clients")]
    pub max_sse_clients: usize,
}

fn default_max_sse_clients() -> usize {
    sse_cap::DEFAULT_MAX_SSE_CLIENTS
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_body_limit() -> usize {
    app::DEFAULT_BODY_LIMIT
}

/// Why a [`ServeConfig`] was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("listening on {0} (not loopback) needs a token: anyone who can reach it could attach sources and read alerts")]
    PublicWithoutToken(SocketAddr),
    #[error("the token must be 16 to 256 visible ASCII characters without spaces")]
    BadToken,
    #[error(transparent)]
    Operators(#[from] OperatorsError),
    #[error("body limit {0} bytes: use 1 KiB to 16 MiB")]
    BodyLimit(usize),
    #[error("webhook {0:?}: must be an http:// or https:// URL")]
    Webhook(String),
    #[error("data dir is empty")]
    DataDir,
    #[error("max SSE clients {0}: use 1 to 65536")]
    MaxSseClients(usize),
}

impl ServeConfig {
    /// Settings with defaults for everything but the data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> ServeConfig {
        ServeConfig {
            listen: default_listen(),
            token: None,
            tokens: Vec::new(),
            tokens_file: None,
            operators: Operators::default(),
            data_dir: data_dir.into(),
            webhook: None,
            body_limit: default_body_limit(),
            max_sse_clients: default_max_sse_clients(),
        }
    }

    /// Validates: a non-loopback address requires a token; tokens (the tokens file read here),
    /// body limit and webhook URL are sane. Sets [`ServeConfig::operators`].
    pub fn build(mut self) -> Result<ServeConfig, ConfigError> {
        if let Some(token) = &self.token {
            let visible = token.bytes().all(|b| b.is_ascii_graphic());
            if !(16..=256).contains(&token.len()) || !visible {
                return Err(ConfigError::BadToken);
            }
        }
        // The single token is the first unnamed one; the same checks (unique names, unique
        // secrets) then cover all of them.
        let flags: Vec<String> = self.token.iter().chain(&self.tokens).cloned().collect();
        self.operators = Operators::load(&flags, self.tokens_file.as_deref())?;
        if self.operators.is_empty() && !self.listen.ip().is_loopback() {
            return Err(ConfigError::PublicWithoutToken(self.listen));
        }
        if !(1024..=16 << 20).contains(&self.body_limit) {
            return Err(ConfigError::BodyLimit(self.body_limit));
        }
        if let Some(url) = &self.webhook {
            let lower = url.to_ascii_lowercase();
            let rest = lower
                .strip_prefix("http://")
                .or_else(|| lower.strip_prefix("https://"));
            if rest.is_none_or(str::is_empty) {
                return Err(ConfigError::Webhook(url.clone()));
            }
        }
        if self.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::DataDir);
        }
        if !(1..=65_536).contains(&self.max_sse_clients) {
            return Err(ConfigError::MaxSseClients(self.max_sse_clients));
        }
        Ok(self)
    }
}

/// The sinks `config` asks for, started on `bus` before any stream publishes (a webhook new to
/// the data directory, or to the cluster, starts at the events from then on, so none of a
/// stream's first alerts is missed; a known one resumes from its cursor, or from the cluster's
/// durable consumer on a JetStream bus: see [`crate::sinks`]). Needs a tokio runtime; the tasks
/// end on `shutdown`.
pub fn start_sinks(
    config: &ServeConfig,
    bus: &dyn EventBus,
    metrics: &ServeMetrics,
    shutdown: &CancellationToken,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = Vec::new();
    if let Some(url) = &config.webhook {
        tasks.push(webhook::spawn(
            bus,
            WebhookConfig::new(url.clone()),
            &config.data_dir,
            metrics.webhook.clone(),
            shutdown.clone(),
        )?);
    }
    Ok(tasks)
}

/// Binds `config.listen` before anything else is set up, so a port in use fails first and
/// alone. Port 0 picks a free port: the listener's `local_addr` says which.
pub fn bind(config: &ServeConfig) -> anyhow::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("listening on {}", config.listen))?;
    listener
        .set_nonblocking(true)
        .context("setting the listener non-blocking")?;
    Ok(listener)
}

/// Serves on `listener` (from [`bind`]) until `shutdown` is cancelled. The bus is passed in
/// because the pipeline publishes to it too; `metrics` are those the sinks count into.
pub async fn run(
    config: &ServeConfig,
    listener: std::net::TcpListener,
    bus: Arc<dyn EventBus>,
    control: Arc<dyn StreamControl>,
    metrics: Arc<ServeMetrics>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener =
        tokio::net::TcpListener::from_std(listener).context("registering the listener")?;
    let mut state = AppState::new(bus, control, None, shutdown.clone());
    state.operators = Arc::new(config.operators.clone());
    state.body_limit = config.body_limit;
    state.max_sse_clients = config.max_sse_clients;
    state.metrics = metrics;
    let served = serve(listener, state).await;
    shutdown.cancel();
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(listen: &str, token: Option<&str>) -> ServeConfig {
        ServeConfig {
            listen: listen.parse().unwrap(),
            token: token.map(str::to_string),
            ..ServeConfig::new("/tmp/cw")
        }
    }

    #[test]
    fn build_validates() {
        let good_token = Some("0123456789abcdef");
        // (config, expected error)
        let cases: Vec<(ServeConfig, Option<ConfigError>)> = vec![
            (config("127.0.0.1:8686", None), None),
            (config("[::1]:0", None), None),
            (config("0.0.0.0:8686", good_token), None),
            (
                config("0.0.0.0:8686", None),
                Some(ConfigError::PublicWithoutToken(
                    "0.0.0.0:8686".parse().unwrap(),
                )),
            ),
            (
                config("192.168.1.5:80", None),
                Some(ConfigError::PublicWithoutToken(
                    "192.168.1.5:80".parse().unwrap(),
                )),
            ),
            (
                config("127.0.0.1:1", Some("short")),
                Some(ConfigError::BadToken),
            ),
            (
                config("127.0.0.1:1", Some("with space 0123456789")),
                Some(ConfigError::BadToken),
            ),
            (
                ServeConfig {
                    body_limit: 10,
                    ..config("127.0.0.1:1", None)
                },
                Some(ConfigError::BodyLimit(10)),
            ),
            (
                ServeConfig {
                    webhook: Some("ftp://x".into()),
                    ..config("127.0.0.1:1", None)
                },
                Some(ConfigError::Webhook("ftp://x".into())),
            ),
            (
                ServeConfig {
                    webhook: Some("https://hooks.example/alert".into()),
                    ..config("127.0.0.1:1", None)
                },
                None,
            ),
            (
                ServeConfig {
                    data_dir: PathBuf::new(),
                    ..config("127.0.0.1:1", None)
                },
                Some(ConfigError::DataDir),
            ),
            (
                ServeConfig {
                    max_sse_clients: 0,
                    ..config("127.0.0.1:1", None)
                },
                Some(ConfigError::MaxSseClients(0)),
            ),
        ];
        for (config, want) in cases {
            let listen = config.listen;
            assert_eq!(config.clone().build().err(), want, "{listen}");
        }
        // Named operators stand in for the token, on any address.
        let named = ServeConfig {
            tokens: vec![
                "alice=abcdef0123456789".into(),
                "bob:viewer=fedcba9876543210".into(),
            ],
            ..config("0.0.0.0:8686", good_token)
        }
        .build()
        .unwrap();
        let names: Vec<(&str, Role)> = named
            .operators
            .list()
            .into_iter()
            .map(|o| (o.name.as_str(), o.role))
            .collect();
        assert_eq!(
            names,
            [
                ("operator", Role::Reviewer),
                ("alice", Role::Reviewer),
                ("bob", Role::Viewer)
            ]
        );
        let err = ServeConfig {
            tokens: vec!["bob:boss=fedcba9876543210".into()],
            ..config("127.0.0.1:1", None)
        }
        .build()
        .unwrap_err();
        assert!(matches!(err, ConfigError::Operators(_)), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(&file, "carol:viewer=0123456789abcdef\n").unwrap();
        let from_file = ServeConfig {
            tokens_file: Some(file),
            ..config("0.0.0.0:8686", None)
        }
        .build()
        .unwrap();
        assert_eq!(from_file.operators.list()[0].name, "carol");
        let err = config("0.0.0.0:8686", None)
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("0.0.0.0:8686") && err.contains("token"),
            "{err}"
        );
    }

    #[test]
    fn config_files_reject_unknown_fields() {
        let ok: ServeConfig =
            toml::from_str("data_dir = \"d\"\ntoken = \"0123456789abcdef\"").unwrap();
        assert_eq!(ok.listen, default_listen());
        assert_eq!(ok.body_limit, 64 * 1024);
        assert_eq!(ok.max_sse_clients, 256);
        let err = toml::from_str::<ServeConfig>("data_dir = \"d\"\nport = 1").unwrap_err();
        assert!(err.to_string().contains("unknown field `port`"), "{err}");
    }
}
