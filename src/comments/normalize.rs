//! Chat normalisation (pure): a comment as posted → the forms the comment packs match on, each
//! character remembering the byte range of the original it came from (alerts quote what was posted).
//!
//! Chat hides words on purpose, so beyond the claims normaliser (NFKC, case, kana) this undoes the
//! usual tricks: zero-width characters and emoji between letters are dropped; katakana and
//! half-width kana fold to hiragana; mask characters (`○●◯×＊*`) become `*`; leetspeak digits and
//! symbols become letters inside words that are mostly letters (so prices, phone and order numbers
//! survive); single letters spaced apart (`k y s`, `d.m me`) are joined; spaces and punctuation next
//! to Japanese vanish (`し ね`, `し.ね`); and runs of one character collapse. Collapsing to one
//! (`diiiie` → `die`, `しねええ` → `しねえ`) also turns `ass` into `as`, so there are two forms:
//! [`Chat::two`] with runs cut to two (patterns with double letters match here) and [`Chat::one`]
//! with runs cut to one, where a hit counts only over a collapsed run or for a pattern without
//! doubles (the matcher's job). [`Chat::plain`] is only NFKC + lower case, for the language-neutral
//! patterns (links, phone numbers, emails), which need digits and symbols as posted.

use std::ops::Range;

use unicode_normalization::char::{compose, is_combining_mark};
use unicode_normalization::UnicodeNormalization;

/// One character of a normalised form.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub ch: char,
    /// Byte range of the original text it came from.
    pub orig: Range<usize>,
    /// It was katakana (or the long-vowel mark) as posted: katakana patterns such as `カス` match
    /// only katakana, so `ぼかす` and `カスタード` stay clean.
    pub kata: bool,
    /// It stands for a run of three or more equal characters as posted (`diiie`, not `dmm`).
    pub collapsed: bool,
    /// How many characters as posted it stands for.
    pub run: u16,
}

/// One normalised form: its text and one [`Unit`] per character.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Form {
    pub text: String,
    pub units: Vec<Unit>,
    /// Byte offset in `text` of every unit.
    pub starts: Vec<usize>,
}

impl Form {
    fn from_units(units: Vec<Unit>) -> Form {
        let mut text = String::with_capacity(units.len() * 2);
        let mut starts = Vec::with_capacity(units.len());
        for u in &units {
            starts.push(text.len());
            text.push(u.ch);
        }
        Form {
            text,
            units,
            starts,
        }
    }

    /// Unit range of a byte range of `text` (both ends on char boundaries).
    pub fn units_of(&self, bytes: Range<usize>) -> Range<usize> {
        let at = |b: usize| match self.starts.binary_search(&b) {
            Ok(i) => i,
            Err(i) => i,
        };
        at(bytes.start)..at(bytes.end)
    }

    /// Original byte range of units `r` (non-empty).
    pub fn orig_of(&self, r: Range<usize>) -> Range<usize> {
        let first = self.units[r.start].orig.start;
        let last = self.units[r.end.max(r.start + 1) - 1].orig.end;
        first..last.max(first)
    }
}

/// The three forms of one comment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chat {
    /// NFKC, lower case, zero-width and emoji removed: for links, numbers, emails, addresses.
    pub plain: Form,
    /// Words with every trick undone, runs cut to two.
    pub two: Form,
    /// As `two`, runs cut to one.
    pub one: Form,
}

/// Normalises a comment (or a pattern: patterns go through the same steps).
pub fn normalize(input: &str) -> Chat {
    let plain = fold(input);
    let words = collapse(join_letters(words(&plain)), 2);
    let one = collapse(words.clone(), 1);
    Chat {
        plain: Form::from_units(plain),
        two: Form::from_units(words),
        one: Form::from_units(one),
    }
}

/// Zero-width characters, variation selectors and emoji: removed, not separators, so letters
/// they split join back (`k\u{200b}y\u{200b}s`, `k💀y💀s`).
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}'
        | '\u{1F000}'..='\u{1FAFF}' | '\u{2600}'..='\u{27BF}' | '\u{2B00}'..='\u{2BFF}'
        | '\u{E0020}'..='\u{E007F}' | '\u{20E3}')
}

fn is_katakana(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30FA}' | 'ー' | '\u{31F0}'..='\u{31FF}')
}

