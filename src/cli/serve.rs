//! `claimwatch serve`: monitors live streams and serves alerts over HTTP + SSE until SIGINT or
//! SIGTERM. Streams come from `--stream` flags at start and `POST /streams` later; all share one
//! loaded model per language and one event bus: the log in `--data-dir`, or with `--nats` the
//! cluster's JetStream stream.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio_util::sync::CancellationToken;

use super::transcribe::default_threads;
use crate::cluster::{ClusterConfig, ClusterNode};
use crate::comments::CommentDetector;
use crate::detect::{self, Detector};
use crate::events::{EventBus, Hub, HubLimits, JetStreamBus, JetStreamConfig, LogConfig, Retain};
use crate::live::{
    AttachRequest, ControlError, LiveConfig, ManagerConfig, ModelCache, Requester, StreamControl,
    StreamManager,
};
use crate::serve::{ServeConfig, ServeMetrics};
use crate::source::{NetPolicy, RetryConfig};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback requires --token. Port 0 picks a free port;
    /// the address is printed once the server is ready ("listening on http://…").
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory for the append-only event log (alerts, transcript, status).
    #[arg(long, default_value = "claimwatch-data")]
    data_dir: PathBuf,
    /// Delete whole old log segments past a total size (2GiB) or an age (30d); the newest
    /// segment is always kept. Default: keep everything.
    #[arg(long, value_name = "SIZE|AGE")]
    retain: Option<String>,
    /// A stream to monitor from the start: ID=SOURCE[,origin=CC][,lang=ja|en|auto][,comments=FEED]
    /// (repeatable). FEED: the stream's chat as JSON lines, a file, - or an http(s) URL.
    /// SOURCE: device:NAME, -, http(s)://…, …m3u8, file:PATH?realtime.
    #[arg(
        long = "stream",
        value_name = "ID=SOURCE[,origin=CC][,lang=ja|en|auto]"
    )]
    streams: Vec<String>,
    /// Bearer token required on every request: SECRET (one unnamed reviewer) or
    /// NAME[:ROLE]=SECRET (repeatable), ROLE viewer (read only) or reviewer (the default);
    /// SECRET is 16–256 visible ASCII characters.
    #[arg(
        long = "token",
        value_name = "[NAME[:ROLE]=]SECRET",
        env = "CLAIMWATCH_TOKEN",
        hide_env_values = true
    )]
    tokens: Vec<String>,
    /// Operators from a file: one NAME[:ROLE]=SECRET per line, # comments.
    #[arg(long, value_name = "PATH")]
    tokens_file: Option<PathBuf>,
    /// POST every alert as JSON to this URL (retried with backoff, never blocks monitoring).
    #[arg(long)]
    webhook: Option<String>,
    /// Rule packs directory (default: rules/).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// ggml Whisper model for Japanese streams (default: multilingual base from models/).
    #[arg(long)]
    model_ja: Option<PathBuf>,
    /// ggml Whisper model for English streams (default: tiny.en from models/).
    #[arg(long)]
    model_en: Option<PathBuf>,
    /// Threads of one decoder (default: the cores shared out over --decoders). A stream alone
    /// at the decoders, with nobody waiting, decodes with all of theirs.
    #[arg(long)]
    threads: Option<usize>,
    /// Streams decoded at once (1-64; default 2 on two cores or more). Two one-thread decodes
    /// side by side do more per second than one with both cores, whose threads wait for each
    /// other.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    decoders: Option<u16>,
    /// Most untranscribed audio a stream keeps, in seconds; older audio is dropped and reported.
    #[arg(long, default_value_t = 30.0)]
    max_lag: f64,
    /// Skip the second listen: spans of a committed phrase that sound close to a rule
    /// without matching it are otherwise decoded again with the rule's words as the prompt (an
    /// alert only if they then match), as in `audit`.
    #[arg(long)]
    no_second_listen: bool,
    /// Seconds of audio kept before and after each alert's words as its evidence clip
    /// (`GET /alerts/{id}/clip`, kept in DATA_DIR/clips under --retain); 0 keeps none.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    clip_margin: f64,
    /// Refuse a new stream (503) when the decoding the attached streams need, plus what one more
    /// of its language was measured to need, would exceed this share of the decoders (1.0: all
    /// of them, in real time). Above 1 streams fall behind and drop audio.
    #[arg(long, default_value_t = 1.0)]
    max_load: f64,
    /// Refuse a new stream (503) beyond this many attached at once.
    #[arg(long, default_value_t = 32)]
    max_streams: usize,
    /// Let API clients (POST /streams) attach file:, device: and stdin sources; --stream always
    /// may.
    #[arg(long)]
    allow_local_sources: bool,
    /// Let sources, their redirects and playlist entries reach loopback, private, link-local
    /// and other non-public addresses (refused by default: a stream is published by the seller
    /// being watched).
    #[arg(long)]
    allow_private_sources: bool,
    /// Also trust the certificate authorities in this PEM file for https sources (repeatable),
    /// e.g. a company's own CA for streams inside its network. The built-in roots stay trusted.
    #[arg(long = "source-ca", value_name = "PEM")]
    source_ca: Vec<PathBuf>,
    /// Join a cluster: events go to the NATS JetStream stream CLAIMWATCH at this server
    /// (nats://HOST:PORT, or several servers of one NATS cluster comma-separated; JetStream
    /// enabled, `nats-server -js`) instead of DATA_DIR's log, so every node serves the same
    /// history. DATA_DIR still holds this node's evidence clips.
    #[arg(long, value_name = "nats://HOST:PORT[,…]")]
    nats: Option<String>,
    /// This node's name in the cluster (1–64 of A-Z a-z 0-9 - _; in its leases, heartbeat,
    /// NATS connection name and message ids); default: the host name.
    #[arg(long, requires = "nats", value_name = "NAME")]
    node: Option<String>,
    /// Seconds a node may go without renewing a stream's lease before another node takes the
    /// stream over (3–300). Set by the first node to create the cluster's buckets.
    #[arg(long, requires = "nats", value_name = "SECS", default_value_t = 10)]
    lease: u64,
    /// Most SSE connections open at once (1–65536); one more gets 503 with Retry-After.
    #[arg(long, default_value_t = crate::serve::sse_cap::DEFAULT_MAX_SSE_CLIENTS)]
    max_sse_clients: usize,
}

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    let config = ServeConfig {
        listen: args.listen,
        tokens: args.tokens.clone(),
        tokens_file: args.tokens_file.clone(),
        data_dir: args.data_dir.clone(),
        webhook: args.webhook.clone(),
        max_sse_clients: args.max_sse_clients,
        ..ServeConfig::new(&args.data_dir)
    }
    .build()?;
    if config.data_dir.exists() && !config.data_dir.is_dir() {
        bail!(
            "--data-dir {}: this is a file; give a directory (it is created if missing)",
            config.data_dir.display()
        );
    }
    let retain = match &args.retain {
        Some(text) => text.parse::<Retain>()?,
        None => Retain::Forever,
    };
    let mut net = if args.allow_private_sources {
        NetPolicy::any_address()
    } else {
        NetPolicy::public_only()
    };
    for path in &args.source_ca {
        let pem = std::fs::read(path).with_context(|| format!("--source-ca {}", path.display()))?;
        net = net
            .trusting(pem)
            .map_err(|e| anyhow::anyhow!("--source-ca {}: {e}", path.display()))?;
    }
    if !(0.0..=30.0).contains(&args.clip_margin) {
        bail!("--clip-margin {}: use 0 to 30 seconds", args.clip_margin);
    }
    if !(5.0..=600.0).contains(&args.max_lag) {
        bail!("--max-lag {}: use 5 to 600 seconds", args.max_lag);
    }
    if !(0.1..=16.0).contains(&args.max_load) {
        bail!("--max-load {}: use 0.1 to 16", args.max_load);
    }
    if !(1..=1000).contains(&args.max_streams) {
        bail!("--max-streams {}: use 1 to 1000", args.max_streams);
    }
    let requests = args
        .streams
        .iter()
        .map(|s| parse_stream_flag(s))
        .collect::<Result<Vec<_>>>()?;
    let detector = match &args.rules {
        Some(dir) => Detector::load(dir, &detect::default_dict_dir())?,
        None => Detector::load_default()?,
    };
    let rules_dir = args.rules.clone().unwrap_or_else(detect::default_rules_dir);
    let comments = CommentDetector::load(&rules_dir)?;
    let listener = crate::serve::bind(&config)?;
    let local = listener
        .local_addr()
        .context("reading the listening address")?;
    let limits = HubLimits {
        log: LogConfig {
            retain,
            ..LogConfig::default()
        },
        ..HubLimits::default()
    };
    if !(3..=300).contains(&args.lease) {
        bail!("--lease {}: use 3 to 300 seconds", args.lease);
    }
    let cluster_bus = match &args.nats {
        Some(url) => Some(join_cluster(
            url,
            args.node.as_deref(),
            &config.data_dir,
            limits,
        )?),
        None => None,
    };
    let bus: Arc<dyn EventBus> =
        match &cluster_bus {
            Some((bus, _)) => Arc::new(bus.clone()),
            None => Arc::new(Hub::open_with(&config.data_dir, limits).with_context(|| {
                format!("opening the event log in {}", config.data_dir.display())
            })?),
        };
    let shutdown = CancellationToken::new();
    // A cluster node's streams outlive the signal until the node has handed them over (no
    // `ended` status for a stream another node goes on with).
    let streams_stop = match &cluster_bus {
        Some(_) => CancellationToken::new(),
        None => shutdown.clone(),
    };
    let cores = default_threads();
    let decoders = args.decoders.map_or(cores.min(2), usize::from);
    let live = LiveConfig {
        max_lag_s: args.max_lag,
        second_listen: !args.no_second_listen,
        clip_margin_s: args.clip_margin,
        ..LiveConfig::default()
    };
    let manager = Arc::new(StreamManager::new(
        bus.clone(),
        detector,
        comments,
        ModelCache::new(args.model_ja.clone(), args.model_en.clone()),
        ManagerConfig {
            threads: args.threads.unwrap_or((cores / decoders).max(1)),
            decoders,
            live,
            retry: RetryConfig::default(),
            max_load: args.max_load,
            max_streams: args.max_streams,
            net,
            allow_local_sources: args.allow_local_sources,
        },
        streams_stop.clone(),
    ));
    let (control, cluster_loop): (Arc<dyn StreamControl>, _) = match &cluster_bus {
        Some((bus, node)) => {
            let config = ClusterConfig {
                lease_ttl: Duration::from_secs(args.lease),
                ..ClusterConfig::new(node)
            };
            let (cluster, thread) =
                ClusterNode::join(config, bus, manager.clone(), shutdown.clone())
                    .map_err(|e| anyhow::anyhow!("--nats: joining the cluster: {e}"))?;
            (cluster, Some(thread))
        }
        None => (manager.clone(), None),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let metrics = Arc::new(ServeMetrics::default());
    // Sinks subscribe before the first stream can publish.
    let sinks = {
        let _entered = runtime.enter();
        crate::serve::start_sinks(&config, bus.as_ref(), &metrics, &shutdown)?
    };
    for request in requests {
        let id = request.id.clone();
        match control.attach(request) {
            Ok(_) => {}
            // A node restarted with the flags it first ran with: the cluster has the stream.
            Err(ControlError::Conflict(_)) if cluster_loop.is_some() => {
                eprintln!("claimwatch: --stream {id}: the cluster already monitors it");
            }
            Err(e) => {
                shutdown.cancel();
                if let Some(thread) = cluster_loop {
                    let _ = thread.join();
                }
                streams_stop.cancel();
                manager.shutdown(Duration::from_secs(10));
                bail!("--stream {id}: {e}");
            }
        }
    }

    let served = runtime.block_on(async {
        let signal = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            eprintln!("claimwatch: shutting down");
            signal.cancel();
        });
        if !config.operators.is_empty() {
            // Names and roles only: which reading of each --token took effect, never a secret.
            let who: Vec<String> = config
                .operators
                .list()
                .iter()
                .map(|o| format!("{} ({})", o.name, o.role.as_str()))
                .collect();
            eprintln!("claimwatch: operators: {}", who.join(", "));
        }
        eprintln!("claimwatch: listening on http://{local}");
        let served = crate::serve::run(
            &config,
            listener,
            bus.clone(),
            control,
            metrics,
            shutdown.clone(),
        )
        .await;
        shutdown.cancel();
        for task in sinks {
            let _ = task.await;
        }
        served
    });
    shutdown.cancel();
    if let Some(thread) = cluster_loop {
        let _ = thread.join();
    }
    streams_stop.cancel();
    manager.shutdown(Duration::from_secs(10));
    // An attach still opening its source (a FIFO nobody writes) must not hold up the exit.
    runtime.shutdown_timeout(Duration::from_secs(2));
    bus.sync().context("flushing the event log")?;
    served?;
    Ok(ExitCode::SUCCESS)
}

