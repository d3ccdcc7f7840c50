#!/usr/bin/env python3
"""Speech kept: claimwatch against faster-whisper on the same weights and the same audio.

For every clip in tests/data/speech/ (t0_*: one utterance at t = 0 with no padding, also run
padded with 1 s of silence each side; noisy_*: lines under rain, train or music at 6-10 dB SNR)
prints per engine the WER (en) / CER (ja) against the clip's script, the script's words
(characters for ja) found in the transcript, and the lines kept (a line is kept when at least
half of its words are matched by the alignment). Needs faster-whisper in the running Python and
a built claimwatch (the CARGO_TARGET_DIR debug binary unless --exe):

    python3 benches/kept_speech.py [--exe PATH] [--json out.json] [CLIP...]

faster-whisper runs with its defaults (temperature fallback, no-speech 0.6 / log-prob -1.0
rule, no VAD) except beam_size=1, the greedy search claimwatch uses. Both at 2 threads. The
CTranslate2 models come from models/cache/ct2 (local files only; base is joined from its two
parts into a temporary directory).
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "speech")
CT2 = os.path.join(ROOT, "models", "cache", "ct2")
TIMEOUT_S = 600


def normalize(text):
    """claimwatch's eval::normalize: NFKC, lower case, punctuation and symbols to spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(c if c.isalnum() or c.isspace() or c == "'" else " " for c in text)


def units(lang, text):
    n = normalize(text)
    return [c for c in n if not c.isspace()] if lang == "ja" else n.split()


def align_hits(ref, hyp):
    """Levenshtein alignment; for each reference unit whether it was matched exactly."""
    n, m = len(ref), len(hyp)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
    hits, i, j = [False] * n, n, m
    while i > 0 and j > 0:
        if d[i][j] == d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            hits[i - 1] = ref[i - 1] == hyp[j - 1]
            i, j = i - 1, j - 1
        elif d[i][j] == d[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return hits, d[n][m]


def score(lang, script, text):
    lines = [l for l in script.splitlines() if l.strip()]
    ref = [u for l in lines for u in units(lang, l)]
    hits, dist = align_hits(ref, units(lang, text))
    kept_lines, at = 0, 0
    for l in lines:
        k = len(units(lang, l))
        kept_lines += sum(hits[at:at + k]) * 2 >= k
        at += k
    return {"error": dist / max(len(ref), 1), "units": len(ref), "found": sum(hits),
            "lines": len(lines), "lines_kept": kept_lines, "text": text}


def ct2_dir(lang, tmp):
    if lang == "en":
        return os.path.dirname(glob.glob(os.path.join(CT2, "tiny.en", "**", "model.bin"), recursive=True)[0])
    part1 = glob.glob(os.path.join(CT2, "base", "**", "model.bin.part1"), recursive=True)[0]
    part2 = glob.glob(os.path.join(CT2, "base", "**", "model.bin.part2"), recursive=True)[0]
    src, out = os.path.dirname(part1), os.path.join(tmp, "base")
    os.makedirs(out)
    for name in os.listdir(src):
        if not name.startswith("model.bin"):
            os.symlink(os.path.join(src, name), os.path.join(out, name))
    with open(os.path.join(out, "model.bin"), "wb") as f:
        for part in (part1, part2):
            with open(part, "rb") as p:
                shutil.copyfileobj(p, f)
    return out


def claimwatch(exe, path, lang):
    out = subprocess.run([exe, "transcribe", path, "--lang", lang, "--format", "json",
                          "--threads", "2"], capture_output=True, text=True, timeout=TIMEOUT_S,
                         check=True)
    return " ".join(s["text"] for s in json.loads(out.stdout)["segments"])


def main():
    p = argparse.ArgumentParser()
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    p.add_argument("--exe", default=os.path.join(target, "debug", "claimwatch"))
    p.add_argument("--json")
    p.add_argument("clips", nargs="*")
    a = p.parse_args()
    from faster_whisper import WhisperModel

    names = a.clips or sorted(os.path.basename(f)[:-5] for f in glob.glob(os.path.join(DATA, "*.flac")))
    rows, models = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            lang = "ja" if "_ja_" in name else "en"
            if lang not in models:
                models[lang] = WhisperModel(ct2_dir(lang, tmp), device="cpu", compute_type="int8",
                                            cpu_threads=2, local_files_only=True)
            script = open(os.path.join(DATA, name + ".txt"), encoding="utf-8").read()
            variants = [("", os.path.join(DATA, name + ".flac"))]
            if name.startswith("t0_"):
                padded = os.path.join(tmp, name + "_padded.wav")
                subprocess.run(["sox", variants[0][1], padded, "pad", "1", "1"], check=True,
                               timeout=TIMEOUT_S)
                variants.append((" padded", padded))
            for suffix, path in variants:
                segments, _ = models[lang].transcribe(path, language=lang, beam_size=1)
                fw = " ".join(s.text.strip() for s in segments)
                row = {"clip": name + suffix, "lang": lang,
                       "faster_whisper": score(lang, script, fw),
                       "claimwatch": score(lang, script, claimwatch(a.exe, path, lang))}
                rows.append(row)
                f, c = row["faster_whisper"], row["claimwatch"]
                print(f"| {row['clip']} | {f['error']:.2f} | {f['found']}/{f['units']} | "
                      f"{f['lines_kept']}/{f['lines']} | {c['error']:.2f} | {c['found']}/{c['units']} | "
                      f"{c['lines_kept']}/{c['lines']} |", flush=True)
                print(f"    fw: {f['text']}\n    cw: {c['text']}", file=sys.stderr, flush=True)
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
