//! The HTTP adapter (the only file that touches axum's routing): requests in, JSON / SSE /
//! Prometheus text out. [`app`] builds the router so tests can drive it in-process; [`serve`]
//! runs it on a listener until the shutdown token is cancelled.
//!
//! Every error answer is `{"error": "..."}` with a 4xx/5xx status: handler errors through
//! [`ApiError`], and axum's own answers (JSON/query rejections, 404 for unknown routes, 405, 413)
//! rewritten by the [`json_errors`] middleware, which keeps their message.

use std::convert::Infallible;
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::sse::{self, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::console;
use super::metrics::{self, ServeMetrics};
use super::operators::{Operator, Operators, Role};
use super::paging::{self, Filters};
use super::review;
use super::sse_cap::{SseSlot, DEFAULT_MAX_SSE_CLIENTS};
use crate::comments::Comment;
use crate::detect::Category;
use crate::events::{self, AlertFilter, Event, EventBus, ReviewState};
use crate::live::{AttachRequest, ControlError, ProductRequest, StreamControl};

/// Default limit on request bodies.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Limit on a `POST /streams/{id}/comments` body: a full batch of chat-sized comments.
pub const COMMENTS_BODY_LIMIT: usize = 1 << 20;

/// Default interval between SSE heartbeats.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// How long [`serve`] waits for open connections after shutdown before dropping them (a client
/// that stopped reading can hold a response forever).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub bus: Arc<dyn EventBus>,
    pub control: Arc<dyn StreamControl>,
    /// When not empty, every request needs `Authorization: Bearer <secret>` of one of them, and
    /// every POST, PUT and DELETE the reviewer role.
    pub operators: Arc<Operators>,
    /// Cancelled to stop the server; open SSE streams end when it is.
    pub shutdown: CancellationToken,
    pub metrics: Arc<ServeMetrics>,
    /// Largest accepted request body in bytes (413 beyond).
    pub body_limit: usize,
    /// Interval between SSE `event: heartbeat` lines on an idle stream.
    pub heartbeat: Duration,
    /// Most SSE connections open at once; one more gets 503 with `Retry-After`.
    pub max_sse_clients: usize,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<AppState>();
};

impl AppState {
    /// A state with default metrics, body limit and heartbeat; `token`, when set, is one
    /// unnamed reviewer's (set [`AppState::operators`] for named ones).
    pub fn new(
        bus: Arc<dyn EventBus>,
        control: Arc<dyn StreamControl>,
        token: Option<String>,
        shutdown: CancellationToken,
    ) -> AppState {
        AppState {
            bus,
            control,
            operators: Arc::new(Operators::single(token)),
            shutdown,
            metrics: Arc::new(ServeMetrics::default()),
            body_limit: DEFAULT_BODY_LIMIT,
            heartbeat: HEARTBEAT,
            max_sse_clients: DEFAULT_MAX_SSE_CLIENTS,
        }
    }
}

/// The router with every endpoint, auth, the body limit and JSON errors.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(console::page))
        .route("/console/console.js", get(console::script))
        .route("/console/console.css", get(console::style))
        .route("/login", get(console::login_form).post(console::login))
        .route("/logout", post(console::logout))
        .route("/events", get(all_events))
        .route("/streams", get(list_streams).post(attach))
        .route("/streams/{id}", get(one_stream).delete(detach))
        .route("/streams/{id}/events", get(stream_events))
        .route("/streams/{id}/product", put(set_product))
        .route("/streams/{id}/transcript", get(transcript))
        .route(
            "/streams/{id}/comments",
            post(post_comments)
                .get(comments)
                .layer(DefaultBodyLimit::max(COMMENTS_BODY_LIMIT)),
        )
        .route("/alerts", get(alerts))
        .route("/alerts/{id}/clip", get(alert_clip))
        .route("/alerts.csv", get(review::export))
        .route("/alerts/{id}/review", post(review::review))
        .route("/healthz", get(healthz))
        .route("/cluster", get(cluster))
        .route("/metrics", get(prometheus))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(middleware::from_fn_with_state(state.clone(), local_only))
        .layer(middleware::from_fn(json_errors))
        .with_state(state)
}

