//! The second listen with the real base model: it decodes again only what the finder points
//! at, around the suspect's own time, and leaves the first transcript as it was.

use std::ops::Range;

use claimwatch::audio;
use claimwatch::transcribe::batch;
use claimwatch::transcribe::relisten::{SuspectFinder, MARGIN_S, MAX_PER_WINDOW};

use super::{default_model, transcribe};
use crate::common;

/// Points at the second half of every segment longer than six characters, with one term.
struct SecondHalf;

impl SuspectFinder for SecondHalf {
    fn suspects(&self, text: &str, _lang: &str) -> Vec<(Range<usize>, Vec<String>)> {
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        if chars.len() <= 6 {
            return Vec::new();
        }
        let half = chars[chars.len() / 2].0;
        vec![(half..text.len(), vec!["シミが消える".to_string()])]
    }
}

#[test]
fn second_listen_hears_the_suspects_again_and_keeps_the_first_pass() {
    let path = common::repo().join("samples/ja_demo.wav");
    let first = transcribe(&path, "ja");
    let model = default_model("ja");
    let _cores = common::whisper_lock();
    let mut session = model.session().unwrap();
    let mut stream = audio::open(&path).unwrap();
    let options = common::decode_options("ja");
    let t = batch::transcribe_with(
        &mut session,
        &mut stream,
        &options,
        Some(&SecondHalf),
        |_| {},
    )
    .unwrap();

    // The first pass is untouched: the second listen only adds beside it.
    let texts = |segments: &[claimwatch::transcribe::Segment]| -> Vec<String> {
        segments.iter().map(|s| s.text.clone()).collect()
    };
    assert_eq!(texts(&t.segments), texts(&first.segments));

    let windows = (t.duration_s / 30.0).ceil() as usize;
    assert!(
        !t.relistened.is_empty(),
        "no second listen on {}",
        path.display()
    );
    assert!(
        t.relistened.len() <= MAX_PER_WINDOW * windows.max(1),
        "{} second listens for {windows} windows",
        t.relistened.len()
    );
    let mut heard_any = false;
    for r in &t.relistened {
        assert_eq!(r.terms, ["シミが消える"]);
        assert!(0.0 <= r.suspect_start_s && r.suspect_start_s <= r.suspect_end_s);
        assert!(r.suspect_end_s <= t.duration_s + 0.01);
        for s in &r.segments {
            heard_any |= !s.text.trim().is_empty();
            // Only the suspect and its margins were decoded (DTW may date a word a little out).
            assert!(
                s.start_s >= r.suspect_start_s - MARGIN_S - 0.5
                    && s.end_s <= r.suspect_end_s + MARGIN_S + 0.5,
                "segment {:.2}-{:.2} outside suspect {:.2}-{:.2}",
                s.start_s,
                s.end_s,
                r.suspect_start_s,
                r.suspect_end_s
            );
        }
    }
    assert!(heard_any, "every second listen came back empty");
}

/// The English second listen end to end with the real detector and tiny.en: a first pass heard
/// "fights cancer cells" as "fight can sell" (tiny.en on this clip, Intel AVX-512, 2 threads);
/// the detector names the span, the prompted re-decode hears the claim, and the alert comes from
/// the second listen. The first-pass text is given, so the test does not depend on this CPU
/// garbling the claim the same way; the re-decode heard the claim at 1, 2, 3 and 4 threads with
/// q8_0 and with f16 weights.
#[test]
fn english_second_listen_recovers_a_bent_condition() {
    use claimwatch::detect::{Category, Detector, Lang};
    use claimwatch::transcribe::Segment;

    let detector = Detector::load_default().unwrap();
    let heard = "This mushroom extract fight can sell naturally.";
    assert!(
        detector.detect_text(heard, Lang::En, None).is_empty(),
        "the bent line must not match by itself"
    );
    let path = common::repo().join("tests/data/spoken/en_s_cancer.ogg");
    let audio = audio::read_all(&path).unwrap();
    let window = &audio[..audio.len().min(30 * 16_000)];
    let first = vec![Segment::new(0.3, 3.65, heard)];
    let model = default_model("en");
    let _cores = common::whisper_lock();
    let mut session = model.session().unwrap();
    let options = common::decode_options("en");
    let relistened = claimwatch::transcribe::relisten::relisten(
        &mut session,
        window,
        0.0,
        &first,
        "en",
        &detector,
        &options,
    )
    .unwrap();
    assert_eq!(relistened.len(), 1, "{relistened:?}");
    let r = &relistened[0];
    assert_eq!(r.first_text, "fight can sell");
    assert_eq!(r.terms.first().map(String::as_str), Some("fight"));
    assert!(r.terms.iter().any(|t| t == "cancer"), "{:?}", r.terms);
    let alerts =
        claimwatch::second_listen::alerts(&detector, Lang::En, None, &relistened, &[], &first);
    let heard_again: Vec<&str> = r.segments.iter().map(|s| s.text.as_str()).collect();
    assert!(
        alerts
            .iter()
            .any(|a| a.category == Category::Efficacy && a.second_listen),
        "heard again: {heard_again:?}; alerts: {alerts:?}"
    );
}
