//! The cluster's shared state in NATS JetStream key-value buckets: the one file that touches
//! async-nats' key-value store and request/reply for [`crate::cluster`].
//!
//! Input: the connection and runtime of the node's [`JetStreamBus`](crate::events::JetStreamBus)
//! and the lease TTL. Output: synchronous calls (the node's loop runs on a plain thread, HTTP
//! handlers in `spawn_blocking`) to record, claim, renew and release, plus [`Mirror`]s: each a
//! local copy of one bucket that a watcher keeps current.
//!
//! - `claimwatch-streams`: stream id → [`DesiredStream`]; no TTL.
//! - `claimwatch-leases`: stream id → [`Lease`]; max age = the lease TTL, so a lease its node
//!   stops renewing vanishes. A claim is a create (refused while the key exists) and a renewal
//!   an update on the revision the node last wrote, so two nodes never both hold a stream.
//! - `claimwatch-nodes`: node name → [`NodeBeat`]; same TTL.
//!
//! Expiry by max age sends watchers nothing, so a [`Mirror`] dates each entry by when this node
//! last saw it written, on its own clock ([`Mirror::fresh`]): no two machines' clocks are ever
//! compared. The first bucket creator's TTL holds for all nodes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation, UpdateErrorKind};
use async_nats::jetstream::{self, stream, stream::StorageType};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::records::{DesiredStream, Lease, NodeBeat};

/// Bucket names (one set per NATS account: one cluster).
pub const STREAMS_BUCKET: &str = "claimwatch-streams";
pub const LEASES_BUCKET: &str = "claimwatch-leases";
pub const NODES_BUCKET: &str = "claimwatch-nodes";

/// How long a call waits for NATS before it reports an error (the loop tries again).
const PATIENCE: Duration = Duration::from_secs(5);

/// Pause before a watcher that ended (a NATS outage) is created again.
const REWATCH_PAUSE: Duration = Duration::from_millis(500);

/// Attempts of a compare-and-set change of a desired stream that others change too.
const CAS_ATTEMPTS: usize = 10;

/// What a claim came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This node holds the lease, at this revision.
    Won(u64),
    /// Another node holds it.
    Taken,
}

/// What a renewal came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    Renewed(u64),
    /// The lease is gone (expired during an outage, or released): claim it again.
    Gone,
    /// Another node holds it now.
    Lost(String),
}

/// The three buckets of one cluster, on the node's connection.
#[derive(Clone)]
pub struct Buckets {
    handle: tokio::runtime::Handle,
    client: async_nats::Client,
    streams: kv::Store,
    leases: kv::Store,
    nodes: kv::Store,
}

impl Buckets {
    /// Opens the buckets, creating those that do not exist yet (leases and nodes with `ttl`).
    pub fn open(
        js: jetstream::Context,
        handle: tokio::runtime::Handle,
        ttl: Duration,
    ) -> Result<Buckets, String> {
        let client = js.client();
        let opened = run_on(&handle, async move {
            let streams = bucket(&js, STREAMS_BUCKET, Duration::ZERO, 8).await?;
            let leases = bucket(&js, LEASES_BUCKET, ttl, 1).await?;
            let nodes = bucket(&js, NODES_BUCKET, ttl, 1).await?;
            Ok::<_, String>((streams, leases, nodes))
        })??;
        let (streams, leases, nodes) = opened;
        Ok(Buckets {
            handle,
            client,
            streams,
            leases,
            nodes,
        })
    }