/// Serves `app(state)` on `listener` until `state.shutdown` is cancelled, then stops accepting,
/// lets open requests finish (SSE streams end at once) for up to [`SHUTDOWN_GRACE`], and syncs
/// the event log.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> anyhow::Result<()> {
    let shutdown = state.shutdown.clone();
    let bus = state.bus.clone();
    let addr = listener.local_addr().context("listener address")?;
    let server = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .into_future();
    tokio::select! {
        result = server => result.with_context(|| format!("HTTP server on {addr}"))?,
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => eprintln!(
            "claimwatch: warning: connections still open {} s after shutdown were dropped",
            SHUTDOWN_GRACE.as_secs()
        ),
    }
    bus.sync().context("syncing the event log")?;
    Ok(())
}

/// An error answer: status and message, sent as `{"error": message}`.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(json!({ "error": self.1 }))).into_response();
        if self.0 == StatusCode::SERVICE_UNAVAILABLE {
            // Capacity frees up as streams end; a client should not hammer meanwhile.
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        response
    }
}

impl From<ControlError> for ApiError {
    fn from(err: ControlError) -> ApiError {
        let status = match &err {
            ControlError::NotFound(_) => StatusCode::NOT_FOUND,
            ControlError::Conflict(_) => StatusCode::CONFLICT,
            ControlError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ControlError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ControlError::Forbidden(_) => StatusCode::FORBIDDEN,
            ControlError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, err.to_string())
    }
}

pub(super) fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

/// Runs a blocking control call off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ControlError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("control task: {e}"),
            )
        })?
        .map_err(ApiError::from)
}

// ---- middleware ----

/// Paths anyone may fetch: the login form and the stylesheet it uses.
const PUBLIC_PATHS: [&str; 2] = ["/login", "/console/console.css"];

