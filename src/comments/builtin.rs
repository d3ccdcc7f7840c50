//! Language-neutral patterns (pure): a comment's plain form (NFKC, lower case) → byte ranges of
//! links, off-platform contact handles, phone numbers, emails and street addresses.
//!
//! They run on every comment whatever its pack language (a Japanese comment can say "DM me" with a
//! URL). Packs name them (`builtin = "phone"`) to give them a category, severity and wording.
//! Guards against look-alike innocents: a number that is a price (`¥`, `$`, `円`), an order or SKU
//! number (letters or `#` before it, no separators), a date, or too few or too many digits is not a
//! phone number; the real store domains are not links to flag; `@name` alone is a chat reply, and
//! only a handle next to a messenger or payment app name (or `id:`) is a contact.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// A language-neutral pattern kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// URLs, link shorteners, messenger links, look-alike store domains.
    Link,
    /// LINE / Telegram / WhatsApp / Cash App / Venmo … handles and IDs, `$cashtag`s.
    Handle,
    Phone,
    Email,
    /// JP (〒, 都道府県 + 市区町村 + 番地) and US (number + street + St/Ave/Rd …) addresses.
    Address,
}

impl Builtin {
    pub const ALL: [Builtin; 5] = [
        Builtin::Link,
        Builtin::Handle,
        Builtin::Phone,
        Builtin::Email,
        Builtin::Address,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Builtin::Link => "link",
            Builtin::Handle => "handle",
            Builtin::Phone => "phone",
            Builtin::Email => "email",
            Builtin::Address => "address",
        }
    }

    pub fn parse(s: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.as_str() == s)
    }

    /// Byte ranges of `plain` (a [`super::normalize::Chat::plain`] text) this kind finds.
    pub fn find(self, plain: &str) -> Vec<Range<usize>> {
        match self {
            Builtin::Link => links(plain),
            Builtin::Handle => handles(plain),
            Builtin::Phone => phones(plain),
            Builtin::Email => emails(plain),
            Builtin::Address => addresses(plain),
        }
    }
}

fn re(s: &str) -> Regex {
    // ASCII word boundaries: `5678に` ends a number (Unicode \b sees one word there).
    Regex::new(&s.replace(r"\b", r"(?-u:\b)")).expect("builtin pattern compiles")
}

static URL: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?x)
        (?:https?://|www\.)[^\s　、。「」()<>]+
      | \b(?:bit|tinyurl|t|lin|goo|ow|is|buff|cutt|rb|wa|line|onl|x|shorturl|tiny|discord)
        (?:\.|\(\.\)|\[\.\]|\(dot\)|\sdot\s)
        (?:ly|com|co|ee|gl|gd|me|bz|at|cc|gg)/[^\s　、。「」()<>]*
      | \b(?:www\s+dot\s+)?[a-z0-9][a-z0-9-]*\s+dot\s+(?:com|net|shop|store|xyz|top|info|site|online|co|io|me|biz)\b
      | \b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:xyz|top|shop|info|click|link|site|online|store
            |buzz|live|vip|icu|cc|ru|cn|tk|ml|ga|gq|cf|com|net|co\.jp|jp|co|io|me)\b(?:/[^\s　、。「」()<>]*)?
    ")
});

/// Domains people name when they mean the official store, not a phishing page.
const OFFICIAL: &[&str] = &[
    "amazon.com",
    "amazon.co.jp",
    "rakuten.co.jp",
    "rakuten.com",
    "paypal.com",
    "apple.com",
    "google.com",
    "youtube.com",
    "tiktok.com",
    "instagram.com",
    "shopee.com",
    "mercari.com",
    "yahoo.co.jp",
    "ebay.com",
    "etsy.com",
    "walmart.com",
    "target.com",
];

/// Brands whose names in another domain are a look-alike (`amaz0n-sale.xyz`).
static LOOKALIKE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:amaz[0o]n|amazom|arnazon|rakuten|rakutem|rakuton|raku10|paypa[l1]|app[l1]e|paypay|mercari|merukari|shopee|tiktok)",
    )
});

