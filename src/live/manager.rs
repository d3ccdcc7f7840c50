//! The streams one `claimwatch serve` process monitors: attach, detach, product changes, and the
//! figures the HTTP API reports. Implements [`StreamControl`] for the server.
//!
//! Each attached stream is two threads — its source ([`crate::source`]) and its worker
//! ([`StreamWorker`]) — joined by a bounded channel. All streams share one loaded model per
//! language ([`ModelCache`]) and take turns decoding ([`DecodeTurns`], oldest audio first), since one decode already
//! uses every core.
//!
//! Before a source opens, the [source policy](crate::source::policy) decides whether the
//! requester may open it; an API client learns only that it was refused or could not be
//! opened, and the server log gets the reason.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio_util::sync::CancellationToken;

use crate::comments::{Comment, CommentDetector};
use crate::detect::{Detector, Lang};
use crate::events::{check_stream_id, EventBody, EventBus, SourceState, StreamStatus};
use crate::live::comment_feed::{self, FeedSpec};
use crate::live::comments::{check_batch, CommentDesk, Taken};
use crate::live::control::{
    AttachRequest, ControlError, ProductRequest, Requester, StreamControl, StreamInfo,
};
use crate::live::load::{self, admit, Admission, StreamLoad};
use crate::live::runner::{StreamShared, StreamWorker};
use crate::live::transcriber::LiveConfig;
use crate::live::turns::DecodeTurns;
use crate::source::policy::{self, Refused};
use crate::source::{self, NetPolicy, RetryConfig, SourceSpec};
use crate::transcribe::model_path;
use crate::transcribe::whisper::{DecodeOptions, LoadOptions, WhisperModel};

/// Source events buffered between a source and its worker: at ~100 ms per chunk, about a
/// minute, more than the longest decode; the worker's own lag bound drops audio beyond that.
const CHANNEL_CHUNKS: usize = 600;

/// The message of the `ended` status a detached stream's last event carries.
pub const DETACHED: &str = "detached";
/// `lang` of a stream whose language the first words decide.
pub const AUTO: &str = "auto";

/// One loaded model per path, shared by every stream that needs it.
pub struct ModelCache {
    ja: Option<PathBuf>,
    en: Option<PathBuf>,
    loaded: Mutex<HashMap<PathBuf, Arc<WhisperModel>>>,
}

impl ModelCache {
    /// `ja`/`en`: model files to use for each language (default: models/ lookup).
    pub fn new(ja: Option<PathBuf>, en: Option<PathBuf>) -> ModelCache {
        ModelCache {
            ja,
            en,
            loaded: Mutex::new(HashMap::new()),
        }
    }

    pub fn path_for(&self, lang: Lang) -> Result<PathBuf> {
        match lang {
            Lang::Ja => self
                .ja
                .clone()
                .map_or_else(|| model_path::default_model(false), Ok),
            Lang::En => self
                .en
                .clone()
                .map_or_else(|| model_path::default_model(true), Ok),
        }
    }

    pub fn get(&self, lang: Lang) -> Result<Arc<WhisperModel>> {
        let path = self.path_for(lang)?;
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(model) = loaded.get(&path) {
            return Ok(model.clone());
        }
        let model = Arc::new(WhisperModel::load(&path, LoadOptions::default())?);
        loaded.insert(path, model.clone());
        Ok(model)
    }
}

/// Settings every stream shares.
pub struct ManagerConfig {
    /// Threads of one decode slot (a stream alone at the decoder takes every slot's).
    pub threads: usize,
    /// Decodes at once, each its own stream's, with `threads` each.
    pub decoders: usize,
    pub live: LiveConfig,
    pub retry: RetryConfig,
    /// Decode load (required decode seconds per wall second, summed over streams, as a share
    /// of the `decoders`) above which another stream is refused: 1.0 is everything the decoders
    /// can do in real time.
    pub max_load: f64,
    /// Streams attached at once, whatever their load (each holds two threads and buffers).
    pub max_streams: usize,
    /// Addresses network sources may connect to (`--allow-private-sources`: any).
    pub net: NetPolicy,
    /// Whether API clients may attach file, device and stdin sources (`--allow-local-sources`);
    /// the operator always may.
    pub allow_local_sources: bool,
}