    fn run<T: Send + 'static>(
        &self,
        future: impl Future<Output = Result<T, String>> + Send + 'static,
    ) -> Result<T, String> {
        run_on(&self.handle, future)?
    }

    /// Records a stream to monitor; `Ok(false)` when the id is taken.
    pub fn add_stream(&self, id: &str, desired: &DesiredStream) -> Result<bool, String> {
        let (store, key, value) = (self.streams.clone(), id.to_string(), json(desired));
        self.run(async move {
            match store.create(&key, value).await {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == CreateErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(format!("recording stream {key}: {e}")),
            }
        })
    }

    /// The desired stream `id`, if recorded.
    pub fn stream(&self, id: &str) -> Result<Option<DesiredStream>, String> {
        Ok(self.stream_entry(id)?.map(|(desired, _)| desired))
    }

    fn stream_entry(&self, id: &str) -> Result<Option<(DesiredStream, u64)>, String> {
        let (store, key) = (self.streams.clone(), id.to_string());
        self.run(async move {
            match store.entry(key.clone()).await {
                Ok(Some(entry)) if entry.operation == Operation::Put => {
                    let desired = serde_json::from_slice(&entry.value)
                        .map_err(|e| format!("stream {key}: unreadable record: {e}"))?;
                    Ok(Some((desired, entry.revision)))
                }
                Ok(_) => Ok(None),
                Err(e) => Err(format!("reading stream {key}: {e}")),
            }
        })
    }

    /// Applies `change` to the desired stream `id` (compare-and-set, again if another node
    /// changed it in between); `Ok(None)` when it is not recorded.
    pub fn change_stream(
        &self,
        id: &str,
        change: impl Fn(&mut DesiredStream),
    ) -> Result<Option<DesiredStream>, String> {
        for _ in 0..CAS_ATTEMPTS {
            let Some((mut desired, revision)) = self.stream_entry(id)? else {
                return Ok(None);
            };
            change(&mut desired);
            let (store, key, value) = (self.streams.clone(), id.to_string(), json(&desired));
            let written = self.run(async move {
                match store.update(&key, value, revision).await {
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(false),
                    Err(e) => Err(format!("changing stream {key}: {e}")),
                }
            })?;
            if written {
                return Ok(Some(desired));
            }
        }
        Err(format!("changing stream {id}: others kept changing it"))
    }

    /// Stops monitoring `id` cluster-wide; `Ok(false)` when it was not recorded.
    pub fn remove_stream(&self, id: &str) -> Result<bool, String> {
        if self.stream_entry(id)?.is_none() {
            return Ok(false);
        }
        let (store, key) = (self.streams.clone(), id.to_string());
        self.run(async move {
            store
                .delete(&key)
                .await
                .map_err(|e| format!("removing stream {key}: {e}"))
        })?;
        Ok(true)
    }

    /// Takes the lease of `stream` for `node` if nobody holds it.
    pub fn claim(&self, stream: &str, node: &str) -> Result<Claim, String> {
        let (store, key) = (self.leases.clone(), stream.to_string());
        let value = json(&Lease {
            node: node.to_string(),
        });
        self.run(async move {
            match store.create(&key, value).await {
                Ok(revision) => Ok(Claim::Won(revision)),
                Err(e) if e.kind() == CreateErrorKind::AlreadyExists => Ok(Claim::Taken),
                Err(e) => Err(format!("claiming stream {key}: {e}")),
            }
        })
    }

    /// Renews `node`'s lease of `stream` last written at `revision`.
    pub fn renew(&self, stream: &str, node: &str, revision: u64) -> Result<Renewal, String> {
        let (store, key) = (self.leases.clone(), stream.to_string());
        let value = json(&Lease {
            node: node.to_string(),
        });
        self.run(async move {
            match store.update(&key, value, revision).await {
                Ok(revision) => return Ok(Renewal::Renewed(revision)),
                Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => {}
                Err(e) => return Err(format!("renewing the lease of {key}: {e}")),
            }
            match store.entry(key.clone()).await {
                Ok(Some(entry)) if entry.operation == Operation::Put => {
                    let holder = serde_json::from_slice::<Lease>(&entry.value)
                        .map(|l| l.node)
                        .unwrap_or_else(|_| "another node".into());
                    Ok(Renewal::Lost(holder))
                }
                Ok(_) => Ok(Renewal::Gone),
                Err(e) => Err(format!("reading the lease of {key}: {e}")),
            }
        })
    }

    /// Gives the lease of `stream` up at once (if still at `revision`), so another node need not
    /// wait for it to expire.
    pub fn release(&self, stream: &str, revision: u64) -> Result<(), String> {
        let (store, key) = (self.leases.clone(), stream.to_string());
        self.run(async move {
            match store.delete_expect_revision(&key, Some(revision)).await {
                Ok(()) => Ok(()),
                // Someone else's by now: nothing of ours to give up.
                Err(e) if e.kind() == kv::DeleteErrorKind::WrongLastRevision => Ok(()),
                Err(e) => Err(format!("releasing the lease of {key}: {e}")),
            }
        })
    }

    /// Writes `node`'s heartbeat.
    pub fn beat(&self, beat: &NodeBeat) -> Result<(), String> {
        let (store, key, value) = (self.nodes.clone(), beat.node.clone(), json(beat));
        self.run(async move {
            store
                .put(&key, value)
                .await
                .map(|_| ())
                .map_err(|e| format!("heartbeat: {e}"))
        })
    }

    /// Removes `node`'s heartbeat (leaving the cluster).
    pub fn forget_node(&self, node: &str) -> Result<(), String> {
        let (store, key) = (self.nodes.clone(), node.to_string());
        self.run(async move {
            store
                .delete(&key)
                .await
                .map_err(|e| format!("leaving the cluster: {e}"))
        })
    }

    /// A mirror of the desired streams.
    pub fn streams_mirror(&self, stop: &CancellationToken) -> Mirror<DesiredStream> {
        Mirror::start(&self.handle, self.streams.clone(), stop.clone())
    }

    /// A mirror of the leases.
    pub fn leases_mirror(&self, stop: &CancellationToken) -> Mirror<Lease> {
        Mirror::start(&self.handle, self.leases.clone(), stop.clone())
    }

    /// A mirror of the nodes' heartbeats.
    pub fn nodes_mirror(&self, stop: &CancellationToken) -> Mirror<NodeBeat> {
        Mirror::start(&self.handle, self.nodes.clone(), stop.clone())
    }

    /// Answers requests to `subject` with `answer` (run on a blocking thread) until `stop`.
    pub fn respond(
        &self,
        subject: String,
        answer: Arc<dyn Fn(Bytes) -> Bytes + Send + Sync>,
        stop: CancellationToken,
    ) -> Result<(), String> {
        let client = self.client.clone();
        let mut requests = self.run(async move {
            client
                .subscribe(subject.clone())
                .await
                .map_err(|e| format!("listening on {subject}: {e}"))
        })?;
        let client = self.client.clone();
        self.handle.spawn(async move {
            loop {
                let message = tokio::select! {
                    () = stop.cancelled() => break,
                    message = requests.next() => match message {
                        Some(message) => message,
                        None => break,
                    },
                };
                let Some(reply) = message.reply.clone() else {
                    continue;
                };
                let answer = answer.clone();
                let payload = message.payload.clone();
                let client = client.clone();
                tokio::spawn(async move {
                    if let Ok(body) = tokio::task::spawn_blocking(move || answer(payload)).await {
                        let _ = client.publish(reply, body).await;
                    }
                });
            }
        });
        Ok(())
    }

    /// Sends `payload` to `subject` and waits up to `timeout` for the answer.
    pub fn request(
        &self,
        subject: String,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, String> {
        let client = self.client.clone();
        self.run(async move {
            match tokio::time::timeout(timeout, client.request(subject.clone(), payload)).await {
                Ok(Ok(message)) => Ok(message.payload),
                Ok(Err(e)) => Err(format!("{subject}: {e}")),
                Err(_) => Err(format!("{subject}: no answer within {timeout:?}")),
            }
        })
    }
}

