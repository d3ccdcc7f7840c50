//! The in-memory view of the event history that queries answer from, shared by the local
//! [`Hub`](super::Hub) and the cluster's [`JetStreamBus`](super::jetstream::JetStreamBus).
//!
//! Input: events in id order ([`Store::insert`]). Output: the kept alerts (with their current
//! review and latest escalation), transcripts, statuses, comments and the counts behind
//! `/metrics`, within [`HubLimits`] whatever the history holds.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use super::event::{Escalation, Event, EventBody, EventKind};
use super::hub::HubLimits;
use super::review::{CurrentReview, ReviewState};
use super::{AlertFilter, ReviewedAlert};
use crate::detect::Category;

/// Kept events and per-stream indexes.
pub(super) struct Store {
    pub(super) limits: HubLimits,
    pub(super) events: BTreeMap<u64, Event>,
    /// Memory holds every event from this id on (ids before it were evicted, some or all).
    pub(super) complete_from: u64,
    /// Ids of kept transcript events of all streams, oldest first.
    pub(super) transcripts: VecDeque<u64>,
    /// Ids of alert events (a set: iterating alerts must not walk every transcript).
    pub(super) alerts: BTreeMap<u64, ()>,
    pub(super) per_stream: HashMap<String, PerStream>,
    pub(super) alert_counts: BTreeMap<(String, Category), u64>,
    /// The current review of each kept alert that has one, by the alert's event id.
    pub(super) reviews: HashMap<u64, CurrentReview>,
    /// Ids of kept review events, oldest first.
    pub(super) review_events: VecDeque<u64>,
    /// Review decisions ever read or recorded, by the state decided.
    pub(super) review_counts: BTreeMap<ReviewState, u64>,
    /// The latest escalation of each kept comment alert that has one, by the alert's event id.
    pub(super) escalations: HashMap<u64, Escalation>,
    /// Ids of kept escalation events, oldest first.
    pub(super) escalation_events: VecDeque<u64>,
    /// Comments ever taken in (restarts included), by stream.
    pub(super) comment_counts: BTreeMap<String, u64>,
}

#[derive(Default)]
pub(super) struct PerStream {
    pub(super) transcripts: VecDeque<u64>,
    pub(super) statuses: VecDeque<u64>,
    pub(super) health: VecDeque<u64>,
    /// Event ids of kept comments, oldest first, and the platform ids they carry.
    pub(super) comments: VecDeque<u64>,
    pub(super) comment_ids: HashSet<String>,
}

impl Store {
    pub(super) fn new(limits: HubLimits) -> Store {
        Store {
            limits,
            events: BTreeMap::new(),
            complete_from: 0,
            transcripts: VecDeque::new(),
            alerts: BTreeMap::new(),
            per_stream: HashMap::new(),
            alert_counts: BTreeMap::new(),
            reviews: HashMap::new(),
            review_events: VecDeque::new(),
            review_counts: BTreeMap::new(),
            escalations: HashMap::new(),
            escalation_events: VecDeque::new(),
            comment_counts: BTreeMap::new(),
        }
    }

    /// A kept event as queries show it: a comment alert with its latest escalation applied
    /// (count and severity), everything else as published.
    pub(super) fn shown(&self, event: &Event) -> Event {
        let mut event = event.clone();
        if let (EventBody::Alert(alert), Some(up)) =
            (&mut event.body, self.escalations.get(&event.id))
        {
            alert.severity = up.severity;
            if let Some(comment) = &mut alert.comment {
                comment.count = up.count;
            }
        }
        event
    }

    /// The review of the alert with event id `alert`: its last decision, or `new`.
    pub(super) fn current_review(&self, alert: u64) -> CurrentReview {
        self.reviews
            .get(&alert)
            .cloned()
            .unwrap_or(CurrentReview::NEW)
    }