struct Attached {
    lang: Lang,
    shared: Arc<StreamShared>,
    desk: Arc<CommentDesk>,
    cancel: CancellationToken,
    threads: Vec<JoinHandle<()>>,
}

/// The streams of one server process.
pub struct StreamManager {
    bus: Arc<dyn EventBus>,
    detector: Detector,
    comments: CommentDetector,
    models: ModelCache,
    config: ManagerConfig,
    decode_turns: Arc<DecodeTurns>,
    shutdown: CancellationToken,
    /// Held only for quick bookkeeping, never across a model load or a source opening: `/healthz`
    /// and listing read it.
    streams: Mutex<BTreeMap<String, Attached>>,
    /// Last trusted load per language from streams that ended or were detached.
    measured: Mutex<HashMap<Lang, f64>>,
}

// Shared between axum handlers and the CLI.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<StreamManager>();
};

impl StreamManager {
    pub fn new(
        bus: Arc<dyn EventBus>,
        detector: Detector,
        comments: CommentDetector,
        models: ModelCache,
        config: ManagerConfig,
        shutdown: CancellationToken,
    ) -> StreamManager {
        StreamManager {
            bus,
            detector,
            comments,
            models,
            decode_turns: Arc::new(DecodeTurns::new(config.decoders)),
            config,
            shutdown,
            streams: Mutex::new(BTreeMap::new()),
            measured: Mutex::new(HashMap::new()),
        }
    }

