//! Comment rule packs (`rules/comments/*.toml`, format in rules/README.md "Viewer comments"):
//! file text → validated [`CommentPack`]s, or every problem as `file:line: message`.
//!
//! Unknown keys are errors (`deny_unknown_fields`): a typo must not silently disable a rule.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::builtin::Builtin;
use crate::detect::pack::{PackError, PackErrors};
use crate::detect::{Category, Lang, Severity};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    pack: RawPack,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    guard: Vec<Spanned<RawGuard>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    lang: Spanned<String>,
    #[allow(dead_code)]
    description: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    category: Spanned<String>,
    severity: Option<Spanned<String>>,
    #[serde(default)]
    patterns: Vec<Spanned<String>>,
    builtin: Option<Spanned<String>>,
    #[serde(default)]
    except: Vec<Spanned<String>>,
    #[serde(default = "yes")]
    guarded: bool,
    legal_basis: String,
    explanation: String,
    suggestion: String,
}

fn yes() -> bool {
    true
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuard {
    categories: Vec<Spanned<String>>,
    cues: Vec<Spanned<String>>,
    #[allow(dead_code)]
    note: Option<String>,
}

/// One comment rule, validated.
#[derive(Debug, Clone)]
pub struct CommentRule {
    pub id: String,
    pub category: Category,
    pub severity: Severity,
    /// Words as written in the pack (normalised by the matcher).
    pub patterns: Vec<String>,
    /// A language-neutral pattern kind instead of words.
    pub builtin: Option<Builtin>,
    /// Phrases that, overlapping a hit, make it no hit (idioms, longer innocent words).
    pub except: Vec<String>,
    /// Whether the pack's guards (quoting to complain, scam warnings) can silence it.
    pub guarded: bool,
    pub legal_basis: String,
    pub explanation: String,
    pub suggestion: String,
}

/// Cues that, anywhere in a comment, silence the guarded rules of `categories`.
#[derive(Debug, Clone)]
pub struct Guard {
    pub categories: Vec<Category>,
    pub cues: Vec<String>,
}

/// One pack file.
#[derive(Debug, Clone)]
pub struct CommentPack {
    pub file: PathBuf,
    pub lang: Lang,
    pub rules: Vec<CommentRule>,
    pub guards: Vec<Guard>,
}

/// Loads every `*.toml` in `dir` (sorted by name); rule ids must be unique across the folder.
pub fn load_dir(dir: &Path) -> Result<Vec<CommentPack>, PackErrors> {
    let err = |file: &Path, line: usize, message: String| PackError {
        file: file.to_path_buf(),
        line,
        message,
    };
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect(),
        Err(e) => {
            return Err(PackErrors(vec![err(
                dir,
                0,
                format!("cannot read comment rules folder: {e}"),
            )]))
        }
    };
    files.sort();
    let mut errors = Vec::new();
    if files.is_empty() {
        errors.push(err(
            dir,
            0,
            "no comment packs (*.toml) in this folder".into(),
        ));
    }
    let mut packs = Vec::new();
    let mut ids: HashMap<String, (PathBuf, usize)> = HashMap::new();
    for file in &files {
        match std::fs::read_to_string(file) {
            Ok(src) => {
                if let Some(p) = parse(file, &src, &mut errors, &mut ids) {
                    packs.push(p);
                }
            }
            Err(e) => errors.push(err(file, 0, format!("cannot read: {e}"))),
        }
    }
    if errors.is_empty() {
        Ok(packs)
    } else {
        errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        Err(PackErrors(errors))
    }
}

fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())].matches('\n').count() + 1
}

