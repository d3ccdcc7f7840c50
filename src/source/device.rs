//! Capture devices: `device:NAME` → the device's default input config, any sample format →
//! f32 → downmix + resample to 16 kHz mono → `Audio` events; a stream error → `Down`, rebuild
//! with backoff, and the `Gap` of wall time lost. Also [`list_devices`] for `claimwatch devices`.
//!
//! The only file that touches cpal. cpal streams are not `Send` on every platform, so the stream
//! is built and dropped on the source thread; its callback (on cpal's audio thread) only converts
//! samples and hands them over a bounded channel, never blocking the audio thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};

use crate::audio::Resampler;

use super::emit::{Emitter, Stopped, TICK};
use super::retry::Backoff;
use super::{reconnect, Fail};

/// An input device as `claimwatch devices` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The host's identifier (ALSA: `hw:CARD=USB,DEV=0`, `null`, `default`); `device:ID` matches
    /// it, as it matches the name.
    pub id: Option<String>,
    /// The human-readable name (ALSA gives the card's description).
    pub name: String,
    /// The default input config, if the device reports one.
    pub default_rate: Option<u32>,
    pub default_channels: Option<u16>,
    /// The host's default input device (`device:default`).
    pub is_default: bool,
}

/// Listing devices failed (no audio system at all); `Display` is one line.
#[derive(Debug, thiserror::Error)]
#[error("audio devices: {0}")]
pub struct DeviceError(String);

/// The input devices of the default host (ALSA on Linux, CoreAudio, WASAPI).
pub fn list_devices() -> Result<Vec<DeviceInfo>, DeviceError> {
    let host = cpal::default_host();
    let default_name = host.default_input_device().map(|d| d.to_string());
    let devices = host
        .input_devices()
        .map_err(|e| DeviceError(e.to_string()))?;
    Ok(devices
        .map(|device| {
            let name = device.to_string();
            let config = device.default_input_config().ok();
            DeviceInfo {
                id: device.id().ok().map(|id| id.id().to_string()),
                is_default: default_name.as_deref() == Some(name.as_str()),
                default_rate: config.as_ref().map(|c| c.sample_rate()),
                default_channels: config.as_ref().map(|c| c.channels()),
                name,
            }
        })
        .collect())
}

/// Messages from cpal's callbacks to the source thread.
enum Msg {
    /// Interleaved f32 frames.
    Data(Vec<f32>),
    Error(String),
}

/// Blocks of audio in flight between the callback and the source thread: ~10 s at 10 ms
/// callbacks. When full, the callback drops the block and counts it as lost.
const IN_FLIGHT: usize = 1_000;

/// Captures until shutdown, rebuilding the stream after errors.
pub fn run(name: &str, backoff: Backoff, em: &mut Emitter) -> Result<(), Stopped> {
    reconnect(backoff, em, |em, forwarded| {
        match capture(name, em, forwarded) {
            Ok(()) => Fail::Stopped,
            Err(fail) => fail,
        }
    })
}

/// One stream's life: `Ok` only on shutdown.
fn capture(name: &str, em: &mut Emitter, forwarded: &mut u64) -> Result<(), Fail> {
    let label = format!("device:{name}");
    let fail = |what: &str, e: &dyn std::fmt::Display| Fail::Error(format!("{label}: {what}: {e}"));
    let device = find(name).map_err(|e| Fail::Error(format!("{label}: {e}")))?;
    let config = device
        .default_input_config()
        .map_err(|e| fail("no default input config", &e))?;
    let channels = usize::from(config.channels());
    let rate = config.sample_rate();
    let mut resampler = Resampler::new(rate, channels).map_err(|e| fail("resampler", &e))?;

    let (tx, rx) = sync_channel(IN_FLIGHT);
    let dropped = Arc::new(AtomicU64::new(0));
    let stream = build(
        &device,
        config.sample_format(),
        config.config(),
        tx,
        Arc::clone(&dropped),
    )
    .map_err(|e| Fail::Error(format!("{label}: {e}")))?;
    stream
        .play()
        .map_err(|e| fail("cannot start capture", &e))?;
    pump(&rx, em, &mut resampler, rate, &dropped, forwarded).map_err(|reason| match reason {
        Fail::Error(r) => Fail::Error(format!("{label}: {r}")),
        stopped => stopped,
    })
}