/// Finds the request's [`Operator`] (put in the request's extensions for the handlers): the
/// one whose secret the bearer token — or the console's login cookie — is (401 without one,
/// and the console page sends a browser to `/login`), or [`Operator::local`] on a server
/// without tokens. A viewer gets 403 for anything but reading.
async fn auth(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let operator = if state.operators.is_empty() {
        Operator::local()
    } else {
        if PUBLIC_PATHS.contains(&request.uri().path()) {
            return next.run(request).await;
        }
        let headers = request.headers();
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_credentials);
        // The console's browser sends the login cookie; programs send the header.
        let from_cookie = bearer.is_none();
        let given = bearer.or_else(|| cookie(headers, console::TOKEN_COOKIE));
        match given.and_then(|g| state.operators.authenticate(g)) {
            Some(operator) => {
                if from_cookie && !request.method().is_safe() && !same_origin(headers) {
                    // A cookie rides along on any site's form post; a change must come from
                    // the console's own page.
                    return ApiError(
                        StatusCode::FORBIDDEN,
                        "a change made with the console's login must come from the console's own page (Origin)".into(),
                    )
                    .into_response();
                }
                operator.clone()
            }
            None if request.uri().path() == "/" && request.method() == Method::GET => {
                return (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
            }
            None => {
                let mut response = ApiError(
                    StatusCode::UNAUTHORIZED,
                    "missing or wrong bearer token (send `Authorization: Bearer <token>`)".into(),
                )
                .into_response();
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
        }
    };
    let reads = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if operator.role == Role::Viewer && !reads {
        return ApiError(
            StatusCode::FORBIDDEN,
            format!(
                "operator {} is a viewer: reviews and changes to streams need the reviewer role",
                operator.name
            ),
        )
        .into_response();
    }
    request.extensions_mut().insert(operator);
    next.run(request).await
}

/// Without a token the server trusts whoever can reach loopback, which a web page can too: a
/// DNS-rebinding page reaches 127.0.0.1 under its own host name, and a page's script sends its
/// origin. So without a token, only loopback host names are served and a foreign `Origin` is
/// refused (403). With a token, the token is the guard.
async fn local_only(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.operators.is_empty() {
        let headers = request.headers();
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let foreign_origin = origin.is_some_and(|o| {
            let rest = o
                .strip_prefix("http://")
                .or_else(|| o.strip_prefix("https://"));
            !rest.is_some_and(is_loopback_authority)
        });
        // HTTP/1.0 clients may send no Host; only a named foreign host is refused.
        if host.is_some_and(|h| !is_loopback_authority(h)) || foreign_origin {
            return ApiError(
                StatusCode::FORBIDDEN,
                "without --token only loopback host names and origins are served (set a token to serve others)".into(),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback_authority(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether the request's `Origin` is this server as the browser reached it (its `Host`).
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match (host, origin) {
        (Some(host), Some(origin)) => origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|authority| authority.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

/// The token of an `Authorization: Bearer <token>` value; the scheme name is case-insensitive
/// (RFC 7235), so `bearer x` is as good as `Bearer x`.
fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Rewrites any non-JSON error answer (axum's plain-text rejections, empty 404/405) as
/// `{"error": "..."}`, keeping its status, its text and its `Allow` header.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let mut rewritten = ApiError(status, message).into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        rewritten.headers_mut().insert(header::ALLOW, allow.clone());
    }
    rewritten
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {}", uri.path()),
    )
}

// ---- SSE ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    last_event_id: Option<u64>,
}

async fn all_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Result<Response, ApiError> {
    let last = last_event_id(&headers, &query)?;
    Ok(sse_response(&state, None, last))
}

/// A stream never attached and never in the log is a typo, not a wait: 404 rather than an
/// event stream that stays empty forever.
async fn stream_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Result<Response, ApiError> {
    let last = last_event_id(&headers, &query)?;
    if !stream_known(&state, &id) {
        return Err(unknown_stream(&id));
    }
    Ok(sse_response(&state, Some(id), last))
}

/// The `Last-Event-ID` header (a reconnecting EventSource) or else `?last_event_id=` (curl).
fn last_event_id(headers: &HeaderMap, query: &EventsQuery) -> Result<Option<u64>, ApiError> {
    match headers.get("last-event-id") {
        None => Ok(query.last_event_id),
        Some(value) => {
            let text = value.to_str().unwrap_or("").trim();
            text.parse().map(Some).map_err(|_| {
                bad_request(format!(
                    "Last-Event-ID must be an event id (a whole number), got {text:?}"
                ))
            })
        }
    }
}

/// The event stream, holding one of the `max_sse_clients` slots until it closes (or the 503).
fn sse_response(state: &AppState, stream: Option<String>, last: Option<u64>) -> Response {
    let slot = match SseSlot::take(&state.metrics, state.max_sse_clients) {
        Ok(slot) => slot,
        Err(busy) => return busy.into_response(),
    };
    let events = state
        .bus
        .subscribe(stream, last)
        .map(move |event| {
            // The stream owns the slot: axum drops the stream when the connection closes.
            let _held = &slot;
            Ok::<_, Infallible>(sse_event(&event))
        })
        .take_until(state.shutdown.clone().cancelled_owned());
    // The heartbeat has no `id:` so it does not move the client's Last-Event-ID, and a `data:`
    // line, without which a browser's EventSource never dispatches it.
    let heartbeat = sse::Event::default().event("heartbeat").data("{}");
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(state.heartbeat).event(heartbeat))
        .into_response()
}

fn sse_event(event: &Event) -> sse::Event {
    sse::Event::default()
        .event(event.kind().as_str())
        .id(event.id.to_string())
        .data(event.wire_json().to_string())
}

// ---- streams ----

async fn list_streams(State(state): State<AppState>) -> Response {
    rounded(&state.control.list())
}

/// A JSON answer with its figures rounded to milliseconds, like the events' (`events::round`).
fn rounded<T: serde::Serialize>(value: &T) -> Response {
    Json(events::round::to_rounded_json(value).unwrap_or(Value::Null)).into_response()
}

async fn one_stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let found = state.control.list().into_iter().find(|s| s.id == id);
    found
        .map(|info| rounded(&info))
        .ok_or_else(|| unknown_stream(&id))
}

/// `GET /alerts/{id}/clip`: the audio around a live alert's words (WAV), once the stream has
/// gone on past them; 404 before that, for an alert without one, or after retention.
async fn alert_clip(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let bus = state.bus.clone();
    let lookup = id.clone();
    let clip = tokio::task::spawn_blocking(move || bus.clip(&lookup))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    match clip {
        Some(wav) => Ok((
            [
                (header::CONTENT_TYPE, "audio/wav"),
                (header::CACHE_CONTROL, "private, max-age=86400"),
            ],
            wav,
        )
            .into_response()),
        None => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no evidence clip for alert {id:?} (none yet, none kept, or no such alert)"),
        )),
    }
}

