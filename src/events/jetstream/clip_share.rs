//! Evidence clips across the cluster: a clip stays on the disk of the node that recorded it
//! (`DATA_DIR/clips`), and any node asked for one it does not have asks the others over NATS
//! request/reply.
//!
//! Input: an alert id on `claimwatch.clips.get`. Output: the clip's WAV bytes from the node that
//! has it; nodes without it stay silent, so the asker takes the first answer or, after
//! [`PATIENCE`], none (the recording node is gone, or the clip was pruned).

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::events::clips;

const SUBJECT: &str = "claimwatch.clips.get";

/// How long a node waits for another to answer with a clip.
pub const PATIENCE: Duration = Duration::from_secs(3);

/// Answers requests for the clips in `clips_dir` until `stop`.
pub(super) async fn answer(
    client: async_nats::Client,
    clips_dir: PathBuf,
    stop: CancellationToken,
) {
    let Ok(mut requests) = client.subscribe(SUBJECT).await else {
        eprintln!("claimwatch: cluster: cannot offer evidence clips to other nodes");
        return;
    };
    // A clip larger than the server takes in one message is served only by its own node.
    let max = client.server_info().max_payload;
    loop {
        let message = tokio::select! {
            () = stop.cancelled() => return,
            message = requests.next() => match message {
                Some(message) => message,
                None => return,
            },
        };
        let (Some(reply), Ok(alert_id)) = (message.reply, std::str::from_utf8(&message.payload))
        else {
            continue;
        };
        let read = {
            let (dir, id) = (clips_dir.clone(), alert_id.to_string());
            tokio::task::spawn_blocking(move || clips::read(&dir, &id)).await
        };
        if let Ok(Ok(Some(wav))) = read {
            if wav.len() <= max {
                let _ = client.publish(reply, wav.into()).await;
            }
        }
    }
}

/// The clip of `alert_id` from whichever node has it.
pub(super) async fn fetch(client: async_nats::Client, alert_id: String) -> Option<Vec<u8>> {
    let asked = client.request(SUBJECT, alert_id.into_bytes().into());
    match tokio::time::timeout(PATIENCE, asked).await {
        Ok(Ok(message)) => Some(message.payload.to_vec()),
        _ => None,
    }
}