fn pump(
    rx: &Receiver<Msg>,
    em: &mut Emitter,
    resampler: &mut Resampler,
    rate: u32,
    dropped: &AtomicU64,
    forwarded: &mut u64,
) -> Result<(), Fail> {
    let mut out = Vec::new();
    let mut up_sent = false;
    loop {
        if em.cancelled() {
            return Err(Fail::Stopped);
        }
        let block = match rx.recv_timeout(TICK) {
            Ok(Msg::Data(block)) => block,
            Ok(Msg::Error(e)) => return Err(Fail::Error(e)),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Fail::Error("the capture stream stopped".to_string()))
            }
        };
        out.clear();
        resampler
            .process(&block, &mut out)
            .map_err(|e| Fail::Error(e.to_string()))?;
        if !up_sent {
            em.up()?;
            up_sent = true;
        }
        // Frames the callback had to drop (we fell behind) are stream time without audio.
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            em.flush()?;
            em.gap(lost as f64 / f64::from(rate))?;
        }
        em.audio(&out)?;
        *forwarded += out.len() as u64;
    }
}

fn find(name: &str) -> Result<cpal::Device, String> {
    let host = cpal::default_host();
    if name == "default" {
        return host
            .default_input_device()
            .ok_or_else(|| "no default input device (see `claimwatch devices`)".to_string());
    }
    let devices = host.input_devices().map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    for device in devices {
        let id = device.id().ok();
        // Accept the bare id (`hw:0,0`), the host-qualified id (`alsa:hw:0,0`) or the name.
        let matches = device.to_string() == name
            || id
                .as_ref()
                .is_some_and(|id| id.id() == name || id.to_string() == name);
        if matches {
            return Ok(device);
        }
        names.push(id.map_or_else(|| device.to_string(), |id| id.id().to_string()));
    }
    Err(if names.is_empty() {
        "no input devices on this machine".to_string()
    } else {
        format!(
            "no input device named {name:?} (have: {})",
            names.join(", ")
        )
    })
}

fn build(
    device: &cpal::Device,
    format: SampleFormat,
    config: cpal::StreamConfig,
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
) -> Result<cpal::Stream, String> {
    match format {
        SampleFormat::I8 => build_typed::<i8>(device, config, tx, dropped),
        SampleFormat::I16 => build_typed::<i16>(device, config, tx, dropped),
        SampleFormat::I32 => build_typed::<i32>(device, config, tx, dropped),
        SampleFormat::I64 => build_typed::<i64>(device, config, tx, dropped),
        SampleFormat::U8 => build_typed::<u8>(device, config, tx, dropped),
        SampleFormat::U16 => build_typed::<u16>(device, config, tx, dropped),
        SampleFormat::U32 => build_typed::<u32>(device, config, tx, dropped),
        SampleFormat::U64 => build_typed::<u64>(device, config, tx, dropped),
        SampleFormat::F32 => build_typed::<f32>(device, config, tx, dropped),
        SampleFormat::F64 => build_typed::<f64>(device, config, tx, dropped),
        other => Err(format!("unsupported sample format {other}")),
    }
}

fn build_typed<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
) -> Result<cpal::Stream, String>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = u64::from(config.channels).max(1);
    let err_tx = tx.clone();
    device
        .build_input_stream::<T, _, _>(
            config,
            move |data: &[T], _| {
                let block: Vec<f32> = data.iter().map(|s| s.to_sample::<f32>()).collect();
                if let Err(TrySendError::Full(_)) = tx.try_send(Msg::Data(block)) {
                    dropped.fetch_add(data.len() as u64 / channels, Ordering::Relaxed);
                }
            },
            move |err| {
                let _ = err_tx.try_send(Msg::Error(err.to_string()));
            },
            Some(Duration::from_secs(5)),
        )
        .map_err(|e| format!("cannot open capture stream: {e}"))
}
