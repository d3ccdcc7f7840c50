//! One node of the cluster: its loop (renew leases, beat, claim streams waiting for a node, let
//! go of streams nobody wants any more) and the [`StreamControl`] the HTTP API calls.
//!
//! Input: the buckets' mirrors ([`super::kv`]) and requests. Output: calls on the node's
//! [`StreamManager`] (attach, detach, hand over), lease and record changes, and the `status`
//! event that states the gap when a stream comes to this node from one that stopped.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::kv::{Buckets, Claim, Mirror, Renewal};
use super::placement::{self, Candidate};
use super::records::{CommentBatch, CommentReply, DesiredStream, Lease, NodeBeat};
use crate::comments::Comment;
use crate::detect::Lang;
use crate::events::{clock, EventBody, EventBus, JetStreamBus, SourceState, StreamStatus};
use crate::live::comments::Taken;
use crate::live::manager::{AUTO, DETACHED};
use crate::live::{
    AttachRequest, ControlError, ProductRequest, StreamControl, StreamInfo, StreamManager,
};

/// How often the loop looks for work between heartbeats.
const TICK: Duration = Duration::from_millis(250);

/// How long the k-th node in a stream's preference order waits (k × this) before claiming it,
/// for the nodes before it to do so.
const GRACE: Duration = Duration::from_secs(2);

/// How long `POST /streams` waits for a node to take the stream before answering that it waits.
const ATTACH_WAIT: Duration = Duration::from_secs(10);

/// A stream that could not start on this node is not claimed here again for this long.
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// Least time between two printed NATS errors.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// How long a forwarded comment batch waits for the node monitoring the stream.
const FORWARD_PATIENCE: Duration = Duration::from_secs(10);

/// This node's place in the cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The node's name (`--node`), checked by [`super::check_node_name`].
    pub node: String,
    /// A lease not renewed for this long expires and its stream moves (`--lease`). The first
    /// node to create the buckets sets it for all.
    pub lease_ttl: Duration,
}

impl ClusterConfig {
    pub fn new(node: &str) -> ClusterConfig {
        ClusterConfig {
            node: node.to_string(),
            lease_ttl: Duration::from_secs(10),
        }
    }
}

/// A stream this node monitors.
#[derive(Debug, Clone)]
struct Held {
    /// The lease's revision this node last wrote.
    revision: u64,
    /// The desired stream's product change applied here.
    product_change: u64,
    /// The attach this node runs ([`DesiredStream::attach_id`]).
    attach_id: String,
}

/// One node: a [`StreamControl`] for the HTTP API and the loop that keeps the cluster's
/// streams monitored.
pub struct ClusterNode {
    name: String,
    ttl: Duration,
    manager: Arc<StreamManager>,
    bus: Arc<dyn EventBus>,
    kv: Buckets,
    streams: Mirror<DesiredStream>,
    leases: Mirror<Lease>,
    nodes: Mirror<NodeBeat>,
    held: Mutex<BTreeMap<String, Held>>,
    /// When this node first saw each stream waiting for a node.
    waiting: Mutex<HashMap<String, Instant>>,
    /// Streams not to claim here again before the instant (they failed to start here).
    not_before: Mutex<HashMap<String, Instant>>,
    wake: (Mutex<bool>, Condvar),
    /// Cancelled when the server stops: the loop hands its streams over and leaves.
    stop: CancellationToken,
    /// When a NATS error was last printed: an outage says so every few seconds, not per
    /// stream and tick.
    warned: Mutex<Option<Instant>>,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<ClusterNode>();
};

impl ClusterNode {
    /// Joins the cluster on `bus`'s connection and starts the loop. The loop runs until `stop`
    /// is cancelled; then it hands this node's streams over (their leases released at once,
    /// without an `ended` status) and the returned thread ends. Stop `manager`'s streams only
    /// after that thread has ended.
    pub fn join(
        config: ClusterConfig,
        bus: &JetStreamBus,
        manager: Arc<StreamManager>,
        stop: CancellationToken,
    ) -> Result<(Arc<ClusterNode>, JoinHandle<()>), String> {
        let (js, handle) = bus.connection();
        let kv = Buckets::open(js, handle, config.lease_ttl)?;
        let node = Arc::new(ClusterNode {
            streams: kv.streams_mirror(&stop),
            leases: kv.leases_mirror(&stop),
            nodes: kv.nodes_mirror(&stop),
            name: config.node,
            ttl: config.lease_ttl,
            manager,
            bus: Arc::new(bus.clone()),
            kv,
            held: Mutex::new(BTreeMap::new()),
            waiting: Mutex::new(HashMap::new()),
            not_before: Mutex::new(HashMap::new()),
            wake: (Mutex::new(false), Condvar::new()),
            stop,
            warned: Mutex::new(None),
        });
        let answering = node.clone();
        node.kv.respond(
            comments_subject(&node.name),
            Arc::new(move |payload| answering.answer_comments(&payload)),
            node.stop.clone(),
        )?;
        node.beat();
        let looping = node.clone();
        let thread = std::thread::Builder::new()
            .name("cluster".into())
            .spawn(move || looping.run())
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        Ok((node, thread))
    }

