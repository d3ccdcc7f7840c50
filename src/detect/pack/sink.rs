//! Reading one pack file: TOML with recoverable syntax errors → its entries deserialized one by
//! one ([`Parts`]), every problem collected in a [`Sink`] as `file:line: message`, plus the
//! small checks entries share (pattern lists, windows, unique ids).

use std::collections::HashMap;
use std::path::Path;

use serde::de::{Deserialize, IntoDeserializer};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::raw::*;
use super::PackError;
use crate::detect::alert::Lang;
use crate::detect::normalize::normalize_str;

/// Collects errors for one file, turning byte offsets into line numbers.
pub(super) struct Sink<'a> {
    pub(super) file: &'a Path,
    pub(super) src: &'a str,
    pub(super) errors: &'a mut Vec<PackError>,
}

impl Sink<'_> {
    pub(super) fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.src.len());
        self.src.as_bytes()[..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    pub(super) fn at(&mut self, offset: usize, message: impl Into<String>) {
        let line = self.line(offset);
        self.errors.push(PackError {
            file: self.file.to_path_buf(),
            line,
            message: message.into(),
        });
    }

    pub(super) fn toml(&mut self, err: &toml::de::Error, fallback: usize) {
        let offset = err.span().map_or(fallback, |s| s.start);
        self.at(offset, err.message().trim().to_string());
    }
}

/// A file's entries after serde, before validation.
#[derive(Default)]
pub(super) struct Parts {
    pub(super) pack: Option<(usize, RawPack)>,
    pub(super) rules: Vec<(usize, RawRule)>,
    pub(super) composes: Vec<(usize, RawCompose)>,
    pub(super) origins: Vec<(usize, RawOrigin)>,
    pub(super) negation: Option<(usize, RawNegation)>,
    pub(super) countries: Vec<(usize, RawCountry)>,
}

pub(super) fn de<'i, T: Deserialize<'i>>(sink: &mut Sink, v: &Spanned<DeValue<'i>>) -> Option<T> {
    let start = v.span().start;
    match T::deserialize(v.clone().into_deserializer()) {
        Ok(t) => Some(t),
        Err(e) => {
            sink.toml(&e, start);
            None
        }
    }
}

pub(super) fn de_array<'i, T: Deserialize<'i>>(
    sink: &mut Sink,
    key: &str,
    v: &Spanned<DeValue<'i>>,
) -> Vec<(usize, T)> {
    let Some(items) = v.get_ref().as_array() else {
        sink.at(
            v.span().start,
            format!("`{key}` must be an array of tables ([[{key}]])"),
        );
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| de::<T>(sink, item).map(|t| (item.span().start, t)))
        .collect()
}

pub(super) fn parse_file(sink: &mut Sink) -> Parts {
    let src = sink.src;
    let (doc, syntax) = DeTable::parse_recoverable(src);
    for e in &syntax {
        sink.toml(e, 0);
    }
    if !syntax.is_empty() {
        return Parts::default();
    }
    let mut parts = Parts::default();
    for (key, value) in doc.get_ref().iter() {
        let start = value.span().start;
        match key.get_ref().as_ref() {
            "pack" => parts.pack = de(sink, value).map(|p| (start, p)),
            "negation" => parts.negation = de(sink, value).map(|n| (start, n)),
            "rule" => parts.rules = de_array(sink, "rule", value),
            "compose" => parts.composes = de_array(sink, "compose", value),
            "origin" => parts.origins = de_array(sink, "origin", value),
            "country" => parts.countries = de_array(sink, "country", value),
            other => sink.at(
                key.span().start,
                format!(
                    "unknown section `{other}`, expected one of `pack`, `rule`, `compose`, `origin`, `negation`, `country`"
                ),
            ),
        }
    }
    parts
}

/// Checks one pattern list: non-empty strings that still say something after normalization.
pub(super) fn patterns(
    sink: &mut Sink,
    lang: Lang,
    what: &str,
    list: &[Spanned<String>],
) -> Vec<String> {
    let mut out = Vec::new();
    for p in list {
        if normalize_str(p.get_ref(), lang).is_empty() {
            sink.at(
                p.span().start,
                format!(
                    "empty {what} {:?} (nothing left after normalization)",
                    p.get_ref()
                ),
            );
        } else {
            out.push(p.get_ref().clone());
        }
    }
    out
}

pub(super) fn window(sink: &mut Sink, w: &Option<Spanned<i64>>, default: usize) -> usize {
    match w {
        None => default,
        Some(w) if (1..=200).contains(w.get_ref()) => *w.get_ref() as usize,
        Some(w) => {
            sink.at(
                w.span().start,
                format!("window must be 1..=200, got {}", w.get_ref()),
            );
            default
        }
    }
}

pub(super) fn check_id(sink: &mut Sink, ids: &mut HashMap<String, String>, id: &Spanned<String>) {
    let here = format!("{}:{}", sink.file.display(), sink.line(id.span().start));
    let s = id.get_ref();
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        sink.at(
            id.span().start,
            format!("id {s:?} must be non-empty ASCII letters, digits, `_`, `-` or `.`"),
        );
    } else if let Some(first) = ids.get(s) {
        sink.at(
            id.span().start,
            format!("duplicate id `{s}` (first at {first})"),
        );
    } else {
        ids.insert(s.clone(), here);
    }
}
