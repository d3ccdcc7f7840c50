//! Live monitoring: audio that arrives as it is spoken → committed transcript → alerts, seconds
//! after the words.
//!
//! - Where windows are cut and which words are kept: [`crate::windowing`] (shared with batch).
//! - [`transcriber`]: one stream's rolling-window transcription with bounded lag.
//! - [`early`]: alerts raised from a look at an unfinished phrase against its commit, and what
//!   a second listen may still add (pure).
//! - [`evidence`]: the audio around each alert, cut from the stream's recent audio (pure).
//! - [`health`]: silence, source down, dropped audio, clipping, lag: changes only (pure).
//! - [`wall_clock`]: when stream time was said on the wall clock (alerts' `said_at`).
//! - [`runner`]: one stream's worker thread: source events → transcript, alerts, status on the
//!   [event bus](crate::events).
//! - [`control`]: what the pipeline offers its controller ([`StreamControl`]: list, attach, …).
//! - [`load`]: how much of the shared decoder each stream needs, and whether one more fits (pure).
//! - [`comments`]: a stream's chat: comments recorded once, checked, alerted or escalated.
//! - [`comment_feed`]: a stream's JSON-lines comment feed (file, stdin or HTTP) into its desk.
//! - [`manager`]: the streams of a `claimwatch serve` process; implements [`StreamControl`].
//!
//! The pipeline publishes to [`crate::events::EventBus`] and never imports the HTTP layer.

pub mod comment_feed;
pub mod comments;
pub mod control;
mod drop_report;
pub mod early;
pub mod evidence;
pub mod health;
pub mod load;
pub mod manager;
pub mod runner;
pub mod transcriber;
pub mod turns;
pub mod wall_clock;

pub use crate::windowing::phrase::PhraseConfig;
pub use control::{
    AttachRequest, ControlError, ProductRequest, Requester, StreamControl, StreamInfo,
};
pub use manager::{ManagerConfig, ModelCache, StreamManager};
pub use transcriber::{LiveConfig, LiveStats, LiveTranscriber};