    pub(super) fn insert(&mut self, event: Event) {
        let id = event.id;
        let per = self.per_stream.entry(event.stream.clone()).or_default();
        let mut evicted = Vec::new();
        match &event.body {
            EventBody::Alert(alert) => {
                *self
                    .alert_counts
                    .entry((event.stream.clone(), alert.category))
                    .or_default() += 1;
                self.alerts.insert(id, ());
                if self.alerts.len() > self.limits.alerts.max(1) {
                    if let Some((old, ())) = self.alerts.pop_first() {
                        // Its review goes with it: no query can show the alert any more.
                        self.reviews.remove(&old);
                        self.escalations.remove(&old);
                        evicted.push(old);
                    }
                }
            }
            EventBody::Review(r) => {
                *self.review_counts.entry(r.state).or_default() += 1;
                // The log is the truth: a review read back applies whatever it says, to an
                // alert still kept (one evicted since has nothing to show it on).
                if self.alerts.contains_key(&r.alert_event_id) {
                    let current = CurrentReview {
                        state: r.state,
                        by: Some(r.by.clone()),
                        at: Some(event.at.clone()),
                        note: r.note.clone(),
                        event_id: Some(id),
                    };
                    self.reviews.insert(r.alert_event_id, current);
                }
                evicted.extend(push_bounded(
                    &mut self.review_events,
                    id,
                    self.limits.reviews,
                ));
            }
            EventBody::Transcript(_) => {
                evicted.extend(push_bounded(
                    &mut per.transcripts,
                    id,
                    self.limits.transcripts_per_stream,
                ));
                self.transcripts.push_back(id);
                if let Some(&old) = evicted.first() {
                    // The stream's oldest is not always the oldest of all: find it and drop it.
                    if let Some(at) = self.transcripts.iter().position(|&t| t == old) {
                        self.transcripts.remove(at);
                    }
                }
                if self.transcripts.len() > self.limits.transcripts.max(1) {
                    // The oldest of all is the oldest of its own stream: the front of its queue.
                    if let Some(old) = self.transcripts.pop_front() {
                        if let Some(e) = self.events.get(&old) {
                            if let Some(p) = self.per_stream.get_mut(&e.stream) {
                                p.transcripts.pop_front();
                            }
                        }
                        evicted.push(old);
                    }
                }
            }
            EventBody::Status(_) => {
                evicted.extend(push_bounded(
                    &mut per.statuses,
                    id,
                    self.limits.statuses_per_stream,
                ));
            }
            EventBody::Comment(comment) => {
                *self.comment_counts.entry(event.stream.clone()).or_default() += 1;
                per.comment_ids.insert(comment.id.clone());
                if let Some(old) =
                    push_bounded(&mut per.comments, id, self.limits.comments_per_stream)
                {
                    if let Some(EventBody::Comment(c)) = self.events.get(&old).map(|e| &e.body) {
                        per.comment_ids.remove(&c.id);
                    }
                    evicted.push(old);
                }
            }
            EventBody::Escalation(e) => {
                if self.alerts.contains_key(&e.alert_event_id) {
                    self.escalations.insert(e.alert_event_id, e.clone());
                }
                evicted.extend(push_bounded(
                    &mut self.escalation_events,
                    id,
                    self.limits.reviews,
                ));
            }
            // Changes only (a handful per hour), bounded like statuses.
            EventBody::Health(_) => {
                evicted.extend(push_bounded(
                    &mut per.health,
                    id,
                    self.limits.statuses_per_stream,
                ));
            }
        }
        debug_assert!(event.kind() == EventKind::Alert || !self.alerts.contains_key(&id));
        self.events.insert(id, event);
        for old in evicted {
            self.events.remove(&old);
            self.complete_from = self.complete_from.max(old + 1);
        }
    }
}

/// Pushes `id`, returning the oldest id when the queue is over `limit`.
fn push_bounded(queue: &mut VecDeque<u64>, id: u64, limit: usize) -> Option<u64> {
    queue.push_back(id);
    (queue.len() > limit.max(1))
        .then(|| queue.pop_front())
        .flatten()
}