fn links(plain: &str) -> Vec<Range<usize>> {
    URL.find_iter(plain)
        .filter(|m| {
            // `name at yahoo dot com` is an email (the email pattern's), not a link.
            let spelled = m.as_str().contains(" dot ") && !m.as_str().starts_with("www");
            if spelled && plain[..m.start()].trim_end().ends_with(" at") {
                return false;
            }
            let s = m.as_str().trim_end_matches(['.', ',', '!', '?']);
            if s.starts_with("http")
                || s.starts_with("www")
                || s.contains('/')
                || s.contains(" dot ")
            {
                return true;
            }
            // A bare domain: only a look-alike of a store, or an odd top-level domain.
            if OFFICIAL
                .iter()
                .any(|o| s == *o || s.ends_with(&format!(".{o}")))
            {
                return false;
            }
            let common = [".com", ".net", ".jp", ".co", ".io", ".me", ".co.jp"];
            // A hyphenated name (`glow-winners.net`, `amaz0n-deals.com`) is a campaign page.
            LOOKALIKE.is_match(s) || s.contains('-') || !common.iter().any(|t| s.ends_with(t))
        })
        .map(|m| m.start()..m.start() + m.as_str().trim_end_matches(['.', ',']).len())
        .collect()
}

static HANDLE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?x)
        (?:\b(?:line|telegram|whatsapp|wechat|kakao|signal|instagram|insta|tg
              |cash\s?app|venmo|zelle|paypay|skype|discord|snapchat|snap|kik|wickr)
          |らいん|てれぐらむ|いんすた)
        \s*(?:id|あいでぃー|ユーザー名|name)?\s*(?:[:：=＝]|は|→|->)?\s*
        ([@$]?[a-z0-9][a-z0-9._-]{2,})
      | \bid\s*(?:[:：=＝]|は)\s*(@?[a-z0-9][a-z0-9._-]{2,})
      | (@[a-z0-9_.]{3,})\s*(?:まで|に|へ|で)\s*(?:連絡|dm|メッセ|めっせ|問い合わせ|注文)
      | (?:^|[^a-z0-9])(\$[a-z][a-z0-9_-]{2,})
    ")
});

/// Words after an app name that are chat, not an id (`line is busy`, `insta story`).
const NOT_IDS: &[&str] = &[
    "is", "was", "the", "and", "for", "you", "app", "live", "story", "stories", "post", "posts",
    "shop", "store", "page", "account", "link", "pay", "card", "please", "pls", "me", "with",
    "payment", "only", "too", "also", "not", "are", "but", "then", "now", "here", "there", "of",
    "on", "to", "in", "up", "ok", "okay", "users", "user", "scam", "scams", "scammer", "scammers",
    "support", "official", "wallet", "balance", "transfer", "works", "work", "com", "who", "dms",
    "dm", "messages", "message", "group", "chat", "call", "calls", "anyone", "someone",
];

fn handles(plain: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for caps in HANDLE.captures_iter(plain) {
        let Some(m) = caps.get(1).or(caps.get(2)).or(caps.get(4)).or(caps.get(3)) else {
            continue;
        };
        let id = m.as_str().trim_start_matches(['@', '$']);
        if NOT_IDS.contains(&id) || id.chars().all(|c| c.is_ascii_digit()) && id.len() < 5 {
            continue;
        }
        let whole = caps.get(0).expect("match");
        let start = if caps.get(4).is_some() {
            m.start()
        } else {
            whole.start()
        };
        out.push(start..m.end());
    }
    out
}

static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?x)
        \+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,3}
      | \(\d{3}\)\s?\d{3}[\s.-]\d{4}
      | \b0\d{1,4}\(\d{1,4}\)\d{3,4}\b
      | \b0\d{1,4}[\s.-]\d{1,4}[\s.-]\d{3,4}\b
      | \b0[5789]0\d{8}\b
      | \b0120\d{6}\b
      | \b\d{3}[\s.-]\d{3}[\s.-]\d{4}\b
      | \b[2-9]\d{2}[2-9]\d{6}\b
      | \(0\d\)\s?\d{4}\s?\d{4}
    ")
});