/// The cluster's bus at `url` (`--nats`), as node `node` (default: the host name), and the
/// node's name.
fn join_cluster(
    url: &str,
    node: Option<&str>,
    data_dir: &std::path::Path,
    limits: HubLimits,
) -> Result<(JetStreamBus, String)> {
    let node = match node {
        Some(name) => name.to_string(),
        None => std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "claimwatch".into()),
    };
    crate::cluster::check_node_name(&node).map_err(anyhow::Error::msg)?;
    let config = JetStreamConfig {
        limits,
        ..JetStreamConfig::new(url, &node, data_dir.to_path_buf())
    };
    let bus = JetStreamBus::connect(config).map_err(|e| anyhow::anyhow!("--nats {url}: {e}"))?;
    eprintln!("claimwatch: node {node} joined the cluster at {url} (JetStream stream CLAIMWATCH)");
    Ok((bus, node))
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// `ID=SOURCE[,origin=CC][,lang=ja|en|auto]`. Options are taken from the end, so a source may itself
/// contain commas and equals signs (URL queries).
const STREAM_FLAG: &str = "ID=SOURCE[,origin=CC][,lang=ja|en|auto][,comments=FEED]";

fn parse_stream_flag(flag: &str) -> Result<AttachRequest> {
    let (id, mut rest) = flag
        .split_once('=')
        .with_context(|| format!("--stream {flag:?}: expected {STREAM_FLAG}"))?;
    let (mut origin, mut lang, mut comments) = (None, None, None);
    while let Some((head, last)) = rest.rsplit_once(',') {
        match last.split_once('=') {
            Some(("origin", v)) if origin.is_none() => origin = Some(v.to_string()),
            Some(("lang", v)) if lang.is_none() => lang = Some(v.to_string()),
            Some(("comments", v)) if comments.is_none() => comments = Some(v.to_string()),
            _ => break,
        }
        rest = head;
    }
    if id.is_empty() || rest.is_empty() {
        bail!("--stream {flag:?}: expected {STREAM_FLAG}");
    }
    Ok(AttachRequest {
        id: id.to_string(),
        source: rest.to_string(),
        origin,
        lang,
        health: None,
        comments,
        by: Requester::Operator,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_flags() {
        // (flag, Some((id, source, origin, lang)) or None for an error)
        type Want = Option<(
            &'static str,
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
        )>;
        let cases: Vec<(&str, Want)> = vec![
            (
                "shop=file:a.wav?realtime",
                Some(("shop", "file:a.wav?realtime", None, None)),
            ),
            (
                "s1=http://h/x?a=1,b=2,origin=CN,lang=ja",
                Some(("s1", "http://h/x?a=1,b=2", Some("CN"), Some("ja"))),
            ),
            ("s1=-,lang=en", Some(("s1", "-", None, Some("en")))),
            (
                "s1=device:default,lang=en,origin=JP",
                Some(("s1", "device:default", Some("JP"), Some("en"))),
            ),
            ("nosource", None),
            ("=file:a.wav", None),
            ("s1=,lang=en", None),
        ];
        for (flag, want) in cases {
            let got = parse_stream_flag(flag)
                .ok()
                .map(|r| (r.id, r.source, r.origin, r.lang));
            let want = want.map(|(i, s, o, l)| {
                (
                    i.to_string(),
                    s.to_string(),
                    o.map(String::from),
                    l.map(String::from),
                )
            });
            assert_eq!(got, want, "{flag}");
        }
        let fed = parse_stream_flag("s1=-,comments=chat.jsonl,lang=ja").unwrap();
        assert_eq!(
            (fed.source.as_str(), fed.comments.as_deref()),
            ("-", Some("chat.jsonl"))
        );
    }
}