    /// Cancels every stream and waits up to `timeout` for their threads.
    pub fn shutdown(&self, timeout: Duration) {
        let attached: Vec<Attached> = {
            let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut *streams).into_values().collect()
        };
        for a in &attached {
            a.cancel.cancel();
        }
        let deadline = Instant::now() + timeout;
        for a in attached {
            for thread in a.threads {
                while !thread.is_finished() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                if thread.is_finished() {
                    let _ = thread.join();
                }
            }
        }
    }

    /// Claims `id` for a new stream if it is free and the server has room for it.
    fn reserve(
        &self,
        id: &str,
        lang: Lang,
        shared: &Arc<StreamShared>,
        desk: &Arc<CommentDesk>,
        cancel: &CancellationToken,
    ) -> Result<(), ControlError> {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = streams.get(id) {
            if existing.shared.snapshot().state != SourceState::Ended {
                return Err(ControlError::Conflict(format!(
                    "stream {id} is already attached (DELETE it first)"
                )));
            }
            self.remember(existing);
        }
        self.admission(&streams, lang)
            .map_err(|why| ControlError::Unavailable(format!("stream {id}: {why}")))?;
        streams.insert(
            id.to_string(),
            Attached {
                lang,
                shared: shared.clone(),
                desk: desk.clone(),
                cancel: cancel.clone(),
                threads: Vec::new(),
            },
        );
        Ok(())
    }

    /// Whether another stream of `lang` fits beside `streams`: `Err` says why not (the stream
    /// count, or the decode load admission control measures).
    fn admission(&self, streams: &BTreeMap<String, Attached>, lang: Lang) -> Result<(), String> {
        let running: Vec<&Attached> = streams
            .values()
            .filter(|a| a.shared.snapshot().state != SourceState::Ended)
            .collect();
        if running.len() >= self.config.max_streams {
            return Err(format!(
                "the server already monitors {} streams (--max-streams)",
                running.len()
            ));
        }
        let loads: Vec<StreamLoad> = running
            .iter()
            .map(|a| {
                let info = a.shared.snapshot();
                StreamLoad {
                    same_lang: a.lang == lang,
                    load: info.load,
                    stream_s: info.stream_s,
                }
            })
            .collect();
        let known = self
            .measured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&lang)
            .copied();
        match admit(&loads, known, self.config.max_load) {
            Admission::Refuse { load, expected } => Err(format!(
                "no decoding capacity: the streams attached need {load:.2} of the decoders and a \
                 {} stream about {expected:.2} more (limit {:.2}, --max-load); every stream \
                 would fall behind",
                lang.as_str(),
                self.config.max_load
            )),
            Admission::Admit => Ok(()),
        }
    }

    /// Whether this server would admit another stream of `lang` now (a cluster node asks before
    /// it claims one).
    pub fn has_room(&self, lang: Lang) -> bool {
        let streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        self.admission(&streams, lang).is_ok()
    }

    /// Checks `request` as [`attach`](StreamControl::attach) would (id, language, origin,
    /// health, source and feed against the policy) without starting anything; the language
    /// whose model it would load. A cluster node checks a request before recording it.
    pub fn check(&self, request: &AttachRequest) -> Result<Lang, ControlError> {
        let (lang, ..) = self.validate(request)?;
        self.feed(request)?;
        Ok(lang)
    }

    /// Stops stream `id` here without saying it ended: another node goes on with it (a cluster
    /// node that lost the stream's lease, or hands it over on shutdown). Whether it ran here.
    pub fn hand_over(&self, id: &str) -> bool {
        let Some(attached) = self
            .streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id)
        else {
            return false;
        };
        self.remember(&attached);
        // The worker says nothing more once it sees this (as after a detach).
        attached.shared.detached.store(true, Ordering::SeqCst);
        attached.cancel.cancel();
        true
    }

    /// The slow part of attaching, without the streams lock: the model (loaded once per
    /// language), the source thread (which may open a file or a FIFO), the worker thread.
    /// `detect_lang`: the words decide the language; `lang` only picks the (multilingual) model.
    #[allow(clippy::too_many_arguments)]
    fn start(
        &self,
        request: &AttachRequest,
        lang: Lang,
        detect_lang: bool,
        origin: Option<String>,
        spec: SourceSpec,
        feed: Option<FeedSpec>,
        shared: &Arc<StreamShared>,
        desk: &Arc<CommentDesk>,
        cancel: &CancellationToken,
    ) -> Result<Vec<JoinHandle<()>>, ControlError> {
        let model = self
            .models
            .get(lang)
            .map_err(|e| ControlError::Internal(format!("{e:#}")))?;
        let (tx, rx) = sync_channel(CHANNEL_CHUNKS);
        let net = self.config.net.clone();
        // A file read as fast as it decodes is always "behind"; its second listens delay no
        // viewer-facing alert, so they are never skipped.
        let unpaced = matches!(
            spec,
            SourceSpec::File {
                realtime: false,
                ..
            }
        );
        let source_thread = source::spawn(spec, self.config.retry, net, tx, cancel.clone())
            .map_err(|e| open_failed(request, &e))?;
        let worker = StreamWorker {
            id: request.id.clone(),
            lang,
            bus: self.bus.clone(),
            model,
            detector: self.detector.clone(),
            declared_origin: origin,
            options: DecodeOptions {
                language: (!detect_lang).then(|| lang.as_str().to_string()),
                threads: self.config.threads,
                ..DecodeOptions::default()
            },
            live: LiveConfig {
                health: request.health.unwrap_or(self.config.live.health),
                second_listen_max_behind_s: if unpaced {
                    f64::INFINITY
                } else {
                    self.config.live.second_listen_max_behind_s
                },
                ..self.config.live.clone()
            },
            decode_turns: self.decode_turns.clone(),
            shared: shared.clone(),
        };
        let worker_cancel = cancel.clone();
        let worker_thread = std::thread::Builder::new()
            .name(format!("stream-{}", request.id))
            .spawn(move || worker.run(rx, worker_cancel))
            .map_err(|e| ControlError::Internal(format!("cannot start a thread: {e}")))?;
        let mut threads = vec![source_thread, worker_thread];
        if let Some(feed) = feed {
            let thread = comment_feed::spawn(
                feed,
                desk.clone(),
                self.config.net.clone(),
                cancel.clone(),
                request.id.clone(),
            )
            .map_err(|e| ControlError::Internal(format!("cannot start a thread: {e}")))?;
            threads.push(thread);
        }
        Ok(threads)
    }

    /// The request's comment feed, parsed and checked against the source policy.
    fn feed(&self, request: &AttachRequest) -> Result<Option<FeedSpec>, ControlError> {
        let Some(text) = request.comments.as_deref() else {
            return Ok(None);
        };
        let id = &request.id;
        let feed: FeedSpec = text
            .parse()
            .map_err(|e| ControlError::BadRequest(format!("stream {id}: {e}")))?;
        let allow_local = request.by == Requester::Operator || self.config.allow_local_sources;
        feed.check(allow_local, &self.config.net)
            .map_err(|refused| refusal(request, &refused))?;
        Ok(Some(feed))
    }

    /// Keeps what a stream that is going away was measured to need, for admitting the next one.
    fn remember(&self, attached: &Attached) {
        let info = attached.shared.snapshot();
        if info.stream_s >= load::WARM_UP_S && info.load > 0.0 {
            self.measured
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(attached.lang, info.load);
        }
    }

    fn validate(
        &self,
        request: &AttachRequest,
    ) -> Result<(Lang, bool, Option<String>, SourceSpec), ControlError> {
        let id = &request.id;
        check_stream_id(id).map_err(ControlError::BadRequest)?;
        // `auto`, the default as in `audit` and `detect`, decodes with the multilingual model
        // (the Japanese one) until the first words say which pack applies.
        let (lang, detect_lang) = match request.lang.as_deref() {
            None | Some(AUTO) => (Lang::Ja, true),
            Some(code) => (
                Lang::parse(code).ok_or_else(|| {
                    ControlError::BadRequest(format!(
                        "stream {id}: language {code:?}: use ja, en or auto"
                    ))
                })?,
                false,
            ),
        };
        if let Some(health) = &request.health {
            health
                .check()
                .map_err(|e| ControlError::BadRequest(format!("stream {id}: {e}")))?;
        }
        let origin = self.origin_code(id, request.origin.as_deref())?;
        let spec: SourceSpec = request
            .source
            .parse()
            .map_err(|e| ControlError::BadRequest(format!("stream {id}: {e}")))?;
        let allow_local = request.by == Requester::Operator || self.config.allow_local_sources;
        policy::check_spec(&spec, allow_local, &self.config.net)
            .map_err(|refused| refusal(request, &refused))?;
        Ok((lang, detect_lang, origin, spec))
    }

    /// The ISO code of a declared origin (`None` for none), or why it is refused.
    pub fn origin_code(
        &self,
        id: &str,
        origin: Option<&str>,
    ) -> Result<Option<String>, ControlError> {
        match origin {
            None => Ok(None),
            Some(o) if o.trim().is_empty() => Ok(None),
            Some(o) => self.detector.country_code(o).map(Some).ok_or_else(|| {
                ControlError::BadRequest(format!(
                    "stream {id}: unknown country {o:?} (use an ISO code such as JP or CN)"
                ))
            }),
        }
    }
}

