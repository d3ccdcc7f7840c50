#!/usr/bin/env python3
"""SSE load: hundreds of concurrent `GET /events` clients on loopback while a stream runs;
every client must get every alert, and the server's memory must stay bounded.

    python3 benches/reliability/sse_load.py [--clients 500] [--clip samples/en_demo.wav]

Starts `claimwatch serve --max-sse-clients N+100 --allow-local-sources` with no stream, opens
N SSE clients (asyncio, HTTP/1.1 chunked decoded by hand), waits until `/metrics` counts them
all, then attaches `file:CLIP?realtime` (lang=en, origin=CN) through `POST /streams`. Each
client reads until the stream's `ended` status. Output: per-client alert counts against the
alerts in `/alerts`, and the server's RSS (/proc) before the clients, with them connected,
and at its peak. Exit 1 if any client missed or duplicated an alert.
"""
import argparse
import asyncio
import http.client
import json
import os
import re
import sys
import tempfile
import threading
import time

from serve_proc import PATIENCE, REPO, Serve, machine, proc_sample


async def client(host, port, opened, results, index):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET /events HTTP/1.1\r\nHost: {host}:{port}\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"client {index}: {head[:60]!r}")
    opened.append(index)
    ids, buf = [], b""
    while True:
        size = int((await reader.readline()).strip(), 16)
        if size == 0:
            break
        buf += await reader.readexactly(size)
        await reader.readexactly(2)
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.decode().split("\n")
                          if ": " in line)
            if fields.get("event") == "alert":
                ids.append(int(fields["id"]))
            elif fields.get("event") == "status":
                if json.loads(fields["data"]).get("state") == "ended":
                    results[index] = ids
                    writer.close()
                    return


def http_call(serve, method, path, body=None):
    conn = http.client.HTTPConnection(serve.host, serve.port, timeout=60)
    conn.request(method, path, body=json.dumps(body) if body else None,
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read().decode()


async def run(args, serve, samples):
    opened, results = [], {}
    tasks = [asyncio.create_task(client(serve.host, serve.port, opened, results, i))
             for i in range(args.clients)]
    deadline = time.time() + PATIENCE
    while True:
        _, text = http_call(serve, "GET", "/metrics")
        m = re.search(r"^claimwatch_sse_clients (\d+)", text, re.M)
        if m and int(m.group(1)) >= args.clients:
            break
        if time.time() > deadline:
            raise RuntimeError(f"only {len(opened)} clients opened")
        await asyncio.sleep(0.2)
    samples.append(("connected", proc_sample(serve.pid)))
    clip = os.path.join(REPO, args.clip)
    code, text = http_call(serve, "POST", "/streams", {
        "id": "s", "source": f"file:{clip}?realtime", "lang": "en", "origin": "CN"})
    if code != 201:
        raise RuntimeError(f"attach: {code} {text}")
    await asyncio.gather(*tasks)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--clip", default="samples/en_demo.wav")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="cw-sse-")
    print(f"SSE load: {args.clients} clients, clip {args.clip}, {machine()}")
    serve = Serve(os.path.join(root, "data"), os.path.join(root, "stderr.log"),
                  ["--allow-local-sources", "--max-sse-clients", str(args.clients + 100)])
    samples = [("idle", proc_sample(serve.pid))]
    stop = threading.Event()

    def sample_loop():
        while not stop.wait(2):
            try:
                samples.append(("running", proc_sample(serve.pid)))
            except OSError:
                return

    threading.Thread(target=sample_loop, daemon=True).start()
    started = time.time()
    results = asyncio.run(run(args, serve, samples))
    stop.set()
    alerts = [a["event_id"] for a in serve.alerts()]
    code = serve.kill("TERM")
    complete = sum(1 for ids in results.values() if ids == alerts)
    peak = max(s[1][1] for s in samples)
    rss = dict((name, s) for name, s in samples)
    print(f"summary: {len(results)} clients finished, {len(alerts)} alerts in /alerts, "
          f"{complete} clients got exactly those alerts in order; server RSS idle "
          f"{samples[0][1][1] / 1024:.1f} MiB, with {args.clients} clients connected "
          f"{rss['connected'][1] / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB; threads peak "
          f"{max(s[1][0] for s in samples)}; {time.time() - started:.0f} s; SIGTERM exit {code}")
    sys.exit(0 if complete == args.clients == len(results) and alerts and code == 0 else 1)


if __name__ == "__main__":
    main()
