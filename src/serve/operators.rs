//! Named operators and their roles (pure): `--token` values and a tokens file in, the
//! [`Operators`] the server checks bearer tokens against out; a bearer token in, the operator it
//! belongs to (or none) out.
//!
//! Formats:
//! - `--token SECRET`: one unnamed operator, recorded as `operator`, role `reviewer` (what a
//!   single token always allowed).
//! - `--token NAME[:ROLE]=SECRET` (repeatable): a named operator. `ROLE` is `viewer` (read
//!   only) or `reviewer` (also every POST, PUT and DELETE: reviews, attaching and detaching
//!   streams, the declared origin); it defaults to `reviewer`.
//! - `--tokens-file PATH`: one `NAME[:ROLE]=SECRET` per line; blank lines and lines starting
//!   with `#` are skipped; a bad line is an error naming `PATH:LINE` (never the secret).
//!
//! A NAME is 1 to 32 of `A-Z a-z 0-9 . _ -`; `local` is reserved for requests without any token.
//! A SECRET is 16 to 256 visible ASCII characters. A `--token` value whose part before the first
//! `=` is not a NAME (or whose part after is too short to be a secret, as the `==` end of a
//! base64 token) is read whole as an unnamed secret, so tokens that worked before still do; one
//! with `:ROLE` before the `=` is always read as named. Names and secrets are unique.
//!
//! Secrets are compared in constant time, against every operator, so neither the position of
//! the first differing byte nor which operator matched shows in the response time.

use std::fmt;
use std::path::Path;

use serde::Serialize;

/// Who is recorded for requests when the server has no tokens (loopback only).
pub const LOCAL: &str = "local";

/// Who is recorded for the unnamed `--token SECRET`.
pub const UNNAMED: &str = "operator";

/// What an operator may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Every GET.
    Viewer,
    /// Everything: also reviews, attaching and detaching streams, the declared origin.
    Reviewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Reviewer => "reviewer",
        }
    }

    fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "reviewer" => Some(Role::Reviewer),
            _ => None,
        }
    }
}

/// A request's operator: who reviews are recorded as, and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub name: String,
    pub role: Role,
}

impl Operator {
    /// The operator of every request to a server without tokens.
    pub fn local() -> Operator {
        Operator {
            name: LOCAL.into(),
            role: Role::Reviewer,
        }
    }
}

/// The operators a server knows. Empty: no token is required (loopback only).
#[derive(Clone, Default, PartialEq)]
pub struct Operators {
    entries: Vec<(Operator, String)>,
}

// Secrets never reach a log line through `{:?}`.
impl fmt::Debug for Operators {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(o, _)| (&o.name, o.role)))
            .finish()
    }
}

/// Why the operators could not be set up. No message carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorsError {
    /// `where` is `--token` (or `--token NAME`) or `PATH:LINE`.
    #[error("{at}: {what}")]
    Bad { at: String, what: String },
    #[error("{0}: cannot read: {1}")]
    Unreadable(String, String),
}

const FORMAT: &str = "expected SECRET or NAME[:ROLE]=SECRET (ROLE: viewer or reviewer)";
const LINE_FORMAT: &str = "expected NAME[:ROLE]=SECRET (ROLE: viewer or reviewer)";

fn secret_ok(secret: &str) -> bool {
    (16..=256).contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_graphic())
}

