//! The review endpoints' handlers: `POST /alerts/{id}/review` (a decision in, the logged
//! `review` event out) and `GET /alerts.csv` (the `/alerts` filters in, a CSV file out). The
//! rules live in [`crate::events::review`], the file format in [`super::export`]; this file
//! only turns HTTP into calls to the bus and back.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::Value;

use super::app::{alert_filter, bad_request, AlertsQuery, ApiError, AppState};
use super::export;
use super::operators::Operator;
use crate::events::review::{self, Refusal};
use crate::events::{clock, Decision, ReviewError, ReviewState, ReviewedAlert};

/// The body of `POST /alerts/{id}/review`. Strings rather than enums, so that a bad state is
/// a 400 naming the known ones rather than serde's 422.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReviewRequest {
    state: Option<String>,
    #[serde(default)]
    note: Option<String>,
    /// The state the client last saw; the decision is refused (409) if the alert moved since.
    #[serde(default)]
    from: Option<String>,
}

/// `request` by `operator` as a [`Decision`], or the 400 for it.
fn decision(request: ReviewRequest, operator: &Operator) -> Result<Decision, ApiError> {
    let state = request
        .state
        .as_deref()
        .ok_or_else(|| bad_request("missing field `state`"))
        .and_then(|s| ReviewState::parse(s).map_err(bad_request))?;
    let expected = request
        .from
        .as_deref()
        .map(|s| ReviewState::parse(s).map_err(|e| bad_request(format!("from: {e}"))))
        .transpose()?;
    let note = review::check_note(request.note).map_err(|e| bad_request(e.to_string()))?;
    Ok(Decision {
        state,
        note,
        by: operator.name.clone(),
        expected,
    })
}

/// Records a decision: 201 with the `review` event (as SSE sends it) once it is in the log;
/// 400 for a bad state or note, 404 for an alert not kept, 409 for a refused transition.
pub(super) async fn review(
    State(state): State<AppState>,
    Extension(operator): Extension<Operator>,
    Path(id): Path<String>,
    Json(request): Json<ReviewRequest>,
) -> Result<Response, ApiError> {
    let decision = decision(request, &operator)?;
    let bus = state.bus.clone();
    // The append fsyncs: off the async workers.
    let recorded = tokio::task::spawn_blocking(move || bus.review(&id, decision))
        .await
        .map_err(|e| {
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("review task: {e}"),
            )
        })?;
    match recorded {
        Ok(event) => Ok((StatusCode::CREATED, Json(event.wire_json())).into_response()),
        Err(ReviewError::NotFound(message)) => Err(ApiError(StatusCode::NOT_FOUND, message)),
        Err(ReviewError::Refused(Refusal::Bad(message))) => Err(bad_request(message)),
        Err(ReviewError::Refused(Refusal::Conflict(message))) => {
            Err(ApiError(StatusCode::CONFLICT, message))
        }
        Err(ReviewError::Log(e)) => Err(ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the review was not recorded: {e:#}"),
        )),
        // The cluster's history is unreachable for now: worth trying again.
        Err(ReviewError::Bus(e)) => Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the review was not recorded: {e:#}"),
        )),
    }
}

/// Every kept alert the `/alerts` filters select (no paging: an export is the whole list), as
/// an attachment.
pub(super) async fn export(
    State(state): State<AppState>,
    Query(query): Query<AlertsQuery>,
) -> Result<Response, ApiError> {
    if query.limit.is_some() {
        return Err(bad_request(
            "limit: the export holds every matching alert; narrow it with stream, category, review or after",
        ));
    }
    let filter = alert_filter(&state, &query)?;
    let alerts = state.bus.reviewed_alerts(&filter);
    let body = export::alerts_csv(&alerts);
    // `20261127T032624Z`: sorts, and has no character a file system refuses.
    let stamp: String = clock::now_rfc3339()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(15)
        .collect();
    // A stream id is A-Z a-z 0-9 - _ (checked by alert_filter), safe inside the quotes.
    let name = match filter.stream {
        Some(stream) => format!("claimwatch-alerts-{stream}-{stamp}Z.csv"),
        None => format!("claimwatch-alerts-{stamp}Z.csv"),
    };
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// An alert as `GET /alerts` lists it: its event's wire JSON with its current `review`.
pub(super) fn alert_json(alert: &ReviewedAlert) -> Value {
    let mut json = alert.event.wire_json();
    if let Value::Object(map) = &mut json {
        let review = serde_json::to_value(&alert.review).unwrap_or(Value::Null);
        map.insert("review".into(), review);
    }
    json
}

/// The `review` query value that selects `states` (for the next page's link).
pub(super) fn filter_text(states: &[ReviewState]) -> Option<String> {
    (!states.is_empty()).then(|| {
        states
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    })
}