/// Step 1: NFKC per character (half-width voiced marks composed onto their kana), lower case,
/// katakana → hiragana, invisible characters dropped.
fn fold(input: &str) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::with_capacity(input.len());
    for (b, c) in input.char_indices() {
        let orig = b..b + c.len_utf8();
        if invisible(c) {
            continue;
        }
        let push = |ch: char, out: &mut Vec<Unit>| {
            if is_combining_mark(ch) {
                // ﾀﾞ → ダ: NFKC per character leaves the mark alone; compose it onto the kana.
                if let Some(prev) = out.last_mut() {
                    let base = if prev.kata {
                        to_katakana(prev.ch)
                    } else {
                        prev.ch
                    };
                    if let Some(composed) = compose(base, ch) {
                        prev.ch = kana_fold(composed);
                        prev.orig.end = orig.end;
                    }
                }
                return;
            }
            // `090ー1122ー3344`: a long-vowel mark or minus sign after a digit is a dash.
            let ch = match ch {
                'ー' | '−' | '‐' | '–' | '—' | '―' | '－'
                    if out.last().is_some_and(|p| p.ch.is_ascii_digit()) =>
                {
                    '-'
                }
                _ => ch,
            };
            let kata = is_katakana(ch);
            for low in ch.to_lowercase() {
                out.push(Unit {
                    ch: kana_fold(low),
                    orig: orig.clone(),
                    kata,
                    collapsed: false,
                    run: 1,
                });
            }
        };
        // Cyrillic and Greek look-alikes of Latin letters (`kіll`, `DМ`): folded to the letter.
        let c = confusable(c).unwrap_or(c);
        if c.is_ascii() || ('\u{3041}'..='\u{3096}').contains(&c) {
            push(c, &mut out);
        } else {
            for n in c.nfkc() {
                push(n, &mut out);
            }
        }
    }
    out
}

fn confusable(c: char) -> Option<char> {
    Some(match c {
        'а' | 'А' | 'α' | 'Α' => 'a',
        'е' | 'Е' | 'ε' | 'Ε' => 'e',
        'о' | 'О' | 'ο' | 'Ο' => 'o',
        'р' | 'Р' | 'ρ' | 'Ρ' => 'p',
        'с' | 'С' => 'c',
        'у' | 'У' => 'y',
        'х' | 'Х' | 'χ' | 'Χ' => 'x',
        'і' | 'І' | 'ι' | 'Ι' => 'i',
        'ј' | 'Ј' => 'j',
        'к' | 'К' | 'κ' | 'Κ' => 'k',
        'м' | 'М' | 'Μ' => 'm',
        'т' | 'Т' | 'Τ' => 't',
        'н' | 'Н' | 'Η' => 'h',
        'в' | 'В' | 'Β' => 'b',
        'ѕ' | 'Ѕ' => 's',
        'ν' | 'Ν' => 'n',
        _ => return None,
    })
}

fn kana_fold(c: char) -> char {
    match c {
        '\u{30A1}'..='\u{30F6}' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
        _ => c,
    }
}

fn to_katakana(c: char) -> char {
    match c {
        '\u{3041}'..='\u{3096}' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
        _ => c,
    }
}

fn is_cjk(c: char) -> bool {
    !c.is_ascii() && c.is_alphanumeric() || c == 'ー' || c == '々'
}

/// Characters that hide a letter: one `*` whatever the mask.
fn is_mask(c: char) -> bool {
    matches!(
        c,
        '*' | '○' | '●' | '◯' | '×' | '◎' | '□' | '■' | '〇' | '✕'
    )
}

/// Symbols that stand for a letter inside a word.
fn leet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' => 'a',
        '5' => 's',
        '7' => 't',
        '$' => 's',
        '@' => 'a',
        '!' => 'i',
        '|' => 'l',
        _ => return None,
    })
}