/// Parses one file's text; problems go to `errors`, the pack only when it has none.
pub fn parse(
    file: &Path,
    src: &str,
    errors: &mut Vec<PackError>,
    ids: &mut HashMap<String, (PathBuf, usize)>,
) -> Option<CommentPack> {
    let before = errors.len();
    let mut fail = |offset: usize, message: String| {
        errors.push(PackError {
            file: file.to_path_buf(),
            line: line_of(src, offset),
            message,
        })
    };
    let raw: RawFile = match toml::from_str(src) {
        Ok(r) => r,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            fail(offset, e.message().trim().to_string());
            return None;
        }
    };
    let lang = match Lang::parse(raw.pack.lang.get_ref()) {
        Some(l) => l,
        None => {
            fail(
                raw.pack.lang.span().start,
                format!(
                    "lang must be \"ja\" or \"en\", got {:?}",
                    raw.pack.lang.get_ref()
                ),
            );
            Lang::Ja
        }
    };
    let category = |s: &Spanned<String>, fail: &mut dyn FnMut(usize, String)| match Category::parse(
        s.get_ref(),
    )
    .filter(|c| c.is_comment())
    {
        Some(c) => Some(c),
        None => {
            fail(
                s.span().start,
                format!(
                    "category must be one of threat, abuse, scam, personal_info; got {:?}",
                    s.get_ref()
                ),
            );
            None
        }
    };
    let mut rules = Vec::new();
    for r in &raw.rule {
        let at = r.span().start;
        let r = r.get_ref();
        let id = r.id.get_ref().clone();
        if id.trim().is_empty() {
            fail(r.id.span().start, "empty rule id".into());
        }
        let line = line_of(src, r.id.span().start);
        if let Some((f, l)) = ids.get(&id) {
            fail(
                r.id.span().start,
                format!("duplicate rule id {id:?} (first at {}:{l})", f.display()),
            );
        } else {
            ids.insert(id.clone(), (file.to_path_buf(), line));
        }
        let cat = category(&r.category, &mut fail);
        let severity = match &r.severity {
            None => cat.map(Category::default_severity),
            Some(s) => {
                let v = Severity::parse(s.get_ref());
                if v.is_none() {
                    fail(
                        s.span().start,
                        format!(
                            "severity must be low, medium, high or critical; got {:?}",
                            s.get_ref()
                        ),
                    );
                }
                v
            }
        };
        let builtin = match &r.builtin {
            None => None,
            Some(b) => {
                let v = Builtin::parse(b.get_ref());
                if v.is_none() {
                    fail(
                        b.span().start,
                        format!(
                            "unknown builtin {:?} (one of: {})",
                            b.get_ref(),
                            Builtin::ALL.map(Builtin::as_str).join(", ")
                        ),
                    );
                }
                v
            }
        };
        match (r.patterns.is_empty(), &r.builtin) {
            (true, None) => fail(at, format!("rule {id:?} has neither patterns nor builtin")),
            (false, Some(_)) => fail(at, format!("rule {id:?} has both patterns and builtin")),
            _ => {}
        }
        for p in r.patterns.iter().chain(&r.except) {
            if super::normalize::normalize(p.get_ref()).two.text.is_empty() {
                fail(
                    p.span().start,
                    format!("pattern {:?} is empty once normalised", p.get_ref()),
                );
            }
        }
        if let (Some(category), Some(severity)) = (cat, severity) {
            rules.push(CommentRule {
                id,
                category,
                severity,
                patterns: r.patterns.iter().map(|p| p.get_ref().clone()).collect(),
                builtin,
                except: r.except.iter().map(|p| p.get_ref().clone()).collect(),
                guarded: r.guarded,
                legal_basis: r.legal_basis.clone(),
                explanation: r.explanation.clone(),
                suggestion: r.suggestion.clone(),
            });
        }
    }
    let mut guards = Vec::new();
    for g in &raw.guard {
        let g = g.get_ref();
        let categories: Vec<Category> = g
            .categories
            .iter()
            .filter_map(|c| category(c, &mut fail))
            .collect();
        if g.cues.is_empty() {
            fail(
                g.categories.first().map_or(0, |c| c.span().start),
                "guard without cues".into(),
            );
        }
        guards.push(Guard {
            categories,
            cues: g.cues.iter().map(|c| c.get_ref().clone()).collect(),
        });
    }
    (errors.len() == before).then(|| CommentPack {
        file: file.to_path_buf(),
        lang,
        rules,
        guards,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(src: &str) -> Vec<String> {
        let mut errors = Vec::new();
        let _ = parse(Path::new("x.toml"), src, &mut errors, &mut HashMap::new());
        errors.iter().map(|e| e.to_string()).collect()
    }

    const HEAD: &str = "[pack]\nlang = \"ja\"\n";
    const BASIS: &str = "legal_basis = \"l\"\nexplanation = \"e\"\nsuggestion = \"s\"\n";

    #[test]
    fn bad_files_say_where() {
        let rule = |body: &str| format!("{HEAD}\n[[rule]]\nid = \"r\"\n{body}{BASIS}");
        // (file text, expected error)
        let cases = [
            (
                rule("category = \"threat\"\n"),
                "x.toml:4: rule \"r\" has neither",
            ),
            (
                rule("category = \"efficacy\"\npatterns = [\"a\"]\n"),
                "x.toml:6: category must be one of",
            ),
            (
                rule("category = \"abuse\"\npatterns = [\"a\"]\ncolour = 1\n"),
                "x.toml:8: unknown field `colour`",
            ),
            (
                rule("category = \"abuse\"\nseverity = \"huge\"\npatterns = [\"a\"]\n"),
                "x.toml:7: severity must be",
            ),
            (
                rule("category = \"scam\"\nbuiltin = \"fax\"\n"),
                "x.toml:7: unknown builtin \"fax\"",
            ),
            (
                rule("category = \"abuse\"\npatterns = [\"!!\"]\n"),
                "x.toml:7: pattern \"!!\" is empty",
            ),
            (
                "[pack]\nlang = \"fr\"\n".to_string(),
                "x.toml:2: lang must be",
            ),
            (
                format!("{HEAD}[[guard]]\ncategories = [\"scam\"]\ncues = []\n"),
                "x.toml:4: guard without cues",
            ),
        ];
        for (src, want) in cases {
            let errs = errors_of(&src);
            assert!(
                errs.iter().any(|e| e.starts_with(want)),
                "{want:?} not in {errs:?}\n{src}"
            );
        }
    }

    #[test]
    fn duplicate_ids_across_files() {
        let src = format!(
            "{HEAD}[[rule]]\nid = \"r\"\ncategory = \"abuse\"\npatterns = [\"a\"]\n{BASIS}"
        );
        let mut errors = Vec::new();
        let mut ids = HashMap::new();
        assert!(parse(Path::new("a.toml"), &src, &mut errors, &mut ids).is_some());
        assert!(parse(Path::new("b.toml"), &src, &mut errors, &mut ids).is_none());
        assert_eq!(errors.len(), 1);
        assert!(errors[0]
            .to_string()
            .starts_with("b.toml:4: duplicate rule id \"r\" (first at a.toml:4)"));
    }
}
