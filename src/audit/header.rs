//! The facts a report opens with, what an auditor files as evidence: the verdict at the gate,
//! counts by severity and category, the declared origin (or that none was given), when the audit
//! ran, and what judged it — claimwatch's version, the Whisper model file and the rule packs,
//! each identified by its SHA-256 so the same files can be shown to have been used.
//!
//! Input: the audited files, the gate's result (computed by `cli::gate`, not here) and the files
//! used. Output: a [`Header`], serialized at the top of the JSON report and rendered by the
//! table and HTML renderers.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::FileReport;
use crate::detect::{Category, Severity};

/// Everything above the per-file sections. Every field defaults, so reports written before the
/// header existed still parse.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// When the report was written, RFC 3339 UTC.
    #[serde(default)]
    pub generated_at: String,
    #[serde(default)]
    pub claimwatch_version: String,
    /// `ja` or `en`: the language the HTML and table labels are in.
    #[serde(default)]
    pub ui_language: String,
    #[serde(default)]
    pub verdict: Option<Verdict>,
    #[serde(default)]
    pub counts: Counts,
    /// `None` when no `--origin` was given: origin claims were then not checked.
    #[serde(default)]
    pub declared_origin: Option<DeclaredOrigin>,
    /// Origin claims that could not be checked because no origin was declared.
    #[serde(default)]
    pub unchecked_origin_claims: usize,
    /// Files named on the command line that could not be audited (the report lacks them).
    #[serde(default)]
    pub files_failed: usize,
    #[serde(default)]
    pub models: Vec<Fingerprint>,
    #[serde(default)]
    pub rule_packs: Vec<PackFingerprint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
}

/// The gate's judgement, as the exit code gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub result: Outcome,
    /// `--fail-on` as given: `critical` … `low`, or `never`.
    pub fail_on: String,
    /// The least severity that fails; `None` for `never`.
    pub threshold: Option<Severity>,
    /// Alerts at or above the threshold.
    pub failing: usize,
    pub worst: Option<Severity>,
    /// The exit line claimwatch printed on stderr.
    pub reason: String,
}

/// Alerts counted; every severity and category is present, with 0 where none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub total: usize,
    pub by_severity: BTreeMap<Severity, usize>,
    pub by_category: BTreeMap<Category, usize>,
}

impl Counts {
    pub fn of(files: &[FileReport]) -> Counts {
        let mut counts = Counts {
            total: 0,
            by_severity: SEVERITIES.iter().map(|s| (*s, 0)).collect(),
            by_category: Category::ALL.iter().map(|c| (*c, 0)).collect(),
        };
        for alert in files.iter().flat_map(|f| &f.alerts) {
            counts.total += 1;
            *counts.by_severity.entry(alert.severity).or_default() += 1;
            *counts.by_category.entry(alert.category).or_default() += 1;
        }
        counts
    }
}

/// Most severe first, as reports list them.
pub const SEVERITIES: [Severity; 4] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeclaredOrigin {
    /// ISO 3166 alpha-2.
    pub code: String,
    /// The country's name in the UI language.
    pub name: String,
}

/// A file that judged the audit, identified by content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// A rule pack: packs carry an id but no version number, so the file's SHA-256 is what tells
/// two revisions apart (`version` is filled if a pack ever declares one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackFingerprint {
    pub file: String,
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub sha256: String,
}

/// Size and SHA-256 of `path`, read in chunks (a model is ~80 MB).
pub fn fingerprint(path: &Path) -> std::io::Result<Fingerprint> {
    let mut file = std::fs::File::open(path)?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(Fingerprint {
        path: path.display().to_string(),
        bytes,
        sha256: hex(ctx.finish().as_ref()),
    })
}

/// A pack's id and version from its `[pack]` table, and the file's SHA-256.
pub fn pack_fingerprint(path: &Path) -> std::io::Result<PackFingerprint> {
    let text = std::fs::read_to_string(path)?;
    let table: Option<toml::Table> = toml::from_str(&text).ok();
    let field = |name: &str| {
        table
            .as_ref()
            .and_then(|t| t.get("pack"))
            .and_then(|p| p.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    Ok(PackFingerprint {
        file: path.display().to_string(),
        id: field("id"),
        version: field("version"),
        sha256: hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref()),
    })
}

/// Now, RFC 3339 UTC to the second.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::alert::example_alert;

    #[test]
    fn counts_hold_every_severity_and_category() {
        let mut alerts = vec![
            example_alert(Category::FalseOrigin, 1.0, 2.0),
            example_alert(Category::Pricing, 3.0, 4.0),
            example_alert(Category::Pricing, 5.0, 6.0),
        ];
        alerts[0].severity = Severity::Critical;
        alerts[1].severity = Severity::Low;
        let file = FileReport {
            file: "f.wav".into(),
            language: "ja".into(),
            duration_s: 10.0,
            segments: Vec::new(),
            alerts,
            second_listens: Vec::new(),
        };
        let counts = Counts::of(&[file.clone(), file]);
        assert_eq!(counts.total, 6);
        let sev: Vec<(Severity, usize)> = counts.by_severity.into_iter().collect();
        use Severity::*;
        assert_eq!(sev, [(Low, 2), (Medium, 0), (High, 2), (Critical, 2)]);
        assert_eq!(counts.by_category[&Category::Pricing], 4);
        assert_eq!(counts.by_category[&Category::Efficacy], 0);
        assert_eq!(counts.by_category.len(), Category::ALL.len());
    }

    #[test]
    fn fingerprints_are_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "[pack]\nid = \"origin_ja\"\nlang = \"ja\"\n").unwrap();
        let pack = pack_fingerprint(&path).unwrap();
        assert_eq!(pack.id.as_deref(), Some("origin_ja"));
        assert_eq!(pack.version, None);
        let file = fingerprint(&path).unwrap();
        assert_eq!(file.sha256, pack.sha256);
        assert_eq!(file.bytes, 36);
        // `printf 'abc' | sha256sum`
        std::fs::write(&path, "abc").unwrap();
        assert_eq!(
            fingerprint(&path).unwrap().sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