/// Step 2: separators to one space, masks to `*`, leetspeak inside mostly-letter words; spaces
/// next to Japanese dropped (Japanese is written without them, so they can only split a word, and
/// `LINE で` is `LINEで`).
fn words(plain: &[Unit]) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::with_capacity(plain.len());
    let mut i = 0;
    while i < plain.len() {
        let c = plain[i].ch;
        if c.is_ascii_alphanumeric() || leet(c).is_some() || (c == '*' && !out.is_empty()) {
            // An ASCII token: letters, digits, leet symbols and masks.
            let start = i;
            while i < plain.len() {
                let c = plain[i].ch;
                if c.is_ascii_alphanumeric() || leet(c).is_some() || is_mask(c) {
                    i += 1;
                } else {
                    break;
                }
            }
            let token = &plain[start..i];
            let letters = token.iter().filter(|u| u.ch.is_ascii_alphabetic()).count();
            let others = token.len() - letters;
            // Mostly letters (`b1tch`, `1d10t`, `m3`), not a number with a unit (`25`, `090`).
            let leetish = letters >= 1 && letters * 2 >= others && token.len() >= 2;
            // Symbols closing a word (`idiot!!!`, `wow!`) are punctuation, not letters.
            let tail = token
                .iter()
                .rev()
                .take_while(|u| !u.ch.is_ascii_alphanumeric() && !is_mask(u.ch))
                .count();
            for (k, u) in token.iter().enumerate() {
                let mut u = u.clone();
                if is_mask(u.ch) {
                    u.ch = '*';
                } else if k >= token.len() - tail {
                    push_space(&mut out, &u);
                    continue;
                } else if leetish && !u.ch.is_ascii_alphabetic() {
                    if let Some(l) = leet(u.ch) {
                        u.ch = l;
                    }
                } else if !u.ch.is_ascii_alphanumeric() {
                    // A lone symbol (`!!!`, `@`): a separator.
                    push_space(&mut out, &u);
                    continue;
                }
                out.push(u);
            }
            continue;
        }
        let mut u = plain[i].clone();
        i += 1;
        // `won't` is `wont`, `you're` is `youre`: an apostrophe between letters joins them.
        if matches!(u.ch, '\'' | '’' | '`')
            && out.last().is_some_and(|p| p.ch.is_ascii_alphabetic())
            && plain.get(i).is_some_and(|n| n.ch.is_ascii_alphabetic())
        {
            continue;
        }
        if is_mask(u.ch) {
            u.ch = '*';
            out.push(u);
        } else if is_cjk(u.ch) {
            if out.last().is_some_and(|p| p.ch == ' ') {
                out.pop();
            }
            out.push(u);
        } else {
            push_space(&mut out, &u);
        }
    }
    while out.last().is_some_and(|u| u.ch == ' ') {
        out.pop();
    }
    out
}

fn push_space(out: &mut Vec<Unit>, u: &Unit) {
    // No space at the start, none twice, none after Japanese.
    match out.last() {
        None => {}
        Some(p) if p.ch == ' ' || is_cjk(p.ch) => {}
        Some(_) => out.push(Unit {
            ch: ' ',
            orig: u.orig.clone(),
            kata: false,
            collapsed: false,
            run: 1,
        }),
    }
}

/// Step 3: two or more one-letter words in a row (`k y s`, `d m me`) join into one word.
fn join_letters(units: Vec<Unit>) -> Vec<Unit> {
    // A letter with a space or Japanese (or nothing) on both sides.
    let edge = |u: &Unit| u.ch == ' ' || is_cjk(u.ch);
    let single = |i: usize| -> bool {
        units[i].ch.is_ascii_alphabetic()
            && (i == 0 || edge(&units[i - 1]))
            && units.get(i + 1).is_none_or(edge)
    };
    let mut drop = vec![false; units.len()];
    for i in 0..units.len() {
        if units[i].ch == ' ' && i > 0 && i + 1 < units.len() && single(i - 1) && single(i + 1) {
            drop[i] = true;
        }
    }
    units
        .into_iter()
        .zip(drop)
        .filter_map(|(u, d)| (!d).then_some(u))
        .collect()
}

