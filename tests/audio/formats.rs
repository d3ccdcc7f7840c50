//! Every supported format, rate and layout decodes to a 16 kHz mono signal of the right length,
//! frequency and level.

use claimwatch::audio::{self, SAMPLE_RATE};

use super::{fixture, middle, rms, tone_fraction, zero_crossing_hz};

/// RMS of a sine of amplitude 0.5.
const TONE_RMS: f32 = 0.353_553_4;

struct Case {
    file: &'static str,
    rate: u32,
    channels: usize,
    secs: f64,
    hz: f32,
    rms: f32,
    /// Allowed length error in seconds: lossless formats must be sample exact; lossy codecs
    /// add priming/padding frames that not every container records.
    len_tol_s: f64,
}

const LOSSLESS: f64 = 2.0 / SAMPLE_RATE as f64;

const CASES: &[Case] = &[
    Case {
        file: "wav_u8_8k.wav",
        rate: 8_000,
        channels: 1,
        secs: 1.0,
        hz: 440.0,
        rms: TONE_RMS,
        len_tol_s: LOSSLESS,
    },
    Case {
        file: "wav_s16_16k.wav",
        rate: 16_000,
        channels: 1,
        secs: 1.0,
        hz: 440.0,
        rms: TONE_RMS,
        len_tol_s: LOSSLESS,
    },
    Case {
        file: "wav_s24_44k.wav",
        rate: 44_100,
        channels: 1,
        secs: 0.5,
        hz: 440.0,
        rms: TONE_RMS,
        len_tol_s: LOSSLESS,
    },
    Case {
        file: "wav_s32_22k.wav",
        rate: 22_050,
        channels: 1,
        secs: 0.5,
        hz: 440.0,
        rms: TONE_RMS,
        len_tol_s: LOSSLESS,
    },
    Case {
        file: "wav_f32_48k.wav",
        rate: 48_000,
        channels: 1,
        secs: 0.25,
        hz: 440.0,
        rms: TONE_RMS,
        len_tol_s: LOSSLESS,
    },
    Case {
        file: "wav_s16_11111.wav",
        rate: 11_111,
        channels: 1,
        secs: 1.0,
        hz: 440.0,
        rms: TONE_RMS,
        len_tol_s: LOSSLESS,
    },
    Case {
        file: "flac_1k_44k.flac",
        rate: 44_100,
        channels: 1,
        secs: 1.0,
        hz: 1000.0,
        rms: TONE_RMS,
        len_tol_s: LOSSLESS,
    },
    Case {
        file: "flac_96k.flac",
        rate: 96_000,
        channels: 1,
        secs: 0.25,
        hz: 440.0,
        rms: TONE_RMS,
        len_tol_s: LOSSLESS,
    },
    // L = tone, R = silence: averaging halves the amplitude.
    Case {
        file: "stereo_left_44k.flac",
        rate: 44_100,
        channels: 2,
        secs: 0.5,
        hz: 440.0,
        rms: TONE_RMS / 2.0,
        len_tol_s: LOSSLESS,
    },
    // Tone on channel 1 of 6.
    Case {
        file: "six_ch_48k.flac",
        rate: 48_000,
        channels: 6,
        secs: 0.5,
        hz: 440.0,
        rms: TONE_RMS / 6.0,
        len_tol_s: LOSSLESS,
    },
    Case {
        file: "mp3_44k.mp3",
        rate: 44_100,
        channels: 1,
        secs: 1.0,
        hz: 440.0,
        rms: TONE_RMS,
        len_tol_s: 0.03,
    },
    Case {
        file: "ogg_stereo_44k.ogg",
        rate: 44_100,
        channels: 2,
        secs: 1.0,
        hz: 440.0,
        rms: TONE_RMS,
        len_tol_s: 0.03,
    },
    Case {
        file: "aac_48k.aac",
        rate: 48_000,
        channels: 1,
        secs: 1.0,
        hz: 440.0,
        rms: TONE_RMS,
        len_tol_s: 0.07,
    },
    Case {
        file: "m4a_44k.m4a",
        rate: 44_100,
        channels: 1,
        secs: 1.0,
        hz: 440.0,
        rms: TONE_RMS,
        len_tol_s: 0.07,
    },
    Case {
        file: "video_with_audio.mp4",
        rate: 48_000,
        channels: 1,
        secs: 1.0,
        hz: 440.0,
        rms: TONE_RMS,
        len_tol_s: 0.07,
    },
    Case {
        file: "video_with_audio.mov",
        rate: 48_000,
        channels: 1,
        secs: 1.0,
        hz: 440.0,
        rms: TONE_RMS,
        len_tol_s: 0.07,
    },
];

