//! Live monitoring: audio that arrives as it is spoken → committed transcript → alerts, seconds
//! after the words.
//!
//! - [`phrase`]: where to cut arriving audio into windows (pure).
//! - [`context`]: keeps only the words after the context audio a window starts with (pure).
//! - [`transcriber`]: one stream's rolling-window transcription with bounded lag.
//! - [`early`]: alerts raised from a look at an unfinished phrase against its commit, and what
//!   a second listen may still add (pure).
//! - [`wall_clock`]: when stream time was said on the wall clock (alerts' `said_at`).
//! - [`runner`]: one stream's worker thread: source events → transcript, alerts, status on the
//!   [event bus](crate::events).
//! - [`control`]: what the pipeline offers its controller ([`StreamControl`]: list, attach, …).
//! - [`load`]: how much of the shared decoder each stream needs, and whether one more fits (pure).
//! - [`manager`]: the streams of a `claimwatch serve` process; implements [`StreamControl`].
//!
//! The pipeline publishes to [`crate::events::EventBus`] and never imports the HTTP layer.

pub mod context;
pub mod control;
mod drop_report;
pub mod early;
pub mod load;
pub mod manager;
pub mod phrase;
pub mod runner;
pub mod transcriber;
pub mod wall_clock;

pub use control::{
    AttachRequest, ControlError, ProductRequest, Requester, StreamControl, StreamInfo,
};
pub use manager::{ManagerConfig, ModelCache, StreamManager};
pub use phrase::PhraseConfig;
pub use transcriber::{LiveConfig, LiveStats, LiveTranscriber};
