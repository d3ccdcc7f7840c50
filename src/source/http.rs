//! Progressive HTTP source (Icecast/SHOUTcast style): URL → a GET whose never-ending body is
//! decoded as it arrives → `Audio` events; a lost connection → `Down`, a retry with backoff, and
//! on reconnection `Up` then the `Gap` of wall time lost.
//!
//! The container is picked from the `Content-Type` (or the URL's extension), because a
//! non-seekable stream gives the prober only one look at the first bytes.

use std::time::Instant;

use crate::audio::{AudioStream, ReadOnlySource};

use super::emit::{Emitter, Stopped};
use super::fetch::Fetcher;
use super::forward::forward;
use super::policy::NetPolicy;
use super::retry::Backoff;
use super::{reconnect, Fail};

/// Connects, streams, and reconnects until shutdown. A body that ends is a lost connection too:
/// a live radio-style stream has no end. Connects only where `net` allows, redirects included.
pub fn run(url: &str, net: NetPolicy, backoff: Backoff, em: &mut Emitter) -> Result<(), Stopped> {
    let fetcher = match Fetcher::new(em.token().clone(), net) {
        Ok(fetcher) => fetcher,
        Err(reason) => {
            em.down(reason)?;
            return em.ended();
        }
    };
    reconnect(backoff, em, |em, forwarded| {
        match session(&fetcher, url, em, forwarded) {
            Ok(()) => Fail::Error(format!("{url}: the server ended the stream")),
            Err(fail) => fail,
        }
    })
}

fn session(
    fetcher: &Fetcher,
    url: &str,
    em: &mut Emitter,
    forwarded: &mut u64,
) -> Result<(), Fail> {
    let opened = fetcher.open(url)?;
    let hint = format_hint(opened.content_type.as_deref(), url);
    let source = Box::new(ReadOnlySource::new(opened.body));
    let mut stream = match AudioStream::from_source(source, hint, url) {
        Ok(stream) => stream,
        Err(_) if em.cancelled() => return Err(Fail::Stopped),
        Err(err) => return Err(Fail::Error(err.to_string())),
    };
    let mut up_sent = false;
    forward(&mut stream, em, None::<Instant>, &mut up_sent, forwarded)
}

/// The symphonia extension hint for a stream: from the MIME type Icecast sends, else from the
/// URL path's extension, else none (let the prober guess).
pub fn format_hint(content_type: Option<&str>, url: &str) -> Option<&'static str> {
    let by_type = match content_type.unwrap_or("") {
        "audio/mpeg" | "audio/mp3" | "audio/mpeg3" => Some("mp3"),
        "audio/aac" | "audio/aacp" | "audio/x-aac" => Some("aac"),
        "audio/ogg" | "application/ogg" | "audio/vorbis" | "audio/opus" => Some("ogg"),
        "audio/flac" | "audio/x-flac" => Some("flac"),
        "audio/wav" | "audio/x-wav" | "audio/wave" => Some("wav"),
        _ => None,
    };
    by_type.or_else(|| {
        let path = url::Url::parse(url).ok()?.path().to_ascii_lowercase();
        let ext = path.rsplit_once('.')?.1.to_string();
        ["mp3", "aac", "ogg", "oga", "flac", "wav"]
            .into_iter()
            .find(|known| *known == ext)
            .map(|known| if known == "oga" { "ogg" } else { known })
    })
}

#[cfg(test)]
mod tests {
    use super::format_hint;

    #[test]
    fn hint_from_content_type_then_extension() {
        let table = [
            (Some("audio/mpeg"), "http://h/stream", Some("mp3")),
            (Some("audio/aacp"), "http://h/stream", Some("aac")),
            (Some("audio/aac"), "http://h/x.mp3", Some("aac")),
            (Some("application/ogg"), "http://h/s", Some("ogg")),
            (Some("audio/ogg"), "http://h/s", Some("ogg")),
            (
                Some("application/octet-stream"),
                "http://h/radio.MP3?x=1",
                Some("mp3"),
            ),
            (None, "http://h/live.oga", Some("ogg")),
            (None, "http://h/live", None),
            (Some("text/html"), "http://h/index.html", None),
        ];
        for (content_type, url, want) in table {
            assert_eq!(
                format_hint(content_type, url),
                want,
                "{content_type:?} {url}"
            );
        }
    }
}