#[test]
fn each_format_decodes_to_the_right_signal() {
    let mut failures = Vec::new();
    for case in CASES {
        if let Err(why) = check(case) {
            failures.push(format!("{}: {why}", case.file));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn check(case: &Case) -> Result<(), String> {
    let path = fixture(case.file);
    let stream = audio::open(&path).map_err(|e| e.to_string())?;
    let (rate, channels, duration) = (
        stream.source_rate(),
        stream.source_channels(),
        stream.duration_s(),
    );
    drop(stream);
    let samples = audio::read_all(&path).map_err(|e| e.to_string())?;

    let mut errs = Vec::new();
    if (rate, channels) != (case.rate, case.channels) {
        errs.push(format!(
            "source {rate} Hz × {channels}, want {} Hz × {}",
            case.rate, case.channels
        ));
    }
    let secs = samples.len() as f64 / f64::from(SAMPLE_RATE);
    if (secs - case.secs).abs() > case.len_tol_s {
        errs.push(format!(
            "{} samples = {secs:.4} s, want {} s ± {}",
            samples.len(),
            case.secs,
            case.len_tol_s
        ));
    }
    if let Some(d) = duration {
        if (d - case.secs).abs() > case.len_tol_s.max(0.001) {
            errs.push(format!("duration_s {d:.4}, want {}", case.secs));
        }
    }
    let mid = middle(&samples);
    let hz = zero_crossing_hz(mid);
    if (hz - case.hz).abs() > case.hz * 0.005 {
        errs.push(format!("tone at {hz:.1} Hz, want {}", case.hz));
    }
    let share = tone_fraction(mid, case.hz);
    if share < 0.95 {
        errs.push(format!("only {share:.3} of the power is at {} Hz", case.hz));
    }
    let level = rms(mid);
    if (level - case.rms).abs() > case.rms * 0.05 {
        errs.push(format!("rms {level:.4}, want {:.4}", case.rms));
    }
    eprintln!(
        "{}: {} samples, {hz:.1} Hz, share {share:.4}, rms {level:.4}, duration_s {duration:?}",
        case.file,
        samples.len()
    );
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// Sample-exact timing: the first rising zero crossing of a sine that starts at t=0 must be
/// at output sample ~0, not shifted by the resampler's delay.
#[test]
fn resampled_tone_starts_at_time_zero() {
    for file in [
        "wav_s24_44k.wav",
        "wav_f32_48k.wav",
        "wav_u8_8k.wav",
        "wav_s16_11111.wav",
    ] {
        let samples = audio::read_all(&fixture(file)).unwrap();
        // sin(2π·440·t) starts at 0 rising; the first peak is at 1/(4·440) s = 9.09 samples.
        let peak = samples[..30]
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .unwrap();
        assert!(
            (8..=10).contains(&peak),
            "{file}: first peak at sample {peak}, want 9"
        );
    }
}

#[test]
fn speech_is_decoded_with_plausible_level_and_length() {
    let path = fixture("speech_22k.wav");
    let stream = audio::open(&path).unwrap();
    assert_eq!(
        (stream.source_rate(), stream.source_channels()),
        (22_050, 1)
    );
    let want = stream.duration_s().unwrap();
    drop(stream);
    let samples = audio::read_all(&path).unwrap();
    let got = samples.len() as f64 / f64::from(SAMPLE_RATE);
    assert!((got - want).abs() < 0.001, "{got} s vs header {want} s");
    let level = rms(&samples);
    assert!((0.02..0.5).contains(&level), "speech rms {level}");
    assert!(samples.iter().all(|v| v.abs() <= 1.0));
}