/// Queries, the same for every bus (see the [`EventBus`](super::EventBus) methods of the same
/// names).
impl Store {
    pub(super) fn alerts(
        &self,
        stream: Option<&str>,
        since_id: Option<u64>,
        category: Option<Category>,
    ) -> Vec<Event> {
        let from = since_id.map_or(0, |id| id.saturating_add(1));
        self.alerts
            .range(from..)
            .filter_map(|(id, _)| self.events.get(id))
            .filter(|e| stream.is_none_or(|s| e.stream == s))
            .filter(|e| category.is_none_or(|c| e.alert().is_some_and(|a| a.category == c)))
            .map(|e| self.shown(e))
            .collect()
    }

    pub(super) fn reviewed_alerts(&self, filter: &AlertFilter) -> Vec<ReviewedAlert> {
        let from = filter.since_id.map_or(0, |id| id.saturating_add(1));
        self.alerts
            .range(from..)
            .filter_map(|(id, _)| self.events.get(id))
            .filter(|e| filter.stream.is_none_or(|s| e.stream == s))
            .filter(|e| {
                filter
                    .category
                    .is_none_or(|c| e.alert().is_some_and(|a| a.category == c))
            })
            .map(|e| ReviewedAlert {
                review: self.current_review(e.id),
                event: self.shown(e),
            })
            .filter(|r| filter.review.is_empty() || filter.review.contains(&r.review.state))
            .collect()
    }

    /// Kept alerts by their current review state, every state present (0 when none).
    pub(super) fn review_states(&self) -> BTreeMap<ReviewState, u64> {
        let mut counts: BTreeMap<ReviewState, u64> =
            ReviewState::ALL.into_iter().map(|s| (s, 0)).collect();
        let reviewed = self.reviews.len() as u64;
        for current in self.reviews.values() {
            *counts.entry(current.state).or_default() += 1;
        }
        *counts.entry(ReviewState::New).or_default() +=
            (self.alerts.len() as u64).saturating_sub(reviewed);
        counts
    }

    /// The kept alert event `alert_id` (`STREAM-EVENTID`) names: its stream, event id and
    /// current review; `None` when no kept alert has that id.
    pub(super) fn review_target(&self, alert_id: &str) -> Option<(String, u64, CurrentReview)> {
        let event_id = alert_id
            .rsplit_once('-')
            .and_then(|(_, n)| n.parse::<u64>().ok())?;
        let alert = self
            .alerts
            .contains_key(&event_id)
            .then(|| self.events.get(&event_id))
            .flatten()
            .filter(|e| e.alert().is_some_and(|a| a.id == alert_id))?;
        Some((
            alert.stream.clone(),
            event_id,
            self.current_review(event_id),
        ))
    }

    /// Whether a kept comment of `stream` has the platform id `comment_id`.
    pub(super) fn has_comment(&self, stream: &str, comment_id: &str) -> bool {
        self.per_stream
            .get(stream)
            .is_some_and(|p| p.comment_ids.contains(comment_id))
    }

    /// Kept comment events of `stream`, oldest first.
    pub(super) fn comments(&self, stream: &str) -> Vec<Event> {
        self.per_stream
            .get(stream)
            .map(|s| self.resolve(&s.comments))
            .unwrap_or_default()
    }

    /// Kept transcript events of `stream`, oldest first.
    pub(super) fn transcript(&self, stream: &str) -> Vec<Event> {
        self.per_stream
            .get(stream)
            .map(|s| self.resolve(&s.transcripts))
            .unwrap_or_default()
    }

    pub(super) fn latest_status(&self, stream: &str) -> Option<Event> {
        let id = self.per_stream.get(stream)?.statuses.back()?;
        self.events.get(id).cloned()
    }

    pub(super) fn knows_stream(&self, stream: &str) -> bool {
        self.per_stream.contains_key(stream)
    }

    fn resolve(&self, ids: &VecDeque<u64>) -> Vec<Event> {
        ids.iter()
            .filter_map(|id| self.events.get(id).cloned())
            .collect()
    }
}