fn phones(plain: &str) -> Vec<Range<usize>> {
    PHONE
        .find_iter(plain)
        .filter(|m| {
            let digits = m.as_str().chars().filter(char::is_ascii_digit).count();
            let before = plain[..m.start()].trim_end_matches(' ');
            let after = plain[m.end()..].trim_start_matches(' ');
            let price_or_order = before.ends_with(['¥', '$', '#', '€', '£'])
                || before.ends_with("no.")
                || before.ends_with(" no")
                || before.ends_with(char::is_alphanumeric)
                    && !before.ends_with(char::is_alphabetic)
                || before.ends_with("order")
                || before.ends_with("注文番号")
                || before.ends_with("番号:")
                || after.starts_with(['円', '%', '個', '点', '件'])
                || after.starts_with("yen");
            (10..=15).contains(&digits) && !price_or_order
        })
        .map(|m| m.range())
        .collect()
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?x)
        [a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}
      | [a-z0-9._%+-]+\s*(?:\(at\)|\[at\]|あっと|アット)\s*
        [a-z0-9-]+\s*(?:\.|\(dot\)|\[dot\]|\sdot\s|どっと|ドット)\s*(?:com|net|org|jp|co|ne|me|io)\b
      | [a-z0-9._%+-]+\s+at\s+
        (?:[a-z0-9-]+\s*(?:\(dot\)|\[dot\]|\sdot\s)|(?:gmail|yahoo|hotmail|outlook|icloud|aol|protonmail|proton)\s*\.)
        \s*(?:com|net|org|jp|co|ne|me|io)\b
    ")
});

fn emails(plain: &str) -> Vec<Range<usize>> {
    EMAIL.find_iter(plain).map(|m| m.range()).collect()
}

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?x)
        〒\s?\d{3}-?\d{4}
      | (?:郵便番号)\s*[:：]?\s*\d{3}-\d{4}
      | \p{Han}{1,5}[市区町村郡][\p{Han}\p{Hiragana}\p{Katakana}ー]{1,10}\d{1,4}番地
      | (?:東京都|北海道|大阪府|京都府|\p{Han}{2,3}県)?\p{Han}{1,5}[市区町村郡]
        [\p{Han}\p{Hiragana}\p{Katakana}ー\d]{0,12}?
        (?:\d{1,4}|[一二三四五六七八九十]{1,3})(?:丁目|-|−|の)\d{1,4}(?:(?:番地?|-|−|の)\d{1,4})?(?:番地?|号)?
      | \b\d{1,6}[a-z]?\s+(?:[a-z0-9][a-z0-9.']*\s+){1,4}
        (?:st|street|ave|avenue|rd|road|blvd|boulevard|ln|lane|drive|court|ct|way|place|pl|terrace|pkwy|parkway|hwy|highway)\b
    ")
});

/// Words that make "number … road" a distance or a time, not an address.
const NOT_STREET: &[&str] = &[
    "min", "mins", "minute", "minutes", "hour", "hours", "mile", "miles", "km", "day", "days",
    "times", "of", "the", "my", "your", "in", "on", "a", "to", "for", "and",
];

