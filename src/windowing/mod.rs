//! Cutting audio into the windows Whisper decodes, for batch and live alike (pure: no I/O, no
//! whisper).
//!
//! - [`level`]: how loud a stretch of audio is, and whether it is silence.
//! - [`phrase`]: where to cut arriving live audio: at pauses, so each phrase is decoded once.
//! - [`context`]: the words of a window after the context audio it starts with.
//! - [`commit`]: which segments of a decoded window to keep, and where the next window starts.

pub mod commit;
pub mod context;
pub mod level;
pub mod phrase;
