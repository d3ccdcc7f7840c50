//! Source specifications: the text a user types (`device:NAME`, `-`, `http://…`, `…/live.m3u8`,
//! `file:PATH?realtime`) → a [`SourceSpec`], and back (`Display` round-trips through `FromStr`).
//!
//! Pure parsing: nothing here opens a file or a socket, so a typo fails fast with one line.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where live audio comes from. See the module docs of [`crate::source`] for each form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A capture device by name, or `default`: `device:NAME`.
    Device(String),
    /// Standard input: `-` (any container symphonia reads) or raw s16le with
    /// `-?format=s16le&rate=48000&channels=2`.
    Stdin(Option<RawFormat>),
    /// Progressive HTTP(S) audio as Icecast serves it (MP3, AAC in ADTS, Ogg).
    Http(String),
    /// An HLS playlist: a URL whose path ends in `.m3u8`, or `hls:URL`.
    Hls(String),
    /// A local file, decoded as fast as it reads, or paced to real time with `?realtime`.
    File { path: PathBuf, realtime: bool },
}

/// Headerless PCM on stdin: signed 16-bit little-endian, interleaved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFormat {
    pub rate: u32,
    pub channels: u16,
}

/// Why a source specification was refused; `Display` is one line naming the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad source {spec:?}: {reason}")]
pub struct SpecError {
    pub spec: String,
    pub reason: String,
}

const RATES: std::ops::RangeInclusive<u32> = 8_000..=192_000;
const CHANNELS: std::ops::RangeInclusive<u16> = 1..=8;

impl RawFormat {
    /// A raw format with its rate and channel count checked against what real hardware produces.
    pub fn new(rate: u32, channels: u16) -> Result<Self, String> {
        if !RATES.contains(&rate) {
            return Err(format!(
                "rate {rate} is out of range ({}..={} Hz)",
                RATES.start(),
                RATES.end()
            ));
        }
        if !CHANNELS.contains(&channels) {
            return Err(format!(
                "channels {channels} is out of range ({}..={})",
                CHANNELS.start(),
                CHANNELS.end()
            ));
        }
        Ok(Self { rate, channels })
    }

    /// Bytes per interleaved frame (two per s16 sample).
    pub fn frame_bytes(&self) -> usize {
        2 * usize::from(self.channels)
    }

    /// `format=s16le&rate=R&channels=C` → a checked format; keys may come in any order.
    fn parse_query(query: &str) -> Result<Self, String> {
        let (mut format, mut rate, mut channels) = (None, None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("expected key=value, got {pair:?}"))?;
            let slot = match key {
                "format" => &mut format,
                "rate" => &mut rate,
                "channels" => &mut channels,
                other => {
                    return Err(format!(
                        "unknown option {other:?} (expected format, rate, channels)"
                    ))
                }
            };
            if slot.replace(value).is_some() {
                return Err(format!("{key} given twice"));
            }
        }
        match format {
            Some("s16le") => {}
            Some(other) => return Err(format!("format {other:?} is not supported (only s16le)")),
            None => return Err("raw stdin needs format=s16le".to_string()),
        }
        let rate = rate.ok_or("raw stdin needs rate=HZ")?;
        let rate = rate
            .parse()
            .map_err(|_| format!("rate {rate:?} is not a number"))?;
        let channels = channels.ok_or("raw stdin needs channels=N")?;
        let channels = channels
            .parse()
            .map_err(|_| format!("channels {channels:?} is not a number"))?;
        Self::new(rate, channels)
    }
}

impl FromStr for SourceSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s).map_err(|reason| SpecError {
            spec: s.to_string(),
            reason,
        })
    }
}

fn parse(s: &str) -> Result<SourceSpec, String> {
    if s.is_empty() {
        return Err("empty source".to_string());
    }
    if s == "-" {
        return Ok(SourceSpec::Stdin(None));
    }
    if let Some(query) = s.strip_prefix("-?") {
        return RawFormat::parse_query(query).map(|f| SourceSpec::Stdin(Some(f)));
    }
    if let Some(name) = s.strip_prefix("device:") {
        if name.trim().is_empty() {
            return Err(
                "device name is empty (use device:default or a name from `claimwatch devices`)"
                    .to_string(),
            );
        }
        return Ok(SourceSpec::Device(name.to_string()));
    }
    if let Some(url) = s.strip_prefix("hls:") {
        check_url(url)?;
        return Ok(SourceSpec::Hls(url.to_string()));
    }
    if let Some(rest) = s.strip_prefix("file:") {
        let (path, realtime) = match rest.strip_suffix("?realtime") {
            Some(path) => (path, true),
            None => (rest, false),
        };
        if path.is_empty() {
            return Err("file path is empty".to_string());
        }
        return Ok(SourceSpec::File {
            path: PathBuf::from(path),
            realtime,
        });
    }
    if let Some((scheme, _)) = s.split_once("://") {
        let lower = scheme.to_ascii_lowercase();
        if lower == "http" || lower == "https" {
            let url = check_url(s)?;
            return Ok(if url.path().to_ascii_lowercase().ends_with(".m3u8") {
                SourceSpec::Hls(s.to_string())
            } else {
                SourceSpec::Http(s.to_string())
            });
        }
        if lower
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(format!(
                "unsupported scheme {scheme}:// (use http(s)://, hls:URL, device:NAME, file:PATH or -)"
            ));
        }
    }
    Ok(SourceSpec::File {
        path: PathBuf::from(s),
        realtime: false,
    })
}

