//! A claimwatch cluster (`serve --nats URL --node NAME`): which node monitors which stream, and
//! what happens when a node dies.
//!
//! Input: attach, detach, product and comment requests from any node's HTTP API (this module
//! implements [`StreamControl`](crate::live::StreamControl) over the node's own
//! [`StreamManager`](crate::live::StreamManager)), and the other nodes' leases and heartbeats.
//! Output: streams started and stopped on this node, and a `status` event with `gap_s` when a
//! stream moves to this node after its node stopped.
//!
//! - **Desired state** ([`kv`], bucket `claimwatch-streams`): `POST /streams` on any node records
//!   the request; the stream is monitored while the record exists, whichever nodes come and go.
//! - **Leases** (`claimwatch-leases`, max age = the lease TTL, 10 s by default): the node that
//!   monitors a stream renews its lease every TTL/4. A node that dies stops renewing; the key
//!   expires and another node claims it within about the TTL, starting from the source's live
//!   edge. A claim only succeeds on an absent key, so no stream is ever monitored twice.
//! - **Heartbeats** (`claimwatch-nodes`): each node's streams, figures and whether its admission
//!   control has room, so every node answers `/streams` for all, and [`placement`] spreads
//!   streams over the nodes with room.
//! - **Comments** posted to a node that does not monitor the stream are forwarded to the node
//!   that does (NATS request/reply), whose comment desk judges them.
//!
//! The event history is the shared JetStream stream of [`JetStreamBus`](crate::events::JetStreamBus);
//! this module only decides who publishes for which stream.

pub mod kv;
mod node;
pub mod placement;
pub mod records;

pub use node::{ClusterConfig, ClusterNode};

/// Node names appear in subjects and keys: 1 to 64 of A-Z a-z 0-9 - _ (as stream ids).
pub fn check_node_name(name: &str) -> Result<(), String> {
    crate::events::check_stream_id(name)
        .map_err(|_| format!("--node {name:?}: use 1 to 64 characters from A-Z a-z 0-9 - _"))
}
