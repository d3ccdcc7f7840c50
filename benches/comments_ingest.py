#!/usr/bin/env python3
"""Chat ingestion through `claimwatch serve`, end to end: POST /streams/{id}/comments batches of
the labeled corpus (ids made unique per round) to a release server on loopback and time them.

Prints, per batch size: comments/s over the wall time of the POSTs (each answered only once its
batch is in the log), and the server's CPU-seconds per 1000 comments (user + system from
/proc/PID/stat, before and after). The stream's audio is 2 s of silence, so the decoder is idle.

    python3 benches/comments_ingest.py [--binary target/release/claimwatch] [--rounds 5]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
import urllib.request
import wave

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def corpus():
    lines = []
    for lang in ("ja", "en"):
        with open(os.path.join(ROOT, f"tests/data/comments/{lang}.jsonl")) as f:
            for line in f:
                c = json.loads(line)
                lines.append({"user": c["user"], "text": c["text"],
                              "from_seller": bool(c.get("from_seller"))})
    return lines


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release/claimwatch"))
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    comments = corpus()
    with tempfile.TemporaryDirectory() as tmp:
        audio = os.path.join(tmp, "silence.wav")
        with wave.open(audio, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(b"\0\0" * 32000)
        log = open(os.path.join(tmp, "stderr"), "w+")
        server = subprocess.Popen(
            [args.binary, "serve", "--listen", "127.0.0.1:0", "--data-dir",
             os.path.join(tmp, "data"), "--threads", "1",
             "--stream", f"chat=file:{audio},lang=auto,origin=CN"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        try:
            addr = None
            for _ in range(600):
                log.seek(0)
                m = re.search(r"listening on (http://\S+)", log.read())
                if m:
                    addr = m.group(1)
                    break
                time.sleep(0.1)
            assert addr, "no listening line"
            url = f"{addr}/streams/chat/comments"
            serial = 0
            print(f"{len(comments)} corpus comments (ja + en), {args.rounds} rounds per batch size")
            print("| batch | comments/s (median) | server CPU-s per 1000 comments (median) |")
            print("|---:|---:|---:|")
            for size in (1, 10, 100, 1000):
                rates, cpus = [], []
                for _ in range(args.rounds):
                    total = min(len(comments), 1000 if size > 1 else 200)
                    batches = []
                    for start in range(0, total, size):
                        batch = []
                        for c in comments[start:start + size]:
                            serial += 1
                            batch.append(dict(c, id=f"b{serial}"))
                        batches.append(batch)
                    cpu0, t0 = cpu_seconds(server.pid), time.perf_counter()
                    taken = sum(post(url, b)["accepted"] for b in batches)
                    wall, cpu = time.perf_counter() - t0, cpu_seconds(server.pid) - cpu0
                    assert taken == total, (taken, total)
                    rates.append(total / wall)
                    cpus.append(cpu / total * 1000)
                print(f"| {size} | {statistics.median(rates):,.0f} | {statistics.median(cpus):.3f} |")
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
