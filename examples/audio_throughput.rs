//! Measures decode + downmix + resample speed: `audio_throughput FILE` streams FILE through
//! `claimwatch::audio` in 30 s chunks and prints seconds of audio, wall time and x real time.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: audio_throughput FILE")?;
    let start = Instant::now();
    let mut stream = claimwatch::audio::open(path.as_ref())?;
    let mut chunk = Vec::new();
    let mut total = 0usize;
    while stream.read(&mut chunk, 30 * 16_000)? > 0 {
        total += chunk.len();
    }
    let wall = start.elapsed().as_secs_f64();
    let audio_s = total as f64 / 16_000.0;
    println!(
        "{path}: {audio_s:.2} s audio ({} Hz x{}) in {wall:.3} s = {:.0}x real time, {} skipped packets",
        stream.source_rate(),
        stream.source_channels(),
        audio_s / wall,
        stream.skipped_packets()
    );
    Ok(())
}