pub(super) fn unknown_stream(id: &str) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("no stream {id:?}"))
}

/// Whether `id` is attached now or has history on the bus.
pub(super) fn stream_known(state: &AppState, id: &str) -> bool {
    state.bus.knows_stream(id) || state.control.list().iter().any(|s| s.id == id)
}

async fn attach(
    State(state): State<AppState>,
    Json(request): Json<AttachRequest>,
) -> Result<Response, ApiError> {
    check_stream_id(&request.id)?;
    let control = state.control.clone();
    let info = blocking(move || control.attach(request)).await?;
    Ok((StatusCode::CREATED, rounded(&info)).into_response())
}

async fn detach(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let control = state.control.clone();
    blocking(move || control.detach(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_product(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(request): Json<ProductRequest>,
) -> Result<Response, ApiError> {
    let control = state.control.clone();
    let info = blocking(move || control.set_product(&id, request)).await?;
    Ok(rounded(&info))
}

/// `POST /streams/{id}/comments`: a JSON array of comments; answers what was taken, repeated,
/// alerted and escalated once all of it is durable.
async fn post_comments(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(batch): Json<Vec<Comment>>,
) -> Result<Response, ApiError> {
    let control = state.control.clone();
    let taken = blocking(move || control.post_comments(&id, batch)).await?;
    Ok(Json(taken).into_response())
}

/// `GET /streams/{id}/comments`: the stream's kept comments, oldest first.
async fn comments(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    if !stream_known(&state, &id) {
        return Err(unknown_stream(&id));
    }
    let events = state.bus.comments(&id);
    Ok(Json(events.iter().map(Event::wire_json).collect()))
}

fn check_stream_id(id: &str) -> Result<(), ApiError> {
    events::check_stream_id(id).map_err(bad_request)
}

// ---- queries ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertsQuery {
    stream: Option<String>,
    /// Alerts after this event id; `after` is the same cursor under the paging name.
    since: Option<u64>,
    after: Option<u64>,
    category: Option<String>,
    /// Alerts per page ([`paging`]); a `Link: <…>; rel="next"` header says how to get more.
    pub(super) limit: Option<usize>,
    /// Current review states, comma-separated (`new,acknowledged`).
    review: Option<String>,
}

/// The filter `query` asks for, checked: 400 for a bad category or review state, 404 for a
/// stream never seen.
pub(super) fn alert_filter<'q>(
    state: &AppState,
    query: &'q AlertsQuery,
) -> Result<AlertFilter<'q>, ApiError> {
    let category = match query.category.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(name) => Some(Category::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Category::EVERY.iter().map(|c| c.as_str()).collect();
            bad_request(format!(
                "unknown category {name:?} (known: {})",
                known.join(", ")
            ))
        })?),
    };
    let stream = query.stream.as_deref().filter(|s| !s.is_empty());
    // An empty list would read as "no alerts" for a misspelled stream.
    if let Some(id) = stream.filter(|id| !stream_known(state, id)) {
        return Err(unknown_stream(id));
    }
    let since_id = match (query.since, query.after) {
        (Some(since), Some(after)) if since != after => {
            return Err(bad_request("since and after are the same cursor: give one"))
        }
        (since, after) => since.or(after),
    };
    let review = ReviewState::parse_list(query.review.as_deref().unwrap_or_default())
        .map_err(bad_request)?;
    Ok(AlertFilter {
        stream,
        since_id,
        category,
        review,
    })
}

