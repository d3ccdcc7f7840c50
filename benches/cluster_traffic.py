"""What one live stream writes to NATS JetStream: events by type and their size, and the
key-value traffic (lease renewals, heartbeats) of the cluster (DEPLOY.md, BENCHMARKS.md
"Cluster: JetStream traffic").

Each run starts its own `nats-server -js` (temp store, monitoring port for `/jsz`) and one
`claimwatch serve --nats … --node n1 --threads 1` with one stream `s1` playing a sample at
real-time pace, waits until the stream ended, then reads the whole history back over SSE
(`Last-Event-ID: 0`) and the server's own figures (`/jsz`: messages and stored bytes per
JetStream stream, the key-value buckets' last sequence = writes so far).

    python3 benches/cluster_traffic.py --runs 3            # en_demo and ja_demo, 3 runs each
    python3 benches/cluster_traffic.py --clips en_live_skincare ja_live_cosme --runs 1

A clip is samples/NAME.wav or tests/data/spoken/NAME.ogg.

Needs the debug binary (`cargo build`; CARGO_TARGET_DIR honoured) and Debian's nats-server.
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reliability"))
from serve_proc import PATIENCE, REPO, Serve, SseReader, machine  # noqa: E402

LANG = {"en": "en", "ja": "ja"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nats_binary():
    return shutil.which("nats-server") or "/usr/sbin/nats-server"


def jsz(mport):
    url = f"http://127.0.0.1:{mport}/jsz?accounts=true&streams=true&config=true"
    with urllib.request.urlopen(url, timeout=10) as r:
        d = json.load(r)
    out = {}
    for account in d.get("account_details", []):
        for s in account.get("stream_detail", []):
            out[s["name"]] = s["state"]
    return out


def streams(serve):
    code, body, _ = serve.get("/streams")
    return json.loads(body) if code == 200 else []


def one_run(clip, tmp):
    lang = clip.split("_")[0]
    path = f"samples/{clip}.wav"
    if not os.path.exists(os.path.join(REPO, path)):
        path = f"tests/data/spoken/{clip}.ogg"
    port, mport = free_port(), free_port()
    nats_log = open(os.path.join(tmp, "nats.log"), "wb")
    nats = subprocess.Popen(
        [nats_binary(), "-a", "127.0.0.1", "-p", str(port), "-m", str(mport), "-js",
         "-sd", os.path.join(tmp, "js")],
        stdout=nats_log, stderr=nats_log)
    try:
        deadline = time.time() + 30
        while True:
            try:
                jsz(mport)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        serve = Serve(os.path.join(tmp, "data"), os.path.join(tmp, "serve.log"), [
            "--nats", f"nats://127.0.0.1:{port}", "--node", "n1",
            "--stream", f"s1=file:{path}?realtime,lang={LANG[lang]},origin=CN"])
        try:
            # KV writes while the stream is up: from its first lease to the last sample.
            first = last = None
            info_bytes = []
            seen_up = False
            deadline = time.time() + PATIENCE
            while True:
                now = time.time()
                state = jsz(mport)
                listed = [s for s in streams(serve) if s["id"] == "s1"]
                if listed and listed[0]["state"] == "up":
                    seen_up = True
                    info_bytes.append(len(json.dumps(listed[0], separators=(",", ":"))))
                    kv = (now, state.get("KV_claimwatch-leases", {}).get("last_seq", 0),
                          state.get("KV_claimwatch-nodes", {}).get("last_seq", 0),
                          state.get("KV_claimwatch-nodes", {}).get("bytes", 0),
                          state.get("KV_claimwatch-leases", {}).get("bytes", 0))
                    first = first or kv
                    last = kv
                # An ended stream leaves /streams (its desired record is removed).
                if seen_up and (not listed or listed[0]["state"] == "ended"):
                    break
                if now > deadline:
                    raise RuntimeError("stream s1 did not end in time")
                time.sleep(0.5)
            # The whole history, from the first event.
            sse = SseReader(serve, "/events", last_event_id=0)
            total = jsz(mport)["CLAIMWATCH"]["messages"]
            deadline = time.time() + 60
            while len(sse.events) < total and time.time() < deadline:
                time.sleep(0.1)
            # (the connection ends with the server, below)
            events = list(sse.events)
            state = jsz(mport)
        finally:
            serve.kill("TERM")
    finally:
        nats.terminate()
        nats.wait(timeout=30)
        nats_log.close()
    by_type = {}
    for _id, kind, data in events:
        n, b = by_type.get(kind, (0, 0))
        by_type[kind] = (n + 1, b + len(data.encode("utf-8")))
    span = last[0] - first[0]
    statuses = [json.loads(d) for _i, k, d in events if k == "status"]
    # The audio played: the stream time of its last status ("ended").
    audio_s = max(st.get("stream_s", 0) for st in statuses)
    return {
        "clip": clip,
        "audio_s": round(audio_s, 1),
        "events": {k: {"count": n, "sse_data_bytes_avg": round(b / n)}
                   for k, (n, b) in sorted(by_type.items())},
        "events_total": len(events),
        "max_lag_s": max((st.get("lag_s", 0) for st in statuses), default=None),
        "dropped_s": max((st.get("dropped_s", 0) for st in statuses), default=None),
        "stored_messages": state["CLAIMWATCH"]["messages"],
        "stored_bytes": state["CLAIMWATCH"]["bytes"],
        "stored_bytes_per_message": round(state["CLAIMWATCH"]["bytes"]
                                          / max(1, state["CLAIMWATCH"]["messages"])),
        "kv_window_s": round(span, 1),
        "lease_writes_per_s": round((last[1] - first[1]) / span, 3) if span else None,
        "heartbeat_writes_per_s": round((last[2] - first[2]) / span, 3) if span else None,
        "heartbeat_stored_bytes": last[3],
        "lease_stored_bytes": last[4],
        "stream_info_json_bytes": round(statistics.median(info_bytes)) if info_bytes else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", nargs="+", default=["en_demo", "ja_demo"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", help="write every run here")
    args = ap.parse_args()
    print(machine(), file=sys.stderr)
    runs = []
    for clip in args.clips:
        for i in range(args.runs):
            tmp = tempfile.mkdtemp(prefix="cw-traffic-")
            try:
                r = one_run(clip, tmp)
            except Exception:
                for log in ("serve.log", "nats.log"):
                    path = os.path.join(tmp, log)
                    if os.path.exists(path):
                        with open(path, errors="replace") as f:
                            print(f"--- {log} (last lines)\n" + "".join(f.readlines()[-15:]),
                                  file=sys.stderr)
                raise
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            runs.append(r)
            print(json.dumps(r), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runs, f, indent=1)
    # Medians per clip.
    for clip in args.clips:
        rs = [r for r in runs if r["clip"] == clip]
        kinds = sorted({k for r in rs for k in r["events"]})
        per_min = {k: statistics.median(r["events"].get(k, {"count": 0})["count"] * 60
                                        / r["audio_s"] for r in rs) for k in kinds}
        size = {k: statistics.median(r["events"][k]["sse_data_bytes_avg"]
                                     for r in rs if k in r["events"]) for k in kinds}
        print(f"\n{clip} ({rs[0]['audio_s']} s of audio, {len(rs)} runs, medians):")
        for k in kinds:
            print(f"  {k:11s} {per_min[k]:6.1f} /min  {size[k]:5.0f} B (SSE data)")
        print("  events/min total %.1f; stored bytes/message %d; stored bytes/min %.0f" % (
            statistics.median(r["events_total"] * 60 / r["audio_s"] for r in rs),
            statistics.median(r["stored_bytes_per_message"] for r in rs),
            statistics.median(r["stored_bytes"] * 60 / r["audio_s"] for r in rs)))
        print("  lease writes/s %.3f, heartbeat writes/s %.3f, heartbeat stored %d B, "
              "lease stored %d B, StreamInfo %d B" % (
                  statistics.median(r["lease_writes_per_s"] for r in rs),
                  statistics.median(r["heartbeat_writes_per_s"] for r in rs),
                  statistics.median(r["heartbeat_stored_bytes"] for r in rs),
                  statistics.median(r["lease_stored_bytes"] for r in rs),
                  statistics.median(r["stream_info_json_bytes"] for r in rs)))


if __name__ == "__main__":
    main()
