#!/usr/bin/env python3
"""Crash test: `claimwatch serve` killed with SIGKILL at random moments and restarted on the
same data directory; no alert a client was sent may be lost.

    python3 benches/reliability/crash.py [--kills 20] [--clip samples/en_demo.wav] [--seed 1]

Input: a paced stream with claims (`--stream s=file:CLIP?realtime,lang=en,origin=CN`, which
starts again from the beginning after every restart, so alerts keep accumulating). Each round:
start, check the log against everything delivered so far, open `GET /events` with
`Last-Event-ID: 0`, wait a random 1-40 s, SIGKILL. Checked after every restart:
- every alert SSE delivered before any kill is in `/alerts` (all pages) with the same JSON, and
  in the log files (`DATA/events/*.jsonl`);
- `/alerts` ids strictly increase (so no duplicates), and so do the ids each SSE client got;
- the restart succeeded (`/healthz` answered).
An alert whose only difference is a float off in its last digits is counted apart, not lost.
At the end: a clean SIGTERM stop (exit 0) and `claimwatch log check DATA` exit 0.
Output: one line per round and a summary; exit 1 on any violation. The binary is
$CARGO_TARGET_DIR/debug/claimwatch (run `cargo build` first).
"""
import argparse
import glob
import json
import os
import random
import sys
import tempfile
import time

from serve_proc import REPO, Serve, SseReader, log_check, machine


def log_alert_ids(data_dir):
    ids = []
    for path in sorted(glob.glob(os.path.join(data_dir, "events", "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a torn last line: the server cuts it off at its next start
                if entry.get("type") == "alert":
                    ids.append(entry["id"])
    return ids


def verify(serve, data_dir, delivered, problems, round_no, float_text):
    alerts = serve.alerts()
    ids = [a["event_id"] for a in alerts]
    if any(b <= a for a, b in zip(ids, ids[1:])):
        problems.append(f"round {round_no}: /alerts ids not strictly increasing: {ids}")
    by_id = {a["event_id"]: a for a in alerts}
    in_log = set(log_alert_ids(data_dir))
    lost = [i for i in delivered if i not in by_id or i not in in_log]
    changed = {}
    for i in delivered:
        if i in by_id and by_id[i] != delivered[i]:
            before, after = delivered[i], by_id[i]
            changed[i] = {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
                          if before.get(k) != after.get(k)}
    # A number that differs only past the 9th significant digit is the same value written
    # back from the log's text: counted apart, since no alert content was lost.
    ulp = [i for i, d in changed.items() if all(
        isinstance(a, float) and isinstance(b, float) and abs(a - b) <= 1e-9 * max(abs(a), 1)
        for a, b in d.values())]
    float_text.update(ulp)
    if lost:
        problems.append(f"round {round_no}: delivered alerts missing after restart: {lost}")
    for i, d in changed.items():
        if i not in ulp:
            problems.append(f"round {round_no}: alert {i} changed across restart: {d}")
    if ulp:
        print(f"  round {round_no}: alerts {ulp} read back with a float off in its last digit: "
              f"{changed[ulp[0]]}")
    return len(alerts), len(lost)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--clip", default="samples/en_demo.wav")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-wait", type=float, default=40.0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = tempfile.mkdtemp(prefix="cw-crash-")
    data_dir = os.path.join(root, "data")
    log_path = os.path.join(root, "stderr.log")
    clip = os.path.join(REPO, args.clip)
    flags = ["--stream", f"s=file:{clip}?realtime,lang=en,origin=CN"]
    print(f"crash test: {args.kills} SIGKILLs, clip {args.clip}, seed {args.seed}, {machine()}")
    print(f"data dir {data_dir}, server stderr {log_path}")
    started = time.time()
    delivered = {}  # event id -> alert JSON, as SSE sent it before a kill
    problems, restarts, lost_total, float_text = [], 0, 0, set()
    for round_no in range(1, args.kills + 1):
        try:
            serve = Serve(data_dir, log_path, flags)
        except RuntimeError as e:
            problems.append(f"round {round_no}: restart failed: {e}")
            break
        restarts += round_no > 1
        in_log, lost = verify(serve, data_dir, delivered, problems, round_no, float_text)
        lost_total += lost
        reader = SseReader(serve, "/events", last_event_id=0)
        wait = rng.uniform(1.0, args.max_wait)
        time.sleep(wait)
        serve.kill("KILL")
        reader.ended.wait(30)
        reader.close()
        ids = [i for (i, _, _) in reader.events]
        if any(b <= a for a, b in zip(ids, ids[1:])):
            problems.append(f"round {round_no}: SSE ids not strictly increasing: {ids}")
        new = 0
        for (i, kind, data) in list(reader.events):
            if kind == "alert":
                new += i not in delivered
                delivered[i] = json.loads(data)
        print(f"round {round_no:2}: up, {in_log} alerts in log, {lost} lost; SIGKILL after "
              f"{wait:4.1f} s; SSE had sent {len(reader.alert_ids())} alerts ({new} new)",
              flush=True)
    final = Serve(data_dir, log_path, flags)
    in_log, lost = verify(final, data_dir, delivered, problems, "final", float_text)
    lost_total += lost
    code = final.kill("TERM")
    if code != 0:
        problems.append(f"SIGTERM stop exited {code}")
    check_code, check_out = log_check(data_dir)
    if check_code != 0:
        problems.append(f"log check exit {check_code}: {check_out}")
    print(f"summary: {args.kills} SIGKILLs, {restarts + 1} restarts (all succeeded: "
          f"{not any('restart failed' in p for p in problems)}), {len(delivered)} distinct "
          f"alerts delivered over SSE before a kill, {in_log} alerts in the log at the end, "
          f"lost {lost_total}, {len(float_text)} read back with a float off in the last "
          f"digit, log check exit {check_code} "
          f"({check_out.splitlines()[0] if check_out else ''}), {time.time() - started:.0f} s")
    for p in problems:
        print("PROBLEM:", p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
