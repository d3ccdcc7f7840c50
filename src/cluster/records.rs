//! What the cluster's key-value buckets hold, as JSON: a desired stream, a lease, a node's
//! heartbeat, and the comment batches one node forwards to another. Pure serde types;
//! [`super::kv`] stores them.

use serde::{Deserialize, Serialize};

use crate::comments::Comment;
use crate::live::{AttachRequest, ProductRequest, Requester, StreamInfo};

/// A stream the cluster monitors as long as its key (the stream id) is in `claimwatch-streams`,
/// whichever nodes come and go.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredStream {
    pub request: AttachRequest,
    /// Attached by the operator (`serve --stream`), whom the source policy trusts with local
    /// sources; the request's own `by` is never serialized.
    pub operator: bool,
    /// The product on sale and its declared origin since the last `PUT /streams/{id}/product`.
    #[serde(default)]
    pub product: Option<ProductRequest>,
    /// Counts product changes, so the node monitoring the stream applies each once, and a node
    /// taking the stream over starts with the latest.
    #[serde(default)]
    pub product_change: u64,
    /// Unique to this attach: a stream detached and attached again under its id (perhaps with
    /// another source) is a new stream to the node that ran the old one.
    #[serde(default)]
    pub attach_id: String,
}

impl DesiredStream {
    /// `attach_id`: unique across the cluster (the recording node's name and the time).
    pub fn new(request: AttachRequest, attach_id: String) -> DesiredStream {
        DesiredStream {
            operator: request.by == Requester::Operator,
            request,
            product: None,
            product_change: 0,
            attach_id,
        }
    }

    /// The request to attach with on the node that claimed the stream: its requester restored
    /// and the latest declared origin in place of the first.
    pub fn attach_request(&self) -> AttachRequest {
        let mut request = self.request.clone();
        request.by = if self.operator {
            Requester::Operator
        } else {
            Requester::Api
        };
        if let Some(product) = &self.product {
            request.origin = product.origin.clone();
        }
        request
    }
}

/// The node monitoring a stream (`claimwatch-leases`, key = stream id). The bucket's max age is
/// the lease's TTL: a lease its node stops renewing disappears by itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lease {
    pub node: String,
}

/// A node's heartbeat (`claimwatch-nodes`, key = node name), renewed as its leases are.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeBeat {
    pub node: String,
    /// Languages (`ja`, `en`) of which this node would take one more stream now, by its own
    /// admission control (`--max-load`, `--max-streams`).
    pub room: Vec<String>,
    /// The streams it monitors, as its `/streams` shows them.
    pub streams: Vec<StreamInfo>,
}

/// A batch of chat comments sent to the node monitoring the stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentBatch {
    pub stream: String,
    pub batch: Vec<Comment>,
}

/// The answer to a [`CommentBatch`]: what the desk took, or why not (the
/// [`ControlError`](crate::live::ControlError) variant and its message).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentReply {
    Taken(crate::live::comments::Taken),
    Refused { kind: String, message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(by: Requester) -> AttachRequest {
        AttachRequest {
            id: "shop".into(),
            source: "https://example.invalid/live.m3u8".into(),
            origin: Some("CN".into()),
            lang: Some("en".into()),
            health: None,
            comments: None,
            by,
        }
    }

    /// The requester survives the trip through JSON (where `by` is never written), and the
    /// latest product's origin replaces the first.
    #[test]
    fn desired_stream_round_trip() {
        // (requester, product origin, origin attached with)
        let cases = [
            (Requester::Operator, None, Some("CN")),
            (Requester::Api, None, Some("CN")),
            (Requester::Api, Some(Some("JP")), Some("JP")),
            (Requester::Operator, Some(None), None),
        ];
        for (by, product, want) in cases {
            let mut desired = DesiredStream::new(request(by), "a-1".into());
            if let Some(origin) = product {
                desired.product = Some(ProductRequest {
                    origin: origin.map(String::from),
                    name: Some("serum".into()),
                });
                desired.product_change = 1;
            }
            let json = serde_json::to_vec(&desired).unwrap();
            let back: DesiredStream = serde_json::from_slice(&json).unwrap();
            let again = back.attach_request();
            assert_eq!(again.by, by);
            assert_eq!(again.origin.as_deref(), want);
            assert_eq!(back.product_change, desired.product_change);
            assert_eq!(back.attach_id, "a-1");
        }
    }
}
