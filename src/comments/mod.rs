//! STAND-IN until the comment detector lands (replaced at merge): the API the live side uses.

use std::path::Path;

use crate::detect::{Alert, Detector, Lang};

pub mod escalate;

#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Comment {
    pub id: String,
    pub user: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_seller: bool,
}

#[derive(Clone)]
pub struct CommentDetector {}

impl CommentDetector {
    pub fn load(_rules_dir: &Path) -> anyhow::Result<CommentDetector> {
        Ok(CommentDetector {})
    }

    pub fn check(&self, _comment: &Comment, _lang: Option<Lang>) -> Vec<Alert> {
        Vec::new()
    }
}

pub fn check_seller(
    _claims: &Detector,
    _comment: &Comment,
    _lang: Option<Lang>,
    _origin: Option<&str>,
) -> Vec<Alert> {
    Vec::new()
}
