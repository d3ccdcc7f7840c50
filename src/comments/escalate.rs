//! STAND-IN (replaced at merge).
use std::time::{Duration, SystemTime};

use crate::detect::{Alert, Severity};

pub struct Escalator {}

pub enum Offer {
    New(Alert),
    Joined {
        first_alert_id: String,
        first_event_id: u64,
        count: u32,
        severity: Severity,
    },
}

impl Escalator {
    pub fn new(_window: Duration) -> Escalator {
        Escalator {}
    }

    pub fn offer(&mut self, alert: Alert, _at: SystemTime) -> Offer {
        Offer::New(alert)
    }

    pub fn published(&mut self, _alert: &Alert, _event_id: u64) {}
}
