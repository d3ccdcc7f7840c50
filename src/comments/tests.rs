//! The comment detector over the real packs in rules/comments: one table per language of
//! (comment, expected categories, expected quoted words).

use super::*;
use std::sync::OnceLock;

fn det() -> &'static CommentDetector {
    static D: OnceLock<CommentDetector> = OnceLock::new();
    D.get_or_init(|| {
        CommentDetector::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).unwrap()
    })
}

fn comment(text: &str) -> Comment {
    Comment {
        id: "m1".into(),
        user: "u1".into(),
        text: text.into(),
        at: None,
        from_seller: false,
    }
}

/// (category, quoted words) of a viewer comment.
fn found(text: &str) -> Vec<(String, String)> {
    det()
        .check(&comment(text), None)
        .into_iter()
        .map(|a| (a.category.to_string(), a.text))
        .collect()
}

fn c(cat: &str, text: &str) -> (String, String) {
    (cat.to_string(), text.to_string())
}

#[test]
fn japanese() {
    let cases: Vec<(&str, Vec<(String, String)>)> = vec![
        ("死ね", vec![c("threat", "死ね")]),
        ("しねええええ", vec![c("threat", "しね")]),
        ("し ね", vec![c("threat", "し ね")]),
        ("ﾀﾋね", vec![c("threat", "ﾀﾋね")]),
        ("氏ね", vec![c("threat", "氏ね")]),
        ("死○", vec![c("threat", "死○")]),
        ("家を知ってるからな", vec![c("threat", "家を知ってる")]),
        ("ブス", vec![c("abuse", "ブス")]),
        ("ｶｽ", vec![c("abuse", "ｶｽ")]),
        ("DMください", vec![c("scam", "DMください")]),
        ("LINE ID: abc123 まで", vec![c("scam", "LINE ID: abc123")]),
        (
            "090-1234-5678に電話して",
            vec![c("personal_info", "090-1234-5678"), c("scam", "電話して")],
        ),
        // Not flagged: idioms, longer words, complaints, quoting to report, warnings.
        ("死ぬほど笑った", vec![]),
        ("笑い死ぬ", vec![]),
        ("カスタードクリーム美味しそう", vec![]),
        ("イクラ丼食べたい", vec![]),
        ("ちょっと高いかな", vec![]),
        ("『死ね』って書いた人通報した", vec![]),
        ("LINEに誘導する人は詐欺です", vec![]),
        ("送料はいくらですか", vec![]),
        ("2000円で買えますか", vec![]),
    ];
    for (text, want) in cases {
        assert_eq!(found(text), want, "{text:?}");
    }
}

#[test]
fn english() {
    let cases: Vec<(&str, Vec<(String, String)>)> = vec![
        ("kys", vec![c("threat", "kys")]),
        ("k y s", vec![c("threat", "k y s")]),
        ("go diiiie", vec![c("threat", "go diiiie")]),
        ("watch your back", vec![c("threat", "watch your back")]),
        ("you're an idiot", vec![c("abuse", "idiot")]),
        ("b1tch", vec![c("abuse", "b1tch")]),
        ("loser", vec![c("abuse", "loser")]),
        ("pay me on cashapp $win88", vec![c("scam", "pay me")]),
        ("dm me for a discount", vec![c("scam", "dm me")]),
        ("free iphone at bit.ly/xx", vec![c("scam", "free iphone")]),
        (
            "call me (555) 123-4567",
            vec![c("personal_info", "(555) 123-4567")],
        ),
        // Not flagged.
        ("I'm dying laughing", vec![]),
        ("drop-dead gorgeous", vec![]),
        ("this lipstick slays", vec![]),
        ("killer deal", vec![]),
        ("first class shipping?", vec![]),
        ("I got an SMS from the store", vec![]),
        ("overpriced", vec![]),
        ("someone typed kys, reported", vec![]),
        ("don't DM anyone, it's a scam", vec![]),
        ("order #1234567890 not arrived", vec![]),
        ("$25 is a good price", vec![]),
    ];
    for (text, want) in cases {
        assert_eq!(found(text), want, "{text:?}");
    }
}

#[test]
fn alert_shape_and_japanese_with_english_scam() {
    let mut cm = comment("これ安いよ https://bit.ly/abc");
    cm.at = Some("2026-11-29T04:10:00Z".into());
    let a = det().check(&cm, None);
    assert_eq!(a.len(), 1, "{a:?}");
    let a = &a[0];
    assert_eq!(a.category, Category::Scam);
    assert_eq!(a.lang, Lang::Ja);
    assert_eq!(a.text, "https://bit.ly/abc");
    assert_eq!(a.context, cm.text);
    assert_eq!(a.source, AlertSource::Comment);
    assert!(a.id.is_empty() && a.start_s.is_none() && a.end_s.is_none());
    assert!(!a.legal_basis.is_empty() && !a.suggestion.is_empty());
    let r = a.comment.as_ref().unwrap();
    assert_eq!((r.id.as_str(), r.user.as_str(), r.count), ("m1", "u1", 1));
    assert_eq!(r.at.as_deref(), Some("2026-11-29T04:10:00Z"));
}

#[test]
fn seller_text_gets_scam_and_personal_info_only() {
    let mut cm = comment("ブス言うな、LINE ID: shop77 で注文してね");
    cm.from_seller = true;
    let cats: Vec<Category> = det().check(&cm, None).iter().map(|a| a.category).collect();
    assert_eq!(cats, [Category::Scam]);
}

#[test]
fn comments_round_trip_and_reject_unknown_fields() {
    let line = r#"{"id":"1","user":"u","text":"hi","at":"2026-11-29T04:10:00Z"}"#;
    let cm: Comment = serde_json::from_str(line).unwrap();
    assert!(!cm.from_seller);
    assert_eq!(serde_json::to_string(&cm).unwrap(), line);
    assert!(serde_json::from_str::<Comment>(r#"{"id":"1","user":"u","text":"hi","x":1}"#).is_err());
}