async fn alerts(
    State(state): State<AppState>,
    Query(query): Query<AlertsQuery>,
) -> Result<Response, ApiError> {
    let filter = alert_filter(&state, &query)?;
    let limit = paging::limit(query.limit).map_err(bad_request)?;
    let review = review::filter_text(&filter.review);
    let filters = Filters {
        stream: filter.stream,
        category: filter.category.map(|c| c.as_str()),
        review: review.as_deref(),
    };
    let alerts = state.bus.reviewed_alerts(&filter);
    let (alerts, next) = paging::page(alerts, limit, |a| a.event.id, "/alerts", &filters);
    let body: Vec<Value> = alerts.iter().map(review::alert_json).collect();
    let mut response = Json(body).into_response();
    if let Some(link) = next.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

async fn transcript(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    if !stream_known(&state, &id) {
        return Err(unknown_stream(&id));
    }
    let events = state.bus.transcript(&id);
    Ok(Json(events.iter().map(Event::wire_json).collect()))
}

async fn healthz(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "streams": state.control.list().len(),
        "next_event_id": state.bus.next_id(),
    }))
}

/// The nodes of the cluster as this node sees them; 404 outside a cluster.
async fn cluster(State(state): State<AppState>) -> Result<Response, ApiError> {
    let control = state.control.clone();
    let view = blocking(move || Ok(control.cluster())).await?;
    view.map(|v| Json(v).into_response()).ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            "not in a cluster (serve --nats)".into(),
        )
    })
}

