#!/usr/bin/env python3
"""Alert latency of `claimwatch serve`, and how many real-time streams one machine holds.

    python3 benches/latency.py [--lang en|ja] [--runs 1] [--concurrent 1 2 3 4]
                               [--threads N] [--decoders N]   (serve's flags; default: serve's)

Latency: starts the release binary, attaches each bundled clip of the language that has
expected alerts (samples/*.expect.toml) as `file:CLIP?realtime` (played at real-time pace),
one clip at a time, and listens on GET /events. For every alert:

    latency = (wall time the alert was published) - (wall time the stream came up + claim end)

i.e. from the end of the spoken claim (stream clock) to its SSE event. The claim's end is taken
from `claimwatch audit` of the same file (batch, token-level times), not from the live alert
itself: an alert raised from a look at an unfinished phrase dates its words from a window that
ends just after them, and Whisper's token times are least sure at a window's end. A live alert
is matched to the batch alert of its category that overlaps it (1 s slack) or else starts
nearest it (within 3 s); one with no batch counterpart uses its own end_s and is counted.
Prints p50/p95/max over all alerts.

Each clip's alerts are also checked against its expected alerts (category, start within 3 s
of `at_s`): found, missing and unexpected are printed, with the alerts raised before their
phrase ended that the final transcript did not repeat ("unconfirmed", from status events).

Capacity: attaches N copies of the language's demo clip at once (paced) and reports, per N,
the largest lag any status event showed, the audio dropped to bound it, and latency p50/p95.
Lag that keeps rising over the clip means N streams are more than the machine decodes in real
time. Raw figures go to target/latency.json.
"""
import argparse
import datetime
import glob
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import tomllib
import wave

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return os.path.join(target, "release", "claimwatch")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_at(at):
    return datetime.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