fn name_ok(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// One `NAME[:ROLE]=SECRET`; `Ok(None)` when `text` is not in that form and `unnamed_ok` lets it
/// be read whole as an unnamed secret. Messages never repeat the input: a misplaced secret
/// would end up on stderr.
fn parse_named(text: &str, unnamed_ok: bool) -> Result<Option<(Operator, String)>, String> {
    let format = if unnamed_ok { FORMAT } else { LINE_FORMAT };
    let Some((head, secret)) = text.split_once('=') else {
        return if unnamed_ok {
            Ok(None)
        } else {
            Err(format.into())
        };
    };
    let (name, role) = match head.split_once(':') {
        Some((name, role)) => (name, Some(role)),
        None => (head, None),
    };
    if unnamed_ok && role.is_none() && !(name_ok(name) && secret_ok(secret)) {
        return Ok(None);
    }
    if !name_ok(name) {
        return Err(format!("{format}; a NAME is 1 to 32 of A-Z a-z 0-9 . _ -"));
    }
    let role = match role {
        None => Role::Reviewer,
        Some(r) => {
            Role::parse(r).ok_or_else(|| "the role must be viewer or reviewer".to_string())?
        }
    };
    if !secret_ok(secret) {
        return Err(
            "the secret must be 16 to 256 visible ASCII characters without spaces".to_string(),
        );
    }
    Ok(Some((
        Operator {
            name: name.to_string(),
            role,
        },
        secret.to_string(),
    )))
}

impl Operators {
    /// Operators from `--token` values (see the module docs) and the text of a tokens file
    /// (`(path, text)`, the path only for messages).
    pub fn parse(
        flags: &[String],
        file: Option<(&Path, &str)>,
    ) -> Result<Operators, OperatorsError> {
        let mut operators = Operators::default();
        for flag in flags {
            let parsed = parse_named(flag, true).map_err(|what| OperatorsError::Bad {
                at: "--token".into(),
                what,
            })?;
            let (operator, secret) = match parsed {
                Some(named) => named,
                None if secret_ok(flag) => (
                    Operator {
                        name: UNNAMED.into(),
                        role: Role::Reviewer,
                    },
                    flag.clone(),
                ),
                None => {
                    return Err(OperatorsError::Bad {
                        at: "--token".into(),
                        what: format!(
                            "{FORMAT}; the secret must be 16 to 256 visible ASCII characters without spaces"
                        ),
                    })
                }
            };
            let at = format!("--token {}", operator.name);
            operators.add(operator, secret, at)?;
        }
        if let Some((path, text)) = file {
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let at = format!("{}:{}", path.display(), i + 1);
                let parsed = parse_named(line, false).map_err(|what| OperatorsError::Bad {
                    at: at.clone(),
                    what,
                })?;
                if let Some((operator, secret)) = parsed {
                    operators.add(operator, secret, at)?;
                }
            }
        }
        Ok(operators)
    }

    /// Reads `path` and parses it with the flags ([`Operators::parse`]).
    pub fn load(flags: &[String], path: Option<&Path>) -> Result<Operators, OperatorsError> {
        match path {
            None => Operators::parse(flags, None),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    OperatorsError::Unreadable(path.display().to_string(), e.to_string())
                })?;
                Operators::parse(flags, Some((path, &text)))
            }
        }
    }

    /// One unnamed operator for `token` (the server's single-token form), or none.
    pub fn single(token: Option<String>) -> Operators {
        Operators {
            entries: token
                .map(|secret| {
                    let operator = Operator {
                        name: UNNAMED.into(),
                        role: Role::Reviewer,
                    };
                    (operator, secret)
                })
                .into_iter()
                .collect(),
        }
    }

    fn add(
        &mut self,
        operator: Operator,
        secret: String,
        at: String,
    ) -> Result<(), OperatorsError> {
        let what = if operator.name == LOCAL {
            Some(format!(
                "operator name {LOCAL:?} is reserved for requests without a token"
            ))
        } else if self.entries.iter().any(|(o, _)| o.name == operator.name) {
            Some(format!("operator {} is given twice", operator.name))
        } else if let Some((other, _)) = self.entries.iter().find(|(_, s)| *s == secret) {
            Some(format!(
                "operator {} has the same secret as {}: each needs its own",
                operator.name, other.name
            ))
        } else {
            None
        };
        if let Some(what) = what {
            return Err(OperatorsError::Bad { at, what });
        }
        self.entries.push((operator, secret));
        Ok(())
    }

    /// Whether no token is required.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Each operator, without secrets (for the startup line).
    pub fn list(&self) -> Vec<&Operator> {
        self.entries.iter().map(|(o, _)| o).collect()
    }

    /// The operator whose secret is `given`. Every secret is compared, in constant time, even
    /// after a match.
    pub fn authenticate(&self, given: &str) -> Option<&Operator> {
        let mut found = None;
        for (operator, secret) in &self.entries {
            if constant_time_eq(given.as_bytes(), secret.as_bytes()) {
                found = Some(operator);
            }
        }
        found
    }
}