async fn prometheus(State(state): State<AppState>) -> Response {
    let text = metrics::render(
        &state.control.local(),
        &state.bus.alert_counts(),
        &state.metrics,
        state.bus.lag_recoveries(),
    ) + &metrics::render_reviews(&state.bus.review_counts(), &state.bus.review_states())
        + &metrics::render_comments(&state.bus.comment_counts());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        Body::from(text),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Hub, SourceState};
    use crate::live::StreamInfo;
    use std::collections::BTreeMap;
    use tower::ServiceExt;

    /// A control with one stream, `shop-1`.
    struct OneStream;

    impl StreamControl for OneStream {
        fn list(&self) -> Vec<StreamInfo> {
            vec![StreamInfo {
                id: "shop-1".into(),
                source: "file:a.wav".into(),
                lang: "ja".into(),
                origin: None,
                product: None,
                state: SourceState::Up,
                stream_s: 1.0,
                lag_s: 0.5,
                rtf: 2.0,
                dropped_s: 0.0,
                load: 0.0,
                unconfirmed_alerts: 0,
                health: Vec::new(),
                level_dbfs: None,
                node: None,
                alerts: BTreeMap::new(),
            }]
        }
        fn attach(&self, request: AttachRequest) -> Result<StreamInfo, ControlError> {
            match request.id.as_str() {
                "shop-1" => Err(ControlError::Conflict("shop-1 is attached".into())),
                _ => Err(ControlError::BadRequest(format!(
                    "bad source {}",
                    request.source
                ))),
            }
        }
        fn detach(&self, id: &str) -> Result<(), ControlError> {
            match id {
                "shop-1" => Ok(()),
                _ => Err(ControlError::NotFound(format!("no stream {id}"))),
            }
        }
        fn post_comments(
            &self,
            id: &str,
            batch: Vec<Comment>,
        ) -> Result<crate::live::comments::Taken, ControlError> {
            match id {
                "shop-1" => Ok(crate::live::comments::Taken {
                    accepted: batch.len(),
                    ..Default::default()
                }),
                _ => Err(ControlError::NotFound(format!("no stream {id}"))),
            }
        }
        fn set_product(&self, id: &str, _: ProductRequest) -> Result<StreamInfo, ControlError> {
            Err(ControlError::Internal(format!("{id}: broken")))
        }
    }

    fn state(dir: &std::path::Path, token: Option<&str>) -> AppState {
        let mut state = AppState::new(
            Arc::new(Hub::open(dir).unwrap()),
            Arc::new(OneStream),
            token.map(str::to_string),
            CancellationToken::new(),
        );
        state.body_limit = 1024;
        state
    }

    async fn call(
        state: &AppState,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, String, HeaderMap) {
        let mut request = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = app(state.clone())
            .oneshot(request.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap(), headers)
    }

    const JSON: (&str, &str) = ("content-type", "application/json");

    #[tokio::test]
    async fn every_error_is_json_with_a_useful_message() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), None);
        let big = format!(r#"{{"id":"x","source":"{}"}}"#, "a".repeat(4096));
        // (method, uri, headers, body, status, words in the error)
        type Case<'a> = (
            &'a str,
            &'a str,
            Vec<(&'a str, &'a str)>,
            &'a str,
            u16,
            &'a str,
        );
        let cases: Vec<Case> = vec![
            ("GET", "/nope", vec![], "", 404, "no such endpoint: /nope"),
            ("PATCH", "/streams", vec![], "", 405, "method not allowed"),
            ("POST", "/streams", vec![JSON], "{", 400, "EOF"),
            (
                "POST",
                "/streams",
                vec![],
                r#"{"id":"a","source":"b"}"#,
                415,
                "Content-Type",
            ),
            (
                "POST",
                "/streams",
                vec![JSON],
                r#"{"id":"a"}"#,
                422,
                "missing field `source`",
            ),
            (
                "POST",
                "/streams",
                vec![JSON],
                r#"{"id":"a","source":"b","x":1}"#,
                422,
                "unknown field `x`",
            ),
            (
                "POST",
                "/streams",
                vec![JSON],
                big.as_str(),
                413,
                "length limit",
            ),
            (
                "POST",
                "/streams",
                vec![JSON],
                r#"{"id":"a b","source":"s"}"#,
                400,
                "stream id \"a b\"",
            ),
            (
                "POST",
                "/streams",
                vec![JSON],
                r#"{"id":"shop-1","source":"s"}"#,
                409,
                "shop-1 is attached",
            ),
            (
                "POST",
                "/streams",
                vec![JSON],
                r#"{"id":"new","source":"zz"}"#,
                400,
                "bad source zz",
            ),
            (
                "DELETE",
                "/streams/other",
                vec![],
                "",
                404,
                "no stream other",
            ),
            (
                "PUT",
                "/streams/shop-1/product",
                vec![JSON],
                "{}",
                500,
                "shop-1: broken",
            ),
            ("GET", "/alerts?since=abc", vec![], "", 400, "since"),
            (
                "GET",
                "/alerts?limit=0",
                vec![],
                "",
                400,
                "limit 0: use 1 to 1000",
            ),
            (
                "GET",
                "/alerts?since=1&after=2",
                vec![],
                "",
                400,
                "same cursor",
            ),
            (
                "GET",
                "/streams/ghost/events",
                vec![],
                "",
                404,
                "no stream \"ghost\"",
            ),
            (
                "GET",
                "/alerts?category=bogus",
                vec![],
                "",
                400,
                "unknown category \"bogus\"",
            ),
            (
                "GET",
                "/alerts?colour=red",
                vec![],
                "",
                400,
                "unknown field",
            ),
            (
                "GET",
                "/streams/ghost",
                vec![],
                "",
                404,
                "no stream \"ghost\"",
            ),
            (
                "GET",
                "/alerts?stream=ghost",
                vec![],
                "",
                404,
                "no stream \"ghost\"",
            ),
            (
                "GET",
                "/streams/ghost/transcript",
                vec![],
                "",
                404,
                "no stream \"ghost\"",
            ),
            (
                "GET",
                "/events",
                vec![("last-event-id", "x1")],
                "",
                400,
                "Last-Event-ID",
            ),
        ];
        for (method, uri, headers, body, status, words) in cases {
            let (got, text, _) = call(&state, method, uri, &headers, body).await;
            assert_eq!(got.as_u16(), status, "{method} {uri}: {text}");
            let value: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{method} {uri}: not JSON ({e}): {text}"));
            let message = value["error"].as_str().unwrap_or_default();
            assert!(message.contains(words), "{method} {uri}: {message}");
        }
    }

    #[tokio::test]
    async fn the_token_guards_every_endpoint() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), Some("s3cret"));
        // (endpoint, status with the right token)
        for (uri, allowed) in [
            ("/healthz", 200),
            ("/streams", 200),
            ("/alerts", 200),
            ("/metrics", 200),
            ("/nope", 404),
            ("/events", 200),
        ] {
            // (authorization header, expected status when the route exists)
            for (auth, ok) in [
                (None, false),
                (Some("Bearer wrong"), false),
                (Some("Bearer s3cre"), false),
                (Some("Bearer s3cret0"), false),
                (Some("s3cret"), false),
                (Some("Bearer s3cret"), true),
                // The scheme name is case-insensitive (RFC 7235).
                (Some("bearer s3cret"), true),
                (Some("BEARER s3cret"), true),
            ] {
                let headers: Vec<(&str, &str)> =
                    auth.map(|a| ("authorization", a)).into_iter().collect();
                if uri == "/events" && ok {
                    continue; // an SSE stream does not end; covered over TCP
                }
                let (status, text, headers) = call(&state, "GET", uri, &headers, "").await;
                if ok {
                    assert_eq!(status.as_u16(), allowed, "{uri} {auth:?}: {text}");
                } else {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri} {auth:?}");
                    assert!(text.contains("bearer token"), "{text}");
                    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
                }
            }
        }
    }

    #[test]
    fn loopback_authorities() {
        // (Host or origin authority, loopback)
        let cases = [
            ("127.0.0.1:8080", true),
            ("127.8.9.1", true),
            ("localhost:8080", true),
            ("LOCALHOST", true),
            ("[::1]:8080", true),
            ("[::1]", true),
            ("evil.example", false),
            ("evil.example:8080", false),
            ("localhost.evil.example", false),
            ("10.0.0.1:80", false),
            ("[::2]:80", false),
            ("", false),
        ];
        for (authority, want) in cases {
            assert_eq!(is_loopback_authority(authority), want, "{authority:?}");
        }
    }

    #[tokio::test]
    async fn without_a_token_foreign_hosts_and_origins_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let open = state(dir.path(), None);
        // (headers, expected status)
        let cases: [(Vec<(&str, &str)>, u16); 6] = [
            (vec![("host", "127.0.0.1:8080")], 200),
            (
                vec![
                    ("host", "localhost:8080"),
                    ("origin", "http://localhost:8080"),
                ],
                200,
            ),
            (vec![("host", "evil.example")], 403),
            (
                vec![
                    ("host", "127.0.0.1:8080"),
                    ("origin", "https://evil.example"),
                ],
                403,
            ),
            (vec![("host", "127.0.0.1:8080"), ("origin", "null")], 403),
            (vec![], 200),
        ];
        for (headers, want) in cases {
            let (status, text, _) = call(&open, "GET", "/healthz", &headers, "").await;
            assert_eq!(status.as_u16(), want, "{headers:?}: {text}");
        }
        // With a token, the token decides: a foreign host with the right token is served.
        let other = tempfile::tempdir().unwrap();
        let guarded = state(other.path(), Some("s3cret"));
        let headers = [
            ("host", "claimwatch.internal"),
            ("authorization", "Bearer s3cret"),
        ];
        let (status, text, _) = call(&guarded, "GET", "/healthz", &headers, "").await;
        assert_eq!(status, StatusCode::OK, "{text}");
    }

    #[tokio::test]
    async fn queries_answer_json() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), None);
        let (status, text, _) = call(&state, "GET", "/streams", &[], "").await;
        assert_eq!(status, StatusCode::OK);
        let streams: Vec<StreamInfo> = serde_json::from_str(&text).unwrap();
        assert_eq!(streams, OneStream.list());
        let (status, text, _) = call(&state, "GET", "/streams/shop-1", &[], "").await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let one: StreamInfo = serde_json::from_str(&text).unwrap();
        assert_eq!(one, OneStream.list()[0]);
        let (status, text, _) = call(&state, "GET", "/healthz", &[], "").await;
        assert_eq!(
            (status, text.contains("\"ok\"")),
            (StatusCode::OK, true),
            "{text}"
        );
        let (status, _, _) = call(&state, "DELETE", "/streams/shop-1", &[], "").await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, text, _) = call(&state, "GET", "/streams/shop-1/transcript", &[], "").await;
        assert_eq!((status, text.as_str()), (StatusCode::OK, "[]"));
        let (status, text, headers) = call(&state, "GET", "/metrics", &[], "").await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        assert!(
            text.contains("claimwatch_stream_up{stream=\"shop-1\"} 1"),
            "{text}"
        );
    }
}