fn check_url(s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s).map_err(|e| format!("invalid URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!("unsupported URL scheme {other:?} (http or https)")),
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Device(name) => write!(f, "device:{name}"),
            SourceSpec::Stdin(None) => f.write_str("-"),
            SourceSpec::Stdin(Some(raw)) => write!(f, "-?{raw}"),
            SourceSpec::Http(url) => f.write_str(url),
            SourceSpec::Hls(url) => {
                // A URL that does not look like a playlist needs the explicit prefix to parse back.
                let looks_hls = url::Url::parse(url)
                    .is_ok_and(|u| u.path().to_ascii_lowercase().ends_with(".m3u8"));
                if looks_hls {
                    f.write_str(url)
                } else {
                    write!(f, "hls:{url}")
                }
            }
            SourceSpec::File { path, realtime } => {
                write!(f, "file:{}", path.display())?;
                if *realtime {
                    f.write_str("?realtime")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for RawFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "format=s16le&rate={}&channels={}",
            self.rate, self.channels
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, realtime: bool) -> SourceSpec {
        SourceSpec::File {
            path: PathBuf::from(path),
            realtime,
        }
    }

    #[test]
    fn every_form_parses_and_round_trips() {
        let raw = |rate, channels| SourceSpec::Stdin(Some(RawFormat { rate, channels }));
        let table = [
            ("device:default", SourceSpec::Device("default".into())),
            ("device:USB Mic: 1", SourceSpec::Device("USB Mic: 1".into())),
            ("-", SourceSpec::Stdin(None)),
            ("-?format=s16le&rate=48000&channels=2", raw(48_000, 2)),
            ("-?channels=1&rate=8000&format=s16le", raw(8_000, 1)),
            (
                "http://127.0.0.1:8000/live",
                SourceSpec::Http("http://127.0.0.1:8000/live".into()),
            ),
            (
                "https://x.test/a.mp3?t=1",
                SourceSpec::Http("https://x.test/a.mp3?t=1".into()),
            ),
            (
                "https://x.test/live/index.m3u8",
                SourceSpec::Hls("https://x.test/live/index.m3u8".into()),
            ),
            (
                "http://x.test/L.M3U8?token=a",
                SourceSpec::Hls("http://x.test/L.M3U8?token=a".into()),
            ),
            (
                "hls:http://x.test/playlist",
                SourceSpec::Hls("http://x.test/playlist".into()),
            ),
            (
                "file:samples/en_demo.wav",
                file("samples/en_demo.wav", false),
            ),
            (
                "file:samples/en_demo.wav?realtime",
                file("samples/en_demo.wav", true),
            ),
            ("samples/en_demo.wav", file("samples/en_demo.wav", false)),
            ("/tmp/a b.mp3", file("/tmp/a b.mp3", false)),
        ];
        for (text, want) in table {
            let got: SourceSpec = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(got, want, "{text}");
            let again: SourceSpec = got.to_string().parse().unwrap();
            assert_eq!(again, want, "{text} → {got} does not round-trip");
        }
    }

    #[test]
    fn bad_specs_say_why_on_one_line() {
        let table = [
            ("", "empty source"),
            ("device:", "device name is empty"),
            ("-?format=s16le&rate=48000", "raw stdin needs channels=N"),
            ("-?rate=48000&channels=2", "raw stdin needs format=s16le"),
            (
                "-?format=f32le&rate=48000&channels=2",
                "format \"f32le\" is not supported (only s16le)",
            ),
            (
                "-?format=s16le&rate=4000&channels=2",
                "rate 4000 is out of range (8000..=192000 Hz)",
            ),
            (
                "-?format=s16le&rate=48000&channels=9",
                "channels 9 is out of range (1..=8)",
            ),
            (
                "-?format=s16le&rate=48000&channels=0",
                "channels 0 is out of range (1..=8)",
            ),
            (
                "-?format=s16le&rate=fast&channels=2",
                "rate \"fast\" is not a number",
            ),
            (
                "-?format=s16le&rate=1&rate=2&channels=2",
                "rate given twice",
            ),
            (
                "-?bits=16",
                "unknown option \"bits\" (expected format, rate, channels)",
            ),
            ("-?rate", "expected key=value, got \"rate\""),
            ("rtmp://x.test/live", "unsupported scheme rtmp://"),
            ("hls:ftp://x.test/a.m3u8", "unsupported URL scheme \"ftp\""),
            ("http://", "invalid URL"),
            ("file:", "file path is empty"),
            ("file:?realtime", "file path is empty"),
        ];
        for (text, want) in table {
            let err = text.parse::<SourceSpec>().unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("bad source {text:?}: ")) && err.contains(want),
                "{text:?}: got {err:?}, want it to contain {want:?}"
            );
            assert!(!err.contains('\n'), "{err:?} spans lines");
        }
    }

    #[test]
    fn raw_format_limits() {
        assert!(RawFormat::new(8_000, 1).is_ok());
        assert!(RawFormat::new(192_000, 8).is_ok());
        assert!(RawFormat::new(7_999, 1).is_err());
        assert!(RawFormat::new(192_001, 1).is_err());
        assert_eq!(RawFormat::new(48_000, 2).unwrap().frame_bytes(), 4);
    }
}