/// The policy's refusal: the reason for the operator, only the fact for an API client (the
/// reason goes to the server log).
fn refusal(request: &AttachRequest, refused: &Refused) -> ControlError {
    let id = &request.id;
    match request.by {
        Requester::Operator => ControlError::Forbidden(format!(
            "stream {id}: {}: {refused} (--allow-private-sources allows it)",
            policy::REFUSED
        )),
        Requester::Api => {
            eprintln!("claimwatch: POST /streams {id}: refused: {refused}");
            ControlError::Forbidden(format!("stream {id}: {}", policy::REFUSED))
        }
    }
}

/// A source that failed to open: whether a file is missing, unreadable or not audio is for the
/// operator and the server log, not for an API client probing the disk.
fn open_failed(request: &AttachRequest, err: &io::Error) -> ControlError {
    let id = &request.id;
    match request.by {
        Requester::Operator => ControlError::BadRequest(format!("stream {id}: {err}")),
        Requester::Api => {
            eprintln!("claimwatch: POST /streams {id}: {err}");
            ControlError::BadRequest(format!("stream {id}: {}", policy::UNAVAILABLE))
        }
    }
}

impl StreamControl for StreamManager {
    fn list(&self) -> Vec<StreamInfo> {
        let streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.values().map(|a| a.shared.snapshot()).collect()
    }