fn addresses(plain: &str) -> Vec<Range<usize>> {
    ADDRESS
        .find_iter(plain)
        .filter(|m| {
            let s = m.as_str();
            if !s.as_bytes()[0].is_ascii_digit() {
                return true;
            }
            // US: the street name must be a name, not "10 min drive" or "2 of the road".
            !s.split_whitespace()
                .nth(1)
                .is_some_and(|w| NOT_STREET.contains(&w))
        })
        .map(|m| m.range())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(kind: Builtin, posted: &str) -> Vec<String> {
        let plain = super::super::normalize::normalize(posted).plain.text;
        kind.find(&plain)
            .into_iter()
            .map(|r| plain[r].to_string())
            .collect()
    }

    #[test]
    fn table() {
        use Builtin::*;
        // (kind, comment, what it must find; empty: nothing)
        let cases: &[(Builtin, &str, &[&str])] = &[
            (Link, "check bit.ly/3xYz now", &["bit.ly/3xyz"]),
            (
                Link,
                "https://example.com/free iPhone",
                &["https://example.com/free"],
            ),
            (Link, "lin.ee/abc で当選", &["lin.ee/abc"]),
            (Link, "amaz0n-sale.com で受け取って", &["amaz0n-sale.com"]),
            (Link, "rakuten-sale.xyz", &["rakuten-sale.xyz"]),
            (Link, "I bought it on amazon.com", &[]),
            (Link, "楽天 rakuten.co.jp で買った", &[]),
            (Link, "so good.", &[]),
            (Handle, "LINE ID: abc123 に連絡", &["line id: abc123"]),
            (Handle, "ラインはkira_77", &["らいんはkira_77"]),
            (Handle, "telegram @fastprofit", &["telegram @fastprofit"]),
            (Handle, "cashapp $winner22", &["cashapp $winner22"]),
            (Handle, "send to $luckydraw", &["$luckydraw"]),
            (Handle, "it is $25 now", &[]),
            (Handle, "@yuki thank you!", &[]),
            (Handle, "line is long today", &[]),
            (Phone, "090-1234-5678に電話", &["090-1234-5678"]),
            (Phone, "０８０ １２３４ ５６７８", &["080 1234 5678"]),
            (Phone, "09012345678", &["09012345678"]),
            (Phone, "03-1234-5678", &["03-1234-5678"]),
            (Phone, "+81 90 1234 5678", &["+81 90 1234 5678"]),
            (Phone, "call (555) 123-4567", &["(555) 123-4567"]),
            (Phone, "+44 20 7946 0958", &["+44 20 7946 0958"]),
            (Phone, "555-123-4567", &["555-123-4567"]),
            (Phone, "order #1234567890", &[]),
            (Phone, "注文番号 12345678901", &[]),
            (Phone, "2024-05-12 届いた", &[]),
            (Phone, "¥3,980", &[]),
            (Phone, "SKU ABC-123-4567", &[]),
            (Phone, "12,800円", &[]),
            (Email, "mail me at a.b@gmail.com", &["a.b@gmail.com"]),
            (Email, "yuki at gmail dot com", &["yuki at gmail dot com"]),
            (Email, "yuki(at)yahoo.co.jp", &["yuki(at)yahoo.co"]),
            (Email, "at the shop dot", &[]),
            (Address, "〒150-0002 に送って", &["〒150-0002"]),
            (Address, "東京都渋谷区渋谷2-8-1", &["東京都渋谷区渋谷2-8-1"]),
            (
                Address,
                "大阪市北区梅田三丁目1番",
                &["大阪市北区梅田三丁目1番"],
            ),
            (Address, "I live at 123 Maple Street", &["123 maple street"]),
            (Address, "742 Evergreen Terrace", &["742 evergreen terrace"]),
            (Address, "10 min drive from me", &[]),
            (
                Address,
                "my addy is 221B Baker Street",
                &["221b baker street"],
            ),
            (Email, "claim your prize at amaz0n-deals.com", &[]),
            (
                Email,
                "bestdeals99 at gmail dot com",
                &["bestdeals99 at gmail dot com"],
            ),
            (
                Link,
                "same bags at www dot cheapbrand dot shop",
                &["www dot cheapbrand dot shop"],
            ),
            (Link, "confirm at glow-winners.net", &["glow-winners.net"]),
            (Handle, "that highlighter is insane", &[]),
            (Handle, "らいん @nihon_sale 追加で", &["らいん @nihon_sale"]),
            (Handle, "ライン→abc123", &["らいん→abc123"]),
            (Link, "sato.k at yahoo dot co dot jp", &[]),
            (Address, "I'm at 350 5th Ave, 34th floor", &["350 5th ave"]),
            (Handle, "the lighting is great", &[]),
            (Phone, "call me 202 555 0175", &["202 555 0175"]),
            (Phone, "2025550175 text me", &["2025550175"]),
            (
                Phone,
                "sydney peeps call (02) 9374 4000",
                &["(02) 9374 4000"],
            ),
            (Address, "送料は2-3日です", &[]),
            (
                Address,
                "札幌市中央区北1条西2丁目1-2 佐藤",
                &["札幌市中央区北1条西2丁目1-2"],
            ),
            (Address, "横浜市中区山下町1番地", &["横浜市中区山下町1番地"]),
            (Address, "〒100−8111", &["〒100-8111"]),
            (Phone, "０３（３２１１）４５６７", &["03(3211)4567"]),
            (Phone, "090ー1122ー3344", &["090-1122-3344"]),
            (Link, "bit(.)ly/9zqw 無料", &["bit(.)ly/9zqw"]),
            (Link, "discord.gg/x8Kq2 で", &["discord.gg/x8kq2"]),
            (Link, "rakutem.co.jp で30%オフ", &["rakutem.co.jp"]),
            (Handle, "＠ｓａｌｅ＿ｊｐ まで連絡を", &["@sale_jp"]),
        ];
        for (kind, posted, want) in cases {
            assert_eq!(&hits(*kind, posted), want, "{kind:?} in {posted:?}");
        }
    }
}
