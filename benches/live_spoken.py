#!/usr/bin/env python3
"""Precision, recall and CPU of `claimwatch serve` on the spoken evaluation set, with and without
the second listen: what the live path finds, not the batch one.

    python3 benches/live_spoken.py [--lang ja|en] [--threads 2] [--runs 1]

For each setting (second listen on, `--no-second-listen`), starts the release binary once with
every clip of the language in tests/data/spoken attached as `--stream ID=file:CLIP,lang=L,origin=O`
(not paced: decoded as fast as the streams take turns at the decoder; `--max-lag 600` so no
audio is dropped, which the script checks), waits until every stream
has ended, stops the server and reads the alerts from its event log. Scored as `test-samples`
scores (BENCHMARKS.md, "Spoken evaluation set"): a true positive is an alert of the labeled
category whose span, widened by the sidecar's tolerance, overlaps the labeled utterance (each
alert meets at most one label); an alert that meets no label of its category is a false alarm,
a second alert on an already-met label is not. CPU is the server's user+system seconds (model
loads included, the same in both settings). Raw figures go to target/live_spoken.json.
"""
import argparse
import glob
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPOKEN = os.path.join(ROOT, "tests", "data", "spoken")


def binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return os.path.join(target, "release", "claimwatch")


def clips(lang):
    out = []
    for sidecar in sorted(glob.glob(os.path.join(SPOKEN, f"{lang}_*.expect.toml"))):
        with open(sidecar, "rb") as f:
            expect = tomllib.load(f)
        audio = sidecar.replace(".expect.toml", ".ogg")
        name = os.path.basename(audio)[: -len(".ogg")]
        out.append((name, audio, expect))
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def serve_once(exe, lang, threads, second_listen):
    data = tempfile.mkdtemp(prefix="live-spoken-")
    streams = []
    for name, audio, expect in clips(lang):
        flag = f"{name}=file:{audio},lang={lang}"
        if expect.get("origin"):
            flag += f",origin={expect['origin']}"
        streams += ["--stream", flag]
    args = [exe, "serve", "--listen", "127.0.0.1:0", "--data-dir", data,
            "--threads", str(threads), "--max-streams", "64", "--max-load", "16",
            # Unpaced files arrive faster than any decoder: without room for all of them the
            # lag bound would drop audio, and this measures detection, not the lag bound.
            "--max-lag", "600"] + streams
    if not second_listen:
        args.append("--no-second-listen")
    started = time.time()
    proc = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    port = None
    said = []
    for line in proc.stderr:
        said.append(line)
        if "listening on" in line:
            port = int(line.rsplit(":", 1)[1].strip().split()[0].rstrip("/"))
            break
    if port is None:
        sys.exit("serve did not start: " + "".join(said))
    # Keep stderr drained so the server never blocks on it.
    import threading
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/streams") as r:
            listed = json.load(r)
        if listed and all(s["state"] == "ended" for s in listed):
            break
        time.sleep(1)
    dropped = sum(s.get("dropped_s", 0) for s in listed)
    if dropped > 0:
        sys.exit(f"{dropped:.1f} s of audio dropped: the figures would not be detection's")
    cpu = cpu_seconds(proc.pid)
    wall = time.time() - started
    proc.terminate()
    proc.wait(timeout=60)
    alerts = []
    for segment in sorted(glob.glob(os.path.join(data, "events", "*.jsonl"))):
        with open(segment) as f:
            for line in f:
                event = json.loads(line)
                if event.get("type") == "alert":
                    alerts.append((event["stream"], event["body"]))
    return alerts, cpu, wall


def score(lang, alerts):
    tp = fp = labels = 0
    per_clip = {}
    for name, _, expect in clips(lang):
        tol = expect.get("tolerance_s", 1.5)
        wanted = [dict(a, met=False) for a in expect.get("alert", [])]
        labels += len(wanted)
        mine = sorted((b for s, b in alerts if s == name), key=lambda b: b.get("start_s") or 0)
        clip_tp = clip_fp = 0
        for alert in mine:
            start, end = alert.get("start_s") or 0.0, alert.get("end_s") or 0.0
            hits = [w for w in wanted if w["category"] == alert["category"]
                    and start - tol < w.get("until_s", w["at_s"]) and end + tol > w["at_s"]]
            fresh = [w for w in hits if not w["met"]]
            if fresh:
                fresh[0]["met"] = True
                clip_tp += 1
            elif not hits:
                clip_fp += 1
        tp += clip_tp
        fp += clip_fp
        per_clip[name] = {"labels": len(wanted), "tp": clip_tp, "fp": clip_fp,
                          "second_listen": sum(1 for s, b in alerts if s == name and b.get("second_listen"))}
    return {"tp": tp, "fp": fp, "labels": labels,
            "recall": tp / labels if labels else 1.0,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "clips": per_clip}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lang", default="ja", choices=["ja", "en"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    exe = binary()
    results = []
    for run in range(args.runs):
        for second_listen in (False, True):
            alerts, cpu, wall = serve_once(exe, args.lang, args.threads, second_listen)
            scored = score(args.lang, alerts)
            scored.update(run=run, second_listen=second_listen, cpu_s=cpu, wall_s=wall,
                          second_listen_alerts=sum(1 for _, b in alerts if b.get("second_listen")))
            results.append(scored)
            print(f"run {run} second_listen={second_listen}: recall {scored['recall']:.3f} "
                  f"({scored['tp']}/{scored['labels']}), precision {scored['precision']:.3f} "
                  f"({scored['tp']}/{scored['tp'] + scored['fp']}), "
                  f"{scored['second_listen_alerts']} second-listen alerts, "
                  f"CPU {cpu:.1f} s, wall {wall:.1f} s", flush=True)
    os.makedirs(os.path.join(ROOT, "target"), exist_ok=True)
    with open(os.path.join(ROOT, "target", "live_spoken.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