    fn run(&self) {
        let renew_every = self.ttl / 4;
        let mut last_beat = Instant::now();
        while !self.stop.is_cancelled() {
            if last_beat.elapsed() >= renew_every {
                last_beat = Instant::now();
                self.renew();
                self.beat();
            }
            self.reconcile();
            self.sleep(TICK);
        }
        self.leave();
    }

    fn sleep(&self, most: Duration) {
        let (woken, signal) = &self.wake;
        let guard = woken.lock().unwrap_or_else(|p| p.into_inner());
        let (mut guard, _) = signal
            .wait_timeout_while(guard, most, |woken| !*woken)
            .unwrap_or_else(|p| p.into_inner());
        *guard = false;
    }

    fn wake(&self) {
        let (woken, signal) = &self.wake;
        *woken.lock().unwrap_or_else(|p| p.into_inner()) = true;
        signal.notify_all();
    }

    fn held(&self) -> MutexGuard<'_, BTreeMap<String, Held>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn holds(&self, id: &str) -> bool {
        self.held().contains_key(id)
    }

    /// Renews every lease this node holds; a stream whose lease another node took stops here.
    fn renew(&self) {
        let held = self.held().clone();
        for (id, held) in held {
            let renewed = match self.kv.renew(&id, &self.name, held.revision) {
                Ok(Renewal::Renewed(revision)) => Some(revision),
                // Expired while NATS was away, nobody took it: still ours.
                Ok(Renewal::Gone) => match self.kv.claim(&id, &self.name) {
                    Ok(Claim::Won(revision)) => Some(revision),
                    Ok(Claim::Taken) => None,
                    Err(e) => {
                        self.warn(&e);
                        continue;
                    }
                },
                Ok(Renewal::Lost(other)) => {
                    eprintln!("claimwatch: stream {id}: node {other} monitors it now");
                    None
                }
                // NATS unreachable: nobody else can claim through it either; go on.
                Err(e) => {
                    self.warn(&e);
                    continue;
                }
            };
            match renewed {
                Some(revision) => {
                    if let Some(h) = self.held().get_mut(&id) {
                        h.revision = revision;
                    }
                }
                None => {
                    self.held().remove(&id);
                    self.manager.hand_over(&id);
                }
            }
        }
    }

    /// Writes this node's heartbeat: its streams and whether it has room for more.
    fn beat(&self) {
        let beat = NodeBeat {
            node: self.name.clone(),
            room: [Lang::Ja, Lang::En]
                .into_iter()
                .filter(|lang| self.manager.has_room(*lang))
                .map(|lang| lang.as_str().to_string())
                .collect(),
            streams: self.local(),
        };
        if let Err(e) = self.kv.beat(&beat) {
            self.warn(&e);
        }
    }

    /// One pass: let go of streams no longer wanted or ended, apply product changes, claim the
    /// streams waiting for this node.
    fn reconcile(&self) {
        if !self.streams.is_current() || !self.leases.is_current() {
            return;
        }
        let desired = self.streams.all();
        let ended: Vec<String> = self
            .manager
            .list()
            .into_iter()
            .filter(|s| s.state == SourceState::Ended && self.holds(&s.id))
            .map(|s| s.id)
            .collect();
        let held = self.held().clone();
        for (id, held) in held {
            match desired.get(&id) {
                // Detached on another node: said here, where it ran.
                None => {
                    self.held().remove(&id);
                    let _ = self.manager.detach(&id);
                    self.release(&id, held.revision);
                }
                // Its source ended for good: the stream is over everywhere. Its lease is kept
                // (and renewed) until the record is gone, or another node would start it again.
                Some(_) if ended.contains(&id) => match self.kv.remove_stream(&id) {
                    Ok(_) => {
                        self.held().remove(&id);
                        self.release(&id, held.revision);
                    }
                    Err(e) => self.warn(&e),
                },
                // Detached and attached again meanwhile: the old one stops, the new one waits.
                Some(seen) if seen.value.attach_id != held.attach_id => {
                    self.held().remove(&id);
                    self.manager.hand_over(&id);
                    self.release(&id, held.revision);
                }
                Some(seen) if seen.value.product_change > held.product_change => {
                    if let Some(product) = seen.value.product.clone() {
                        let _ = self.manager.set_product(&id, product);
                    }
                    if let Some(h) = self.held().get_mut(&id) {
                        h.product_change = seen.value.product_change;
                    }
                }
                Some(_) => {}
            }
        }
        self.claim_waiting(&desired);
    }

    fn release(&self, id: &str, revision: u64) {
        if let Err(e) = self.kv.release(id, revision) {
            self.warn(&e);
        }
    }

    fn claim_waiting(&self, desired: &HashMap<String, super::kv::Seen<DesiredStream>>) {
        let leases = self.leases.fresh(self.ttl);
        let now = Instant::now();
        let waiting: Vec<(String, Lang)> = {
            let held = self.held();
            let not_before = self.not_before.lock().unwrap_or_else(|p| p.into_inner());
            desired
                .iter()
                .filter(|(id, _)| !leases.contains_key(*id) && !held.contains_key(*id))
                .filter(|(id, _)| not_before.get(*id).is_none_or(|t| now >= *t))
                .map(|(id, seen)| (id.clone(), model_lang(&seen.value.request)))
                .collect()
        };
        let since: HashMap<String, Instant> = {
            let mut seen = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
            seen.retain(|id, _| waiting.iter().any(|(w, _)| w == id));
            for (id, _) in &waiting {
                seen.entry(id.clone()).or_insert(now);
            }
            seen.clone()
        };
        if waiting.is_empty() {
            return;
        }
        let mut holds: BTreeMap<String, usize> = BTreeMap::new();
        for lease in leases.values() {
            *holds.entry(lease.value.node.clone()).or_insert(0) += 1;
        }
        let beats = self.nodes.fresh(self.ttl);
        for lang in [Lang::Ja, Lang::En] {
            let ids: Vec<String> = waiting
                .iter()
                .filter(|(_, l)| *l == lang)
                .map(|(id, _)| id.clone())
                .collect();
            if ids.is_empty() {
                continue;
            }
            let mut candidates: Vec<Candidate> = beats
                .values()
                .filter(|b| b.value.node != self.name)
                .map(|b| Candidate {
                    node: b.value.node.clone(),
                    holds: holds.get(&b.value.node).copied().unwrap_or(0),
                    room: b.value.room.iter().any(|r| r == lang.as_str()),
                })
                .collect();
            candidates.push(Candidate {
                node: self.name.clone(),
                holds: self.held().len(),
                room: self.manager.has_room(lang),
            });
            let order = placement::preferences(&ids, &candidates);
            for (id, nodes) in order {
                let waited = since.get(&id).map_or(Duration::ZERO, |t| t.elapsed());
                if placement::my_turn(&nodes, &self.name, waited, GRACE) {
                    if let Some(seen) = desired.get(&id) {
                        self.take(&id, &seen.value);
                    }
                }
            }
        }
    }

    /// Claims stream `id` and starts it here.
    fn take(&self, id: &str, desired: &DesiredStream) {
        // Read before claiming: the watcher may bring this node's own lease in at any moment.
        let previous = self
            .leases
            .get(id)
            .map(|l| l.value.node)
            .filter(|n| *n != self.name);
        let revision = match self.kv.claim(id, &self.name) {
            Ok(Claim::Won(revision)) => revision,
            Ok(Claim::Taken) => return,
            Err(e) => {
                self.warn(&e);
                self.retry_later(id);
                return;
            }
        };
        self.announce_takeover(id, previous.as_deref());
        let request = desired.attach_request();
        match self.manager.attach(request) {
            Ok(_) => {
                self.held().insert(
                    id.to_string(),
                    Held {
                        revision,
                        product_change: desired.product_change,
                        attach_id: desired.attach_id.clone(),
                    },
                );
                if let Some(product) = desired.product.clone().filter(|p| p.name.is_some()) {
                    let _ = self.manager.set_product(id, product);
                }
                self.waiting
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(id);
                eprintln!("claimwatch: stream {id}: monitored on node {}", self.name);
            }
            // Full after all (the heartbeat was older than this): another node may have room.
            Err(ControlError::Unavailable(why)) => {
                self.release(id, revision);
                self.retry_later(id);
                eprintln!("claimwatch: stream {id}: not here: {why}");
            }
            // The request itself cannot run (its source refused or unreadable): on no node.
            Err(err @ (ControlError::BadRequest(_) | ControlError::Forbidden(_))) => {
                eprintln!("claimwatch: stream {id}: cannot start: {err}");
                if let Err(e) = self.kv.remove_stream(id) {
                    self.warn(&e);
                }
                self.publish_status(
                    id,
                    SourceState::Ended,
                    None,
                    format!("could not start: {err}"),
                );
                self.release(id, revision);
            }
            Err(err) => {
                eprintln!(
                    "claimwatch: stream {id}: cannot start on node {}: {err}",
                    self.name
                );
                self.release(id, revision);
                self.retry_later(id);
            }
        }
    }

    /// Prints a NATS error, at most one per [`WARN_EVERY`].
    fn warn(&self, error: &str) {
        let mut last = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
            *last = Some(Instant::now());
            eprintln!("claimwatch: cluster: {error}");
        }
    }

    fn retry_later(&self, id: &str) {
        self.not_before
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), Instant::now() + RETRY_AFTER);
    }

    /// A stream with history that did not end comes here after its node stopped: a `status`
    /// says so and how long nobody listened (since its last event).
    fn announce_takeover(&self, id: &str, previous: Option<&str>) {
        if !self.bus.knows_stream(id) {
            return;
        }
        let latest = self.bus.latest_status(id);
        let ended = latest.as_ref().is_some_and(
            |e| matches!(&e.body, EventBody::Status(s) if s.state == SourceState::Ended),
        );
        if ended {
            return; // attached again after a detach: a new start, not a takeover
        }
        let last_heard = [latest, self.bus.transcript(id).pop()]
            .into_iter()
            .flatten()
            .filter_map(|e| clock::parse_rfc3339(&e.at))
            .max();
        let gap_s = last_heard
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .map_or(0.0, |d| d.as_secs_f64());
        let from = previous.map_or(String::new(), |n| format!(" from node {n}"));
        self.publish_status(
            id,
            SourceState::Starting,
            Some(gap_s),
            format!(
                "taken over by node {}{from}; about {gap_s:.1} s of the stream since its last \
                 event were not monitored",
                self.name
            ),
        );
    }

    fn publish_status(&self, id: &str, state: SourceState, gap_s: Option<f64>, message: String) {
        let status = StreamStatus {
            state,
            stream_s: 0.0,
            lag_s: 0.0,
            rtf: 0.0,
            dropped_s: 0.0,
            gap_s,
            message: Some(message),
        };
        if let Err(e) = self.bus.publish(id, EventBody::Status(status)) {
            eprintln!("claimwatch: stream {id}: cannot record event: {e:#}");
        }
    }

    /// On shutdown: every stream handed over (stopped here without an `ended` status, its lease
    /// released so another node takes it at once) and the heartbeat removed.
    fn leave(&self) {
        let held = std::mem::take(&mut *self.held());
        for (id, held) in held {
            self.manager.hand_over(&id);
            self.release(&id, held.revision);
        }
        if let Err(e) = self.kv.forget_node(&self.name) {
            self.warn(&e);
        }
    }

    /// What the node monitoring a stream does with a batch forwarded to it.
    fn answer_comments(&self, payload: &Bytes) -> Bytes {
        let reply = match serde_json::from_slice::<CommentBatch>(payload) {
            Ok(batch) if self.holds(&batch.stream) => {
                match self.manager.post_comments(&batch.stream, batch.batch) {
                    Ok(taken) => CommentReply::Taken(taken),
                    Err(e) => refused(&e),
                }
            }
            Ok(batch) => refused(&ControlError::Unavailable(format!(
                "stream {}: it moved to another node; send the batch again",
                batch.stream
            ))),
            Err(e) => refused(&ControlError::BadRequest(format!("a forwarded batch: {e}"))),
        };
        Bytes::from(serde_json::to_vec(&reply).unwrap_or_default())
    }

    /// The stream as this node knows it: its own figures, the monitoring node's heartbeat, or
    /// a waiting stream's request.
    fn info(&self, id: &str, desired: &DesiredStream) -> StreamInfo {
        if self.holds(id) {
            if let Some(mut info) = self.manager.list().into_iter().find(|s| s.id == id) {
                info.node = Some(self.name.clone());
                return info;
            }
        }
        let lease = self.leases.fresh(self.ttl).remove(id);
        if let Some(lease) = &lease {
            let node = &lease.value.node;
            if let Some(beat) = self.nodes.get(node) {
                if let Some(mut info) = beat.value.streams.into_iter().find(|s| s.id == id) {
                    info.node = Some(node.clone());
                    return info;
                }
            }
        }
        let request = &desired.request;
        let lang = request.lang.clone().unwrap_or_else(|| AUTO.to_string());
        let origin = desired
            .product
            .as_ref()
            .map_or(request.origin.clone(), |p| p.origin.clone());
        let mut info = StreamInfo::starting(id, &request.source, &lang, origin);
        info.product = desired.product.as_ref().and_then(|p| p.name.clone());
        info.node = lease.map(|l| l.value.node);
        info
    }

    /// Waits after a `POST /streams` for the stream to be taken, refused, or still waiting.
    fn outcome(&self, id: &str, desired: &DesiredStream) -> Result<StreamInfo, ControlError> {
        let deadline = Instant::now() + ATTACH_WAIT;
        loop {
            let info = self.info(id, desired);
            if info.node.is_some() {
                return Ok(info);
            }
            let gone = self.streams.is_current()
                && self.streams.get(id).is_none()
                && matches!(self.kv.stream(id), Ok(None));
            if gone {
                let why = self
                    .bus
                    .latest_status(id)
                    .and_then(|e| match e.body {
                        EventBody::Status(s) => s.message,
                        _ => None,
                    })
                    .unwrap_or_else(|| format!("stream {id} could not start"));
                return Err(ControlError::BadRequest(why));
            }
            if Instant::now() >= deadline {
                return Ok(info);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn comments_subject(node: &str) -> String {
    format!("claimwatch.cluster.{node}.comments")
}

/// The language whose model a request loads (`auto` decodes with the multilingual one).
fn model_lang(request: &AttachRequest) -> Lang {
    request
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(Lang::Ja)
}

fn refused(err: &ControlError) -> CommentReply {
    let kind = match err {
        ControlError::NotFound(_) => "not_found",
        ControlError::Forbidden(_) => "forbidden",
        ControlError::Conflict(_) => "conflict",
        ControlError::BadRequest(_) => "bad_request",
        ControlError::Unavailable(_) => "unavailable",
        ControlError::Internal(_) => "internal",
    };
    CommentReply::Refused {
        kind: kind.into(),
        message: err.to_string(),
    }
}

fn control_error(kind: &str, message: String) -> ControlError {
    match kind {
        "not_found" => ControlError::NotFound(message),
        "forbidden" => ControlError::Forbidden(message),
        "conflict" => ControlError::Conflict(message),
        "bad_request" => ControlError::BadRequest(message),
        "unavailable" => ControlError::Unavailable(message),
        _ => ControlError::Internal(message),
    }
}

fn unavailable(e: String) -> ControlError {
    ControlError::Unavailable(format!("the cluster's state (NATS): {e}"))
}

impl StreamControl for ClusterNode {
    fn list(&self) -> Vec<StreamInfo> {
        let mut desired: Vec<(String, DesiredStream)> = self
            .streams
            .all()
            .into_iter()
            .map(|(id, seen)| (id, seen.value))
            .collect();
        desired.sort_by(|a, b| a.0.cmp(&b.0));
        desired.iter().map(|(id, d)| self.info(id, d)).collect()
    }

    fn local(&self) -> Vec<StreamInfo> {
        let held = self.held().clone();
        self.manager
            .list()
            .into_iter()
            .filter(|s| held.contains_key(&s.id))
            .map(|mut s| {
                s.node = Some(self.name.clone());
                s
            })
            .collect()
    }

    fn cluster(&self) -> Option<serde_json::Value> {
        let leases = self.leases.fresh(self.ttl);
        let mut nodes: Vec<serde_json::Value> = self
            .nodes
            .fresh(self.ttl)
            .into_values()
            .map(|beat| {
                let node = beat.value.node;
                let mut streams: Vec<&String> = leases
                    .iter()
                    .filter(|(_, l)| l.value.node == node)
                    .map(|(id, _)| id)
                    .collect();
                streams.sort();
                json!({
                    "node": node,
                    "streams": streams,
                    "room": beat.value.room,
                    "seen_s_ago": (beat.seen.elapsed().as_secs_f64() * 10.0).round() / 10.0,
                })
            })
            .collect();
        nodes.sort_by(|a, b| a["node"].as_str().cmp(&b["node"].as_str()));
        let waiting: Vec<String> = {
            let mut ids: Vec<String> = self
                .streams
                .all()
                .into_keys()
                .filter(|id| !leases.contains_key(id))
                .collect();
            ids.sort();
            ids
        };
        Some(json!({
            "node": self.name,
            "lease_ttl_s": self.ttl.as_secs_f64(),
            "nodes": nodes,
            "waiting": waiting,
        }))
    }

    fn attach(&self, request: AttachRequest) -> Result<StreamInfo, ControlError> {
        if self.stop.is_cancelled() {
            return Err(ControlError::Conflict("the server is shutting down".into()));
        }
        self.manager.check(&request)?;
        let id = request.id.clone();
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let desired = DesiredStream::new(request, format!("{}-{nanos:x}", self.name));
        if !self.kv.add_stream(&id, &desired).map_err(unavailable)? {
            return Err(ControlError::Conflict(format!(
                "stream {id} is already attached (DELETE it first)"
            )));
        }
        self.wake();
        self.outcome(&id, &desired)
    }

    fn detach(&self, id: &str) -> Result<(), ControlError> {
        let owner = self.leases.fresh(self.ttl).remove(id).map(|l| l.value.node);
        if !self.kv.remove_stream(id).map_err(unavailable)? {
            return Err(ControlError::NotFound(format!("no stream {id}")));
        }
        let held = self.held().remove(id);
        match (held, owner) {
            (Some(held), _) => {
                let detached = self.manager.detach(id);
                self.release(id, held.revision);
                detached
            }
            // The node monitoring it sees the record go and says `detached` itself.
            (None, Some(other)) if other != self.name => Ok(()),
            (None, _) => {
                self.publish_status(id, SourceState::Ended, None, DETACHED.into());
                Ok(())
            }
        }
    }

    fn set_product(&self, id: &str, request: ProductRequest) -> Result<StreamInfo, ControlError> {
        let origin = self.manager.origin_code(id, request.origin.as_deref())?;
        let product = ProductRequest {
            origin,
            name: request.name.clone(),
        };
        let changed = self
            .kv
            .change_stream(id, |d| {
                d.product = Some(product.clone());
                d.product_change += 1;
            })
            .map_err(unavailable)?
            .ok_or_else(|| ControlError::NotFound(format!("no stream {id}")))?;
        if self.holds(id) {
            let info = self.manager.set_product(id, product)?;
            if let Some(h) = self.held().get_mut(id) {
                h.product_change = h.product_change.max(changed.product_change);
            }
            let mut info = info;
            info.node = Some(self.name.clone());
            return Ok(info);
        }
        let mut info = self.info(id, &changed);
        info.origin = changed.product.as_ref().and_then(|p| p.origin.clone());
        info.product = changed.product.as_ref().and_then(|p| p.name.clone());
        Ok(info)
    }

    fn post_comments(&self, id: &str, batch: Vec<Comment>) -> Result<Taken, ControlError> {
        if self.holds(id) {
            return self.manager.post_comments(id, batch);
        }
        let Some(lease) = self.leases.fresh(self.ttl).remove(id) else {
            return Err(if self.streams.get(id).is_some() {
                ControlError::Unavailable(format!(
                    "stream {id} is waiting for a node to monitor it; send the batch again"
                ))
            } else {
                ControlError::NotFound(format!("no stream {id}"))
            });
        };
        crate::live::comments::check_batch(&batch)
            .map_err(|e| ControlError::BadRequest(format!("stream {id}: {e}")))?;
        let payload = serde_json::to_vec(&CommentBatch {
            stream: id.to_string(),
            batch,
        })
        .map_err(|e| ControlError::Internal(e.to_string()))?;
        let answer = self
            .kv
            .request(
                comments_subject(&lease.value.node),
                Bytes::from(payload),
                FORWARD_PATIENCE,
            )
            .map_err(|e| {
                ControlError::Unavailable(format!(
                    "stream {id}: node {} did not take the batch: {e}; send it again",
                    lease.value.node
                ))
            })?;
        match serde_json::from_slice::<CommentReply>(&answer) {
            Ok(CommentReply::Taken(taken)) => Ok(taken),
            Ok(CommentReply::Refused { kind, message }) => Err(control_error(&kind, message)),
            Err(e) => Err(ControlError::Internal(format!(
                "stream {id}: node {}'s answer: {e}",
                lease.value.node
            ))),
        }
    }
}