/// Opens bucket `name`, or creates it with max age `ttl` (zero: none).
///
/// Created as the stream a key-value bucket is (`KV_<name>` on `$KV.<name>.>`, what the client's
/// own `create_key_value` makes) rather than through that call, which first asks for the
/// account's limits in a shape Debian's nats-server 2.9 does not answer in.
async fn bucket(
    js: &jetstream::Context,
    name: &str,
    ttl: Duration,
    history: i64,
) -> Result<kv::Store, String> {
    if let Ok(store) = js.get_key_value(name).await {
        return Ok(store);
    }
    let config = stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: history,
        max_age: ttl,
        storage: StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        ..Default::default()
    };
    // Another node may create it at the same moment; either way it exists after this.
    let created = js.create_stream(config).await.err();
    js.get_key_value(name).await.map_err(|e| match created {
        Some(first) => format!("key-value bucket {name}: {first}"),
        None => format!("key-value bucket {name}: {e}"),
    })
}

fn json(value: &impl Serialize) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("cluster records serialize"))
}

/// [`crate::events::jetstream::run_on`] with [`PATIENCE`]: a KV call must not hold up the
/// node's loop (lease renewals) for longer.
fn run_on<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    future: impl Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    let patient = async move { tokio::time::timeout(PATIENCE, future).await };
    match crate::events::jetstream::run_on(handle, patient) {
        Some(Ok(value)) => Ok(value),
        Some(Err(_)) => Err(format!("NATS did not answer within {PATIENCE:?}")),
        None => Err("the NATS connection is shutting down".into()),
    }
}

