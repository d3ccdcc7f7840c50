//! Claims detector (issue 3).

pub mod alert;
pub mod normalize;
pub mod pack;

pub use alert::{Alert, Category, Lang, Severity};
pub mod reading;