/// Step 4: runs of one character longer than `keep` cut to `keep` (the long-vowel mark `ー` and
/// `〜` too: `しねーーー`). Spaces and digits are left alone (numbers are not spelled by shouting).
fn collapse(units: Vec<Unit>, keep: usize) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::with_capacity(units.len());
    let mut run = 0usize;
    for u in units {
        let same = out.last().is_some_and(|p| p.ch == u.ch);
        run = if same { run + 1 } else { 1 };
        if same && run > keep && u.ch != ' ' && !u.ch.is_ascii_digit() {
            let last = out.last_mut().expect("same implies a previous unit");
            last.orig.end = u.orig.end;
            last.run = last.run.saturating_add(u.run);
            last.collapsed = last.run >= 3 || u.collapsed;
            continue;
        }
        out.push(u);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        // (posted, form two, form one)
        let cases = [
            ("死ね", "死ね", "死ね"),
            ("しねええええ", "しねええ", "しねえ"),
            ("シネ", "しね", "しね"),
            ("ｼﾈ", "しね", "しね"),
            ("ﾀﾋね", "たひね", "たひね"),
            ("ﾀﾞﾒ", "だめ", "だめ"),
            ("し ね", "しね", "しね"),
            ("し.ね", "しね", "しね"),
            ("し　ね", "しね", "しね"),
            ("死○", "死*", "死*"),
            ("しねーーー", "しねーー", "しねー"),
            ("しね〜〜〜", "しね", "しね"),
            ("diiiie", "diie", "die"),
            ("DIE", "die", "die"),
            ("Ｄｉｅ", "die", "die"),
            ("k y s", "kys", "kys"),
            ("k.y.s", "kys", "kys"),
            ("k_y_s", "kys", "kys"),
            ("d m me", "dm me", "dm me"),
            ("D M く だ さ い", "dmください", "dmください"),
            ("L I N E で", "lineで", "lineで"),
            ("k\u{200b}y\u{200b}s", "kys", "kys"),
            ("k💀y💀s", "kys", "kys"),
            ("f*ck", "f*ck", "f*ck"),
            ("f**k", "f**k", "f*k"),
            ("k!ll", "kill", "kil"),
            ("b1tch", "bitch", "bitch"),
            ("l0ser", "loser", "loser"),
            ("$hit", "shit", "shit"),
            (
                "you are an idiot!!!",
                "you are an idiot",
                "you are an idiot",
            ),
            ("wow!", "wow", "wow"),
            ("class", "class", "clas"),
            ("you won't", "you wont", "you wont"),
            ("kіll", "kill", "kil"),
            ("DМ me", "dm me", "dm me"),
            ("1d10t", "idiot", "idiot"),
            // Numbers survive: prices, phone and order numbers are not words.
            ("$25 only", "25 only", "25 only"),
            ("090-1234-5678", "090 1234 5678", "090 1234 5678"),
            ("dmmで", "dmmで", "dmで"),
            ("order 12345", "order 12345", "order 12345"),
            ("3000円", "3000円", "3000円"),
            ("死ぬほど笑った", "死ぬほど笑った", "死ぬほど笑った"),
            ("", "", ""),
        ];
        for (posted, two, one) in cases {
            let chat = normalize(posted);
            assert_eq!(chat.two.text, two, "form two of {posted:?}");
            assert_eq!(chat.one.text, one, "form one of {posted:?}");
        }
    }

    #[test]
    fn plain_keeps_symbols() {
        let cases = [
            ("Ｍａｉｌ: A@B.com", "mail: a@b.com"),
            ("０９０－１２３４－５６７８", "090-1234-5678"),
            ("bit\u{200b}.ly/x", "bit.ly/x"),
            ("090ー1122−3344", "090-1122-3344"),
            ("ℓ𝒾𝓃ℯ", "line"),
        ];
        for (posted, plain) in cases {
            assert_eq!(normalize(posted).plain.text, plain, "{posted:?}");
        }
    }

    #[test]
    fn offsets_point_at_the_original() {
        let posted = "お前 し ね ええ!";
        let chat = normalize(posted);
        let at = chat.two.text.find("しね").unwrap();
        let units = chat.two.units_of(at..at + "しね".len());
        assert_eq!(&posted[chat.two.orig_of(units)], "し ね");
        let posted = "ｼﾈよ";
        let chat = normalize(posted);
        let units = chat.one.units_of(0.."しね".len());
        assert_eq!(&posted[chat.one.orig_of(units)], "ｼﾈ");
        let posted = "diiiie now";
        let chat = normalize(posted);
        let units = chat.one.units_of(0..3);
        assert_eq!(&posted[chat.one.orig_of(units.clone())], "diiiie");
        assert!(chat.one.units[units].iter().any(|u| u.collapsed));
    }

    #[test]
    fn katakana_is_remembered() {
        let chat = normalize("カスタード かす");
        let kata: Vec<bool> = chat.two.units.iter().map(|u| u.kata).collect();
        assert_eq!(chat.two.text, "かすたーどかす");
        assert_eq!(kata, [true, true, true, true, true, false, false]);
    }
}
