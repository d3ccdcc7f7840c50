#!/usr/bin/env python3
"""The baseline: faster-whisper (CTranslate2) on the same CTranslate2 weights claimwatch imports.

Prints one JSON object in the same shape as `cargo bench --bench transcribe`: per file, the
wall and CPU time of decode + transcribe (model load excluded) for each run. Needs faster-whisper in the
running Python (benches/rtf.py makes a throwaway venv for it).

    python3 benches/baseline_faster_whisper.py --model-dir DIR --compute-type int8 --lang en --runs 3 FILE...
"""
import argparse
import json
import time

from faster_whisper import WhisperModel


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model-dir", required=True)
    p.add_argument("--compute-type", default="default")
    p.add_argument("--lang")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-fallback", action="store_true", help="temperature 0 only")
    p.add_argument("files", nargs="+")
    a = p.parse_args()
    model = WhisperModel(a.model_dir, device="cpu", compute_type=a.compute_type, cpu_threads=a.threads)
    files = []
    for path in a.files:
        walls, cpus, text, info = [], [], "", None
        for _ in range(a.runs):
            start = time.perf_counter()
            cpu_start = time.process_time()  # every thread of the process, user + system
            temperature = 0.0 if a.no_fallback else [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
            segments, info = model.transcribe(path, language=a.lang, beam_size=1,
                                              temperature=temperature)
            text = " ".join(s.text.strip() for s in segments)  # the generator does the work
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu_start)
        files.append({"file": path, "audio_s": info.duration, "wall_s": walls, "cpu_s": cpus,
                      "language": info.language, "text": text})
    print(json.dumps({"engine": "faster-whisper", "model": a.model_dir,
                      "compute_type": a.compute_type, "threads": a.threads, "files": files}))


if __name__ == "__main__":
    main()
