//! Prints the segments (with times) claimwatch transcribes from a file: a debugging aid for
//! windowing and timestamps. `cargo run --release --example segments -- FILE LANG [MODEL]`
use claimwatch::{audio, transcribe};
fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (file, lang) = (&args[0], &args[1]);
    let model = match args.get(2) {
        Some(m) => m.into(),
        None => transcribe::model_path::default_model(lang == "en")?,
    };
    let model = transcribe::whisper::WhisperModel::load(&model, Default::default())?;
    let mut session = model.session()?;
    let options = transcribe::whisper::DecodeOptions {
        language: Some(lang.clone()),
        threads: 2,
        ..Default::default()
    };
    let mut stream = audio::open(std::path::Path::new(file))?;
    let t = transcribe::batch::transcribe(&mut session, &mut stream, &options, |_| {})?;
    for s in t.segments {
        println!("{:6.2} {:6.2} {}", s.start_s, s.end_s, s.text);
    }
    Ok(())
}
