//! Whisper's text vocabulary for the ggml header.
//!
//! Input: a Hugging Face `tokenizer.json` (byte-level BPE, GPT-2 style). Output: the raw bytes of
//! every token id below `<|endoftext|>`, in id order. whisper.cpp appends the special tokens
//! itself, so they are left out. GPT-2 stores each byte as a printable code point; this undoes
//! that mapping (`bytes_to_unicode` in GPT-2's encoder).

use std::collections::HashMap;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum VocabError {
    #[error("tokenizer.json is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("tokenizer.json has no <|endoftext|> token")]
    NoEndOfText,
    #[error("tokenizer.json has no token with id {0} (ids below <|endoftext|> must be complete)")]
    MissingId(u32),
    #[error("token {token:?} has a character outside GPT-2's byte alphabet: {ch:?}")]
    NotByteLevel { token: String, ch: char },
}

#[derive(Deserialize)]
struct TokenizerJson {
    model: BpeModel,
    #[serde(default)]
    added_tokens: Vec<AddedToken>,
}

#[derive(Deserialize)]
struct BpeModel {
    vocab: HashMap<String, u32>,
}

#[derive(Deserialize)]
struct AddedToken {
    id: u32,
    content: String,
}

/// The plain (non-special) tokens of a Whisper tokenizer.
#[derive(Debug)]
pub struct Vocab {
    /// Token bytes, indexed by id.
    pub tokens: Vec<Vec<u8>>,
    /// Id of `<|endoftext|>`: 50256 for English-only models, 50257 for multilingual ones.
    pub end_of_text: u32,
}

/// The inverse of GPT-2's `bytes_to_unicode`: code point → byte.
fn unicode_to_byte() -> HashMap<char, u8> {
    let printable = |b: u8| (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || b >= 0xAE;
    let mut map = HashMap::with_capacity(256);
    let mut shifted = 0u32;
    for b in 0..=255u8 {
        let ch = if printable(b) {
            char::from(b)
        } else {
            shifted += 1;
            char::from_u32(255 + shifted).expect("code points 256..=323 are valid")
        };
        map.insert(ch, b);
    }
    map
}

/// Decodes one GPT-2 byte-level token string into its bytes.
pub fn token_bytes(token: &str, alphabet: &HashMap<char, u8>) -> Result<Vec<u8>, VocabError> {
    token
        .chars()
        .map(|ch| {
            alphabet
                .get(&ch)
                .copied()
                .ok_or_else(|| VocabError::NotByteLevel {
                    token: token.to_string(),
                    ch,
                })
        })
        .collect()
}

/// Parses `tokenizer.json` text into the vocabulary whisper.cpp expects.
pub fn parse(json: &str) -> Result<Vocab, VocabError> {
    let parsed: TokenizerJson = serde_json::from_str(json)?;
    let end_of_text = parsed
        .added_tokens
        .iter()
        .find(|t| t.content == "<|endoftext|>")
        .map(|t| t.id)
        .or_else(|| parsed.model.vocab.get("<|endoftext|>").copied())
        .ok_or(VocabError::NoEndOfText)?;

    let alphabet = unicode_to_byte();
    let mut by_id: Vec<Option<Vec<u8>>> = vec![None; end_of_text as usize];
    for (token, &id) in &parsed.model.vocab {
        if id < end_of_text {
            by_id[id as usize] = Some(token_bytes(token, &alphabet)?);
        }
    }
    let tokens = by_id
        .into_iter()
        .enumerate()
        .map(|(id, t)| t.ok_or(VocabError::MissingId(id as u32)))
        .collect::<Result<_, _>>()?;
    Ok(Vocab {
        tokens,
        end_of_text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_alphabet_is_a_bijection() {
        let map = unicode_to_byte();
        assert_eq!(map.len(), 256);
        let mut bytes: Vec<u8> = map.values().copied().collect();
        bytes.sort_unstable();
        bytes.dedup();
        assert_eq!(bytes.len(), 256);
    }

    #[test]
    fn decodes_byte_level_tokens() {
        let alphabet = unicode_to_byte();
        let cases: &[(&str, &[u8])] = &[
            ("hello", b"hello"),
            ("Ġthe", b" the"),        // Ġ is the space byte
            ("Ċ", b"\n"),             // Ċ is newline
            ("ãģĵ", "こ".as_bytes()), // こ = E3 81 93
            ("Ġ", b" "),
        ];
        for (token, bytes) in cases {
            assert_eq!(token_bytes(token, &alphabet).unwrap(), *bytes, "{token}");
        }
    }

    #[test]
    fn rejects_non_byte_level_characters() {
        let alphabet = unicode_to_byte();
        assert!(token_bytes("日本", &alphabet).is_err());
    }

    #[test]
    fn keeps_ids_below_end_of_text_only() {
        let json = r#"{"model":{"type":"BPE","vocab":{"a":0,"Ġb":1,"<|endoftext|>":2}},
            "added_tokens":[{"id":2,"content":"<|endoftext|>"},{"id":3,"content":"<|en|>"}]}"#;
        let vocab = parse(json).unwrap();
        assert_eq!(vocab.end_of_text, 2);
        assert_eq!(vocab.tokens, vec![b"a".to_vec(), b" b".to_vec()]);
    }

    #[test]
    fn a_gap_in_ids_is_an_error() {
        let json = r#"{"model":{"vocab":{"a":0,"<|endoftext|>":2}},"added_tokens":[]}"#;
        assert!(matches!(parse(json), Err(VocabError::MissingId(1))));
    }
}