class Events(threading.Thread):
    """Reads GET /events into a list of (event type, data dict)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.events = []
        self.lock = threading.Lock()

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port)
        conn.request("GET", "/events")
        resp = conn.getresponse()
        kind = None
        while True:
            line = resp.fp.readline()
            if not line:
                return
            line = line.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind in ("alert", "status"):
                with self.lock:
                    self.events.append((kind, json.loads(line[6:])))

    def of(self, stream):
        with self.lock:
            return [(k, d) for k, d in self.events if d.get("stream") == stream]


def request(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request(method, path, body=json.dumps(body) if body else None,
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status >= 300:
        raise SystemExit(f"{method} {path}: {resp.status} {data.decode()}")
    return data


def wait_ended(events, ids, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = all(any(k == "status" and d["state"] == "ended" for k, d in events.of(i))
                   for i in ids)
        if done:
            return
        time.sleep(0.2)
    raise SystemExit(f"streams {ids} did not end in {timeout} s")


def batch_alerts(exe, wav, lang, origin):
    """(category, start_s, end_s) of each alert `claimwatch audit` finds in the file."""
    cmd = [exe, "audit", "--lang", lang, "--format", "json", "--fail-on", "never", wav]
    if origin:
        cmd[2:2] = ["--origin", origin]
    out = subprocess.run(cmd, check=True, capture_output=True).stdout
    return [(a["category"], a["start_s"], a["end_s"])
            for a in json.loads(out)["files"][0]["alerts"]]


UNMATCHED = [0]


def claim_end(alert, reference):
    same = [r for r in reference if r[0] == alert["category"]]
    overlapping = [r for r in same
                   if r[1] < alert["end_s"] + 1.0 and alert["start_s"] < r[2] + 1.0]
    near = sorted(overlapping or same, key=lambda r: abs(r[1] - alert["start_s"]))
    if near and abs(near[0][1] - alert["start_s"]) <= 3.0 or overlapping:
        return near[0][2]
    UNMATCHED[0] += 1
    return alert["end_s"]


def latencies(events, stream, reference):
    evs = events.of(stream)
    ups = [parse_at(d["at"]) for k, d in evs if k == "status" and d["state"] == "up"]
    if not ups:
        return [], 0.0, 0.0
    up = ups[0]
    out = [parse_at(d["at"]) - (up + claim_end(d, reference)) for k, d in evs if k == "alert"]
    lags = [d["lag_s"] for k, d in evs if k == "status"]
    dropped = max([d["dropped_s"] for k, d in evs if k == "status"] or [0.0])
    return out, max(lags or [0.0]), dropped


def cpu_s(pid):
    """User + system CPU seconds a running process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wav_seconds(path):
    with wave.open(path) as w:
        return w.getnframes() / w.getframerate()


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lang", default="en", choices=["en", "ja"])
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--concurrent", type=int, nargs="*", default=[1, 2, 3, 4])
    # Unset: serve's own defaults (2 decoders of 1 thread on 2 cores). `--threads 2 --decoders 1`
    # is the design before decoders, for comparison.
    p.add_argument("--threads", type=int)
    p.add_argument("--decoders", type=int)
    args = p.parse_args()

    exe = binary()
    port = free_port()
    data_dir = os.path.join(ROOT, "target", f"latency-data-{os.getpid()}")
    # The clips are attached over the API as file: sources, which the source policy keeps from
    # API clients unless the operator allows them.
    tuning = [flag for name in ("threads", "decoders") if getattr(args, name) is not None
              for flag in (f"--{name}", str(getattr(args, name)))]
    server = subprocess.Popen([exe, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir",
                               data_dir, "--allow-local-sources", *tuning],
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                request(port, "GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        events = Events(port)
        events.start()
        time.sleep(0.5)

        clips = []
        for expect in sorted(glob.glob(os.path.join(ROOT, "samples", f"{args.lang}_*.expect.toml"))):
            with open(expect, "rb") as f:
                spec = tomllib.load(f)
            if spec.get("alert"):
                clips.append((expect.replace(".expect.toml", ".wav"), spec.get("origin"),
                              spec["alert"]))

        references = {(wav, origin): batch_alerts(exe, wav, args.lang, origin)
                      for wav, origin, _ in clips}
        demo = os.path.join(ROOT, "samples", f"{args.lang}_demo.wav")
        references[(demo, None)] = batch_alerts(exe, demo, args.lang, None)
        all_lat = []
        found = missing = unexpected = unconfirmed = 0
        n = 0
        for run in range(args.runs):
            for wav, origin, expected in clips:
                n += 1
                sid = f"lat{n}"
                print(f"run {run + 1}: {os.path.basename(wav)}", file=sys.stderr)
                req = {"id": sid, "source": f"file:{wav}?realtime", "lang": args.lang}
                if origin:
                    req["origin"] = origin
                request(port, "POST", "/streams", req)
                wait_ended(events, [sid], 300)
                lat, _, _ = latencies(events, sid, references[(wav, origin)])
                all_lat.extend(lat)
                got = [d for k, d in events.of(sid) if k == "alert"]
                unconfirmed += sum(1 for k, d in events.of(sid) if k == "status"
                                   and "does not repeat it" in (d.get("message") or ""))
                left = list(got)
                for e in expected:
                    match = next((a for a in left if a["category"] == e["category"]
                                  and abs(a["start_s"] - e["at_s"]) <= 3.0), None)
                    if match:
                        found += 1
                        left.remove(match)
                    else:
                        missing += 1
                        print(f"  missing {e['category']} at {e['at_s']} s", file=sys.stderr)
                unexpected += len(left)
                for a in left:
                    print(f"  unexpected {a['category']} {a['text']!r} at {a['start_s']:.1f} s",
                          file=sys.stderr)
                request(port, "DELETE", f"/streams/{sid}")

        capacity = []
        for count in args.concurrent:
            ids = [f"cap{count}x{i}" for i in range(count)]
            print(f"{count} concurrent streams", file=sys.stderr)
            cpu_before = cpu_s(server.pid)
            for sid in ids:
                request(port, "POST", "/streams",
                        {"id": sid, "source": f"file:{demo}?realtime", "lang": args.lang})
            wait_ended(events, ids, 600)
            lat, lag, dropped = [], 0.0, 0.0
            for sid in ids:
                l, g, d = latencies(events, sid, references[(demo, None)])
                lat += l
                lag = max(lag, g)
                dropped += d
                request(port, "DELETE", f"/streams/{sid}")
            # The server's CPU over this load (it does nothing else meanwhile), per second of
            # audio the streams carried.
            cpu = cpu_s(server.pid) - cpu_before
            capacity.append({"streams": count, "max_lag_s": lag, "dropped_s": dropped,
                             "p50": pct(lat, 50), "p95": pct(lat, 95), "alerts": len(lat),
                             "cpu_s": cpu, "cpu_per_audio_s": cpu / (count * wav_seconds(demo))})
    finally:
        server.terminate()
        server.wait(30)

    print(f"| model ({args.lang}) | alerts | p50 s | p95 s | max s |")
    print("|---|---:|---:|---:|---:|")
    print(f"| {'tiny.en' if args.lang == 'en' else 'base'} | {len(all_lat)} | "
          f"{pct(all_lat, 50):.2f} | {pct(all_lat, 95):.2f} | {max(all_lat or [float('nan')]):.2f} |")
    print()
    print(f"expected alerts found {found}, missing {missing}; unexpected alerts {unexpected}; "
          f"early alerts not repeated by the final transcript {unconfirmed}; "
          f"alerts without a batch counterpart (dated by themselves) {UNMATCHED[0]}")
    print()
    print("| concurrent streams | max lag s | audio dropped s | alerts | latency p50 s | p95 s "
          "| CPU s | CPU s per audio s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in capacity:
        print(f"| {c['streams']} | {c['max_lag_s']:.1f} | {c['dropped_s']:.1f} | {c['alerts']} | "
              f"{c['p50']:.2f} | {c['p95']:.2f} | {c['cpu_s']:.1f} | {c['cpu_per_audio_s']:.3f} |")
    out = os.path.join(ROOT, "target", f"latency-{args.lang}.json")
    with open(out, "w") as f:
        json.dump({"latencies": all_lat, "capacity": capacity, "found": found,
                   "missing": missing, "unexpected": unexpected, "unconfirmed": unconfirmed},
                  f, indent=1)


if __name__ == "__main__":
    main()
