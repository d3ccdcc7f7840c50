//! Origin claims: expands `{country}` templates over the country lexicon into (phrase, ISO code)
//! patterns, resolves country names and codes, and decides what a spoken origin means next to the
//! declared one (mismatch → false_origin, match → nothing, unknown → origin_claim).

use super::alert::{Category, Lang};
use super::normalize::normalize_str;
use super::pack::{Country, OriginRule};

/// Every phrase of an origin rule with the country it names.
pub fn expand(rule: &OriginRule, countries: &[Country]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in &rule.templates {
        for c in countries {
            for name in c.names(rule.base.lang) {
                out.push((t.replace("{country}", name), c.code.clone()));
            }
        }
    }
    out.extend(rule.fixed.iter().cloned());
    out
}

/// An origin rule's exceptions, `{country}` expanded over every country's names in its language
/// (a process done in a country, "designed in {country}", is no origin claim).
pub fn expand_except(rule: &OriginRule, countries: &[Country]) -> Vec<String> {
    let mut out = Vec::new();
    for e in &rule.base.except {
        if e.contains("{country}") {
            for c in countries {
                for name in c.names(rule.base.lang) {
                    out.push(e.replace("{country}", name));
                }
            }
        } else {
            out.push(e.clone());
        }
    }
    out
}

/// What a spoken origin raises given the declared one: `None` when they agree.
pub fn resolve(spoken: &str, declared: Option<&str>) -> Option<Category> {
    match declared {
        None => Some(Category::OriginClaim),
        Some(d) if d.eq_ignore_ascii_case(spoken) => None,
        Some(_) => Some(Category::FalseOrigin),
    }
}

/// A declared origin as given by a user: an ISO code (`jp`, `JP`) or a name in the lexicon
/// (`Japan`, `日本`). `None` when it is neither.
pub fn country_code(input: &str, countries: &[Country]) -> Option<String> {
    let t = input.trim();
    if let Some(c) = countries.iter().find(|c| c.code.eq_ignore_ascii_case(t)) {
        return Some(c.code.clone());
    }
    for lang in Lang::ALL {
        let n = normalize_str(t, lang);
        if let Some(c) = countries.iter().find(|c| {
            c.names(lang)
                .iter()
                .any(|name| normalize_str(name, lang) == n)
        }) {
            return Some(c.code.clone());
        }
    }
    // Codes outside the lexicon are still valid declarations (nothing spoken can match them), if
    // ISO 3166-1 assigns them: "XX" or "QQ" is a typo, not a country an auditor can file.
    let assigned = t.len() == 2 && celes::Country::from_alpha2(t).is_ok();
    assigned.then(|| t.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::pack::RuleBase;

    fn lexicon() -> Vec<Country> {
        vec![
            Country {
                code: "JP".into(),
                ja: vec!["日本".into(), "ニホン".into()],
                en: vec!["Japan".into(), "Japanese".into()],
            },
            Country {
                code: "CN".into(),
                ja: vec!["中国".into()],
                en: vec!["China".into()],
            },
        ]
    }

    #[test]
    fn templates_expand_over_the_lexicon() {
        let rule = OriginRule {
            base: RuleBase {
                id: "o".into(),
                lang: Lang::Ja,
                legal_basis: String::new(),
                explanation: String::new(),
                suggestion: String::new(),
                except: vec![],
                negation: true,
                readings: true,
                phonetic: false,
                near_miss: false,
                cancel: vec![],
                context: vec![],
                source: String::new(),
            },
            unverified_explanation: String::new(),
            templates: vec!["{country}製".into()],
            fixed: vec![("国産".into(), "JP".into())],
        };
        let got = expand(&rule, &lexicon());
        let want: Vec<(String, String)> = [
            ("日本製", "JP"),
            ("ニホン製", "JP"),
            ("中国製", "CN"),
            ("国産", "JP"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn resolution() {
        let cases = [
            ("JP", Some("JP"), None),
            ("JP", Some("jp"), None),
            ("CN", Some("JP"), Some(Category::FalseOrigin)),
            ("JP", None, Some(Category::OriginClaim)),
        ];
        for (spoken, declared, want) in cases {
            assert_eq!(resolve(spoken, declared), want, "{spoken} {declared:?}");
        }
        let lx = lexicon();
        assert_eq!(country_code("jp", &lx).as_deref(), Some("JP"));
        assert_eq!(country_code("Japan", &lx).as_deref(), Some("JP"));
        assert_eq!(country_code("中国", &lx).as_deref(), Some("CN"));
        assert_eq!(country_code("vn", &lx).as_deref(), Some("VN"));
        assert_eq!(country_code("Narnia", &lx), None);
        // Two letters that ISO 3166-1 does not assign are a typo, not a country.
        for typo in ["XX", "QQ", "AA", "zz"] {
            assert_eq!(country_code(typo, &lx), None, "{typo}");
        }
        assert_eq!(country_code("tw", &lx).as_deref(), Some("TW"));
    }
}