/// One entry of a mirror.
#[derive(Debug, Clone)]
pub struct Seen<T> {
    pub value: T,
    pub revision: u64,
    /// When this node last saw it written.
    pub seen: Instant,
}

struct MirrorState<T> {
    entries: HashMap<String, Seen<T>>,
    /// Whether the watcher has delivered every value the bucket held when it (re)started.
    current: bool,
}

/// A local copy of one bucket, kept by a watcher that is recreated after a NATS outage.
pub struct Mirror<T> {
    state: Arc<Mutex<MirrorState<T>>>,
}

impl<T: DeserializeOwned + Clone + Send + 'static> Mirror<T> {
    fn start(handle: &tokio::runtime::Handle, store: kv::Store, stop: CancellationToken) -> Self {
        let state = Arc::new(Mutex::new(MirrorState {
            entries: HashMap::new(),
            current: false,
        }));
        handle.spawn(watch(store, state.clone(), stop));
        Mirror { state }
    }

    /// Whether the copy holds everything the bucket held when its watcher last started.
    pub fn is_current(&self) -> bool {
        self.lock().current
    }

    /// Every entry, as last seen.
    pub fn all(&self) -> HashMap<String, Seen<T>> {
        self.lock().entries.clone()
    }

    pub fn get(&self, key: &str) -> Option<Seen<T>> {
        self.lock().entries.get(key).cloned()
    }

    /// Entries written within the last `ttl` as this node saw them (live leases and nodes).
    pub fn fresh(&self, ttl: Duration) -> HashMap<String, Seen<T>> {
        self.lock()
            .entries
            .iter()
            .filter(|(_, s)| s.seen.elapsed() < ttl)
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MirrorState<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Keeps `state` equal to the bucket: every current value first, then each change; after the
/// watcher ends (NATS went away) the copy is rebuilt from a new one.
async fn watch<T: DeserializeOwned>(
    store: kv::Store,
    state: Arc<Mutex<MirrorState<T>>>,
    stop: CancellationToken,
) {
    while !stop.is_cancelled() {
        let started = async {
            let empty = store.status().await.map(|s| s.values() == 0).ok()?;
            let watch = store.watch_with_history(">").await.ok()?;
            Some((empty, watch))
        };
        let Some((empty, mut entries)) = started.await else {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(REWATCH_PAUSE) => continue,
            }
        };
        {
            let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
            state.entries.clear();
            state.current = empty;
        }
        loop {
            let entry = tokio::select! {
                () = stop.cancelled() => return,
                entry = entries.next() => entry,
            };
            let Some(Ok(entry)) = entry else { break };
            let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
            match entry.operation {
                Operation::Put => {
                    if let Ok(value) = serde_json::from_slice(&entry.value) {
                        state.entries.insert(
                            entry.key.clone(),
                            Seen {
                                value,
                                revision: entry.revision,
                                seen: Instant::now(),
                            },
                        );
                    }
                }
                Operation::Delete | Operation::Purge => {
                    state.entries.remove(&entry.key);
                }
            }
            if entry.delta == 0 || entry.seen_current {
                state.current = true;
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(REWATCH_PAUSE) => {}
        }
    }
}