/// Equality whose time does not depend on where the inputs first differ, so a token cannot be
/// guessed byte by byte from response times.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const S1: &str = "s3cret-0123456789";

    /// Operators (name, role) or words of the error.
    type Want = Result<Vec<(&'static str, Role)>, &'static str>;
    const S2: &str = "other-secret-abcdef";

    fn names(operators: &Operators) -> Vec<(String, Role)> {
        operators
            .list()
            .into_iter()
            .map(|o| (o.name.clone(), o.role))
            .collect()
    }

    #[test]
    fn token_flags() {
        use Role::*;
        // (flags, operators or error words)
        let cases: Vec<(Vec<String>, Want)> = vec![
            (vec![], Ok(vec![])),
            (vec![S1.into()], Ok(vec![("operator", Reviewer)])),
            (vec![format!("alice={S1}")], Ok(vec![("alice", Reviewer)])),
            (
                vec![format!("alice:reviewer={S1}"), format!("bob:viewer={S2}")],
                Ok(vec![("alice", Reviewer), ("bob", Viewer)]),
            ),
            // A base64 token ending in `=` is still one unnamed secret.
            (
                vec!["QWxhZGRpbjpvcGVuIHNlc2FtZQ==".into()],
                Ok(vec![("operator", Reviewer)]),
            ),
            // So is one whose head is not a name.
            (
                vec!["a/b=0123456789abcdef".into()],
                Ok(vec![("operator", Reviewer)]),
            ),
            (
                vec![S1.into(), format!("alice={S2}")],
                Ok(vec![("operator", Reviewer), ("alice", Reviewer)]),
            ),
            (vec!["short".into()], Err("--token: expected SECRET")),
            (vec!["alice=short".into()], Err("16 to 256")),
            (
                vec![format!("alice:admin={S1}")],
                Err("--token: the role must be viewer or reviewer"),
            ),
            (
                vec!["alice:viewer=short".into()],
                Err("--token: the secret must be"),
            ),
            (
                vec![format!("alice={S1}"), format!("alice={S2}")],
                Err("--token alice: operator alice is given twice"),
            ),
            (
                vec![format!("alice={S1}"), format!("bob={S1}")],
                Err("operator bob has the same secret as alice"),
            ),
            (
                vec![S1.into(), S2.into()],
                Err("operator operator is given twice"),
            ),
            (vec![format!("local={S1}")], Err("reserved")),
            (vec![format!("with space {S1}")], Err("--token: expected")),
        ];
        for (flags, want) in cases {
            let got = Operators::parse(&flags, None);
            match (got, want) {
                (Ok(got), Ok(want)) => {
                    let want: Vec<(String, Role)> =
                        want.into_iter().map(|(n, r)| (n.to_string(), r)).collect();
                    assert_eq!(names(&got), want, "{flags:?}");
                }
                (Err(e), Err(words)) => {
                    let message = e.to_string();
                    assert!(message.contains(words), "{flags:?}: {message}");
                    assert!(
                        !message.contains(S1) && !message.contains(S2),
                        "a secret in {message}"
                    );
                }
                (got, want) => panic!("{flags:?}: {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn tokens_files() {
        use Role::*;
        let path = Path::new("/etc/claimwatch/tokens");
        // (file text, operators or error words)
        let cases: Vec<(String, Want)> = vec![
            (String::new(), Ok(vec![])),
            (
                format!("# compliance team\n\nalice={S1}\n  bob:viewer={S2}  \n"),
                Ok(vec![("alice", Reviewer), ("bob", Viewer)]),
            ),
            // In a file every line is named: a bare secret is a mistake, not `operator`.
            (
                format!("alice={S1}\n{S2}\n"),
                Err("/etc/claimwatch/tokens:2: expected NAME[:ROLE]=SECRET"),
            ),
            (
                format!("alice={S1}\nbob:boss={S2}\n"),
                Err("/etc/claimwatch/tokens:2: the role must be"),
            ),
            (
                "\n\nalice=tooshort\n".to_string(),
                Err("/etc/claimwatch/tokens:3: the secret must be"),
            ),
            (
                format!("alice={S1}\nalice:viewer={S2}\n"),
                Err("/etc/claimwatch/tokens:2: operator alice is given twice"),
            ),
            (
                format!("a b={S1}\n"),
                Err("/etc/claimwatch/tokens:1: expected"),
            ),
            // A bare base64 secret: its head looks like a name; the message must not repeat it.
            (
                "QWxhZGRpbjpvcGVuIHNlc2FtZQ==\n".into(),
                Err("/etc/claimwatch/tokens:1: the secret must be"),
            ),
        ];
        for (text, want) in cases {
            let got = Operators::parse(&[], Some((path, &text)));
            match (got, want) {
                (Ok(got), Ok(want)) => {
                    let want: Vec<(String, Role)> =
                        want.into_iter().map(|(n, r)| (n.to_string(), r)).collect();
                    assert_eq!(names(&got), want, "{text:?}");
                }
                (Err(e), Err(words)) => {
                    let message = e.to_string();
                    assert!(message.contains(words), "{text:?}: {message}");
                    let echoed = [S1, S2, "QWxhZGRp"].iter().any(|s| message.contains(s));
                    assert!(!echoed, "input repeated in {message}");
                }
                (got, want) => panic!("{text:?}: {got:?}, want {want:?}"),
            }
        }
        // Flags and file together: one set of names and secrets.
        let err = Operators::parse(
            &[format!("alice={S1}")],
            Some((path, &format!("alice={S2}"))),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("tokens:1: operator alice is given twice"),
            "{err}"
        );
        let missing = Operators::load(&[], Some(Path::new("/nonexistent/tokens"))).unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("/nonexistent/tokens: cannot read"),
            "{missing}"
        );
    }

    #[test]
    fn authentication_finds_the_operator_of_a_secret() {
        let operators =
            Operators::parse(&[format!("alice={S1}"), format!("bob:viewer={S2}")], None).unwrap();
        // (bearer token, operator name)
        let cases = [
            (S1, Some("alice")),
            (S2, Some("bob")),
            ("", None),
            (&S1[..S1.len() - 1], None),
            (&*format!("{S1}x"), None),
            ("alice", None),
        ];
        for (given, want) in cases {
            let got = operators.authenticate(given).map(|o| o.name.as_str());
            assert_eq!(got, want, "{given:?}");
        }
        assert!(!format!("{operators:?}").contains(S1));
        assert_eq!(
            names(&Operators::single(Some(S1.into()))),
            [("operator".to_string(), Role::Reviewer)]
        );
        assert!(Operators::single(None).is_empty());
    }

    #[test]
    fn constant_time_eq_is_equality() {
        // (a, b, equal)
        let cases: [(&[u8], &[u8], bool); 5] = [
            (b"", b"", true),
            (b"abc", b"abc", true),
            (b"abc", b"abd", false),
            (b"abc", b"ab", false),
            (b"", b"a", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(constant_time_eq(a, b), want, "{a:?} {b:?}");
        }
    }
}