    fn attach(&self, request: AttachRequest) -> Result<StreamInfo, ControlError> {
        if self.shutdown.is_cancelled() {
            return Err(ControlError::Conflict("the server is shutting down".into()));
        }
        let (lang, detect_lang, origin, spec) = self.validate(&request)?;
        let feed = self.feed(&request)?;
        let lang_shown = if detect_lang { AUTO } else { lang.as_str() };
        let info = StreamInfo::starting(&request.id, &request.source, lang_shown, origin.clone());
        let shared = Arc::new(StreamShared::new(info.clone()));
        let desk = Arc::new(CommentDesk::new(
            &request.id,
            (!detect_lang).then_some(lang),
            self.bus.clone(),
            self.comments.clone(),
            self.detector.clone(),
            shared.clone(),
        ));
        let cancel = self.shutdown.child_token();
        // The id is reserved (a `starting` stream without threads) before the slow part, so a
        // second attach of it is refused and nobody waits on the lock meanwhile.
        self.reserve(&request.id, lang, &shared, &desk, &cancel)?;
        let started = self.start(
            &request,
            lang,
            detect_lang,
            origin,
            spec,
            feed,
            &shared,
            &desk,
            &cancel,
        );
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let ours = streams
            .get(&request.id)
            .is_some_and(|a| Arc::ptr_eq(&a.shared, &shared));
        match started {
            Ok(threads) if ours => {
                if let Some(a) = streams.get_mut(&request.id) {
                    a.threads = threads;
                }
                Ok(info)
            }
            // Detached (or the server stopped) while starting: the threads see the cancel.
            Ok(_) => {
                cancel.cancel();
                Err(ControlError::Conflict(format!(
                    "stream {} was detached while it was starting",
                    request.id
                )))
            }
            Err(err) => {
                if ours {
                    streams.remove(&request.id);
                }
                cancel.cancel();
                Err(err)
            }
        }
    }

    fn detach(&self, id: &str) -> Result<(), ControlError> {
        let attached = self
            .streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id)
            .ok_or_else(|| ControlError::NotFound(format!("no stream {id}")))?;
        self.remember(&attached);
        // Said here, not by the worker: a worker in the middle of a decode (or finishing
        // one of another stream's turn) would say it only when that ends.
        attached.shared.detached.store(true, Ordering::SeqCst);
        attached.cancel.cancel();
        let info = {
            let mut info = attached
                .shared
                .info
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            info.state = SourceState::Ended;
            info.clone()
        };
        let detached = StreamStatus {
            state: SourceState::Ended,
            stream_s: info.stream_s,
            lag_s: info.lag_s,
            rtf: info.rtf,
            dropped_s: info.dropped_s,
            gap_s: None,
            message: Some(DETACHED.into()),
        };
        if let Err(err) = self.bus.publish(id, EventBody::Status(detached)) {
            eprintln!("claimwatch: stream {id}: cannot record event: {err:#}");
        }
        // The threads notice within ~100 ms (or when a decode in progress ends); nobody needs
        // to wait for them.
        drop(attached.threads);
        Ok(())
    }

    fn set_product(&self, id: &str, request: ProductRequest) -> Result<StreamInfo, ControlError> {
        let origin = self.origin_code(id, request.origin.as_deref())?;
        let streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let attached = streams
            .get(id)
            .ok_or_else(|| ControlError::NotFound(format!("no stream {id}")))?;
        let mut info = attached
            .shared
            .info
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Applies to speech after now: audio received so far is judged with the old origin.
        attached
            .shared
            .origin_changes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((info.stream_s, origin.clone()));
        info.origin = origin;
        info.product = request.name.clone();
        Ok(info.clone())
    }

    fn post_comments(&self, id: &str, batch: Vec<Comment>) -> Result<Taken, ControlError> {
        check_batch(&batch).map_err(|e| ControlError::BadRequest(format!("stream {id}: {e}")))?;
        // The work without the streams lock.
        let desk = {
            let streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
            let attached = streams
                .get(id)
                .ok_or_else(|| ControlError::NotFound(format!("no stream {id}")))?;
            attached.desk.clone()
        };
        desk.take(batch).map_err(|e| {
            ControlError::Internal(format!("stream {id}: cannot record comments: {e}"))
        })
    }
}
