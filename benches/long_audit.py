#!/usr/bin/env python3
"""Peak memory and real-time factor of `claimwatch audit` on long files, beside faster-whisper.

    python3 benches/long_audit.py [--minutes 10 60] [--runs 1] [--threads 2]

Builds English recordings of each length from the bundled English clips (all of them, music and
noise included, one after another with 1 s of silence, repeated; 16 kHz mono WAV under
target/long/), then times, one after the other on the same file:

- `claimwatch audit FILE --lang en --format json` (tiny.en q8_0: decode, resample, Whisper,
  detector, report; the release binary, built first);
- faster-whisper on the same tiny.en CTranslate2 weights (int8, cpu_threads as given, beam 1,
  temperature 0 only, as claimwatch decodes), in the venv benches/rtf.py makes.

Both are whole processes under GNU time: wall seconds include loading the model, and the peak
resident set size is the process's (model included). The same peak at 10 and 60 minutes is
what "bounded memory" means. Prints a Markdown table for BENCHMARKS.md; raw figures go to
target/long/long_audit.json.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import wave

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benches"))
import rtf  # noqa: E402  (the faster-whisper venv and CTranslate2 lookup live there)

RATE = 16000


def target_dir():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "long")


def make_recording(minutes, out_dir):
    path = os.path.join(out_dir, f"en_{minutes}min.wav")
    if os.path.exists(path):
        return path
    clips = []
    for clip in sorted(glob.glob(os.path.join(ROOT, "samples", "en_*.wav"))):
        with wave.open(clip) as w:
            if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (RATE, 1, 2):
                sys.exit(f"long_audit.py: {clip} is not 16 kHz mono 16-bit")
            clips.append(w.readframes(w.getnframes()))
    silence = b"\0\0" * RATE
    wanted = minutes * 60 * RATE * 2
    tmp = path + ".tmp"
    with wave.open(tmp, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        written = 0
        while written < wanted:
            for pcm in clips:
                chunk = (pcm + silence)[: wanted - written]
                out.writeframes(chunk)
                written += len(chunk)
                if written >= wanted:
                    break
    os.replace(tmp, path)
    return path


def timed(cmd):
    """Runs cmd under GNU time; returns (wall s, peak RSS MiB, stdout)."""
    stats = os.path.join(target_dir(), "time.txt")
    proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", stats, *cmd],
                          text=True, capture_output=True)
    if proc.returncode not in (0, 1):  # audit exits 1 when it finds alerts
        sys.exit(f"long_audit.py: {cmd[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    wall, rss_kb = open(stats).read().split()[-2:]
    return float(wall), int(rss_kb) / 1024, proc.stdout


def claimwatch_binary():
    rtf.sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "claimwatch")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=int, nargs="+", default=[10, 60])
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    out_dir = target_dir()
    os.makedirs(out_dir, exist_ok=True)
    ours = claimwatch_binary()
    python = rtf.fw_python()
    model_dir = rtf.ct2_dir("tiny.en")
    results = []
    for minutes in a.minutes:
        audio = make_recording(minutes, out_dir)
        report = os.path.join(out_dir, f"report_{minutes}min.json")
        for run in range(a.runs):
            print(f"{minutes} min, run {run + 1}/{a.runs}", file=sys.stderr)
            wall, rss, _ = timed([ours, "audit", audio, "--lang", "en", "--format", "json",
                                  "--threads", str(a.threads), "--out", report])
            alerts = sum(len(f["alerts"]) for f in json.load(open(report))["files"])
            results.append({"engine": "claimwatch audit, tiny.en q8_0", "minutes": minutes,
                            "wall_s": wall, "rss_mib": rss, "alerts": alerts})
            wall, rss, _ = timed([python, os.path.join(ROOT, "benches", "baseline_faster_whisper.py"),
                                  "--model-dir", model_dir, "--compute-type", "int8", "--lang", "en",
                                  "--threads", str(a.threads), "--runs", "1", "--no-fallback", audio])
            results.append({"engine": "faster-whisper tiny.en int8", "minutes": minutes,
                            "wall_s": wall, "rss_mib": rss})
    with open(os.path.join(out_dir, "long_audit.json"), "w") as f:
        json.dump(results, f, indent=1)

    print("| audio | engine | runs | wall s (median) | RTF (audio/wall) | ours/faster-whisper | peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for minutes in a.minutes:
        rows = {}
        for engine in ("faster-whisper tiny.en int8", "claimwatch audit, tiny.en q8_0"):
            runs = [r for r in results if r["minutes"] == minutes and r["engine"] == engine]
            rows[engine] = (statistics.median(r["wall_s"] for r in runs),
                            max(r["rss_mib"] for r in runs), len(runs))
        base_wall = rows["faster-whisper tiny.en int8"][0]
        for engine, (wall, rss, n) in rows.items():
            print(f"| {minutes} min | {engine} | {n} | {wall:.1f} | {minutes * 60 / wall:.1f} "
                  f"| {base_wall / wall:.2f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
