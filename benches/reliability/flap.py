#!/usr/bin/env python3
"""Flapping source: an HTTP audio source that goes up and down for minutes, against
`claimwatch serve --allow-private-sources`; the server's threads and memory must not grow.

    python3 benches/reliability/flap.py [--minutes 3] [--up 12] [--down 4]
                                        [--clip samples/en_origin_false.wav]

Input: a local HTTP server (in this script, on 127.0.0.1) that, while "up", serves the clip as
audio/wav at real-time pace and, when its up time ends, cuts the connection mid-body; while
"down", it closes each connection at once or answers 503 (alternately). The stream is
`--stream s=http://127.0.0.1:PORT/live.wav,lang=en,origin=CN`, so each cycle is a drop, a
reconnect with backoff and a gap. Every 5 s the server's `Threads` and `VmRSS` are read from
/proc/PID/status. Output: the samples, the connections served, the alerts and status events
the SSE stream carried, and the first-minute vs last-minute thread and RSS ranges. Exit 1 if
the server died or the last minute's peak thread count exceeds the first minute's.
"""
import argparse
import http.server
import os
import socket
import socketserver
import sys
import threading
import time

from serve_proc import REPO, Serve, SseReader, machine, proc_sample


class Flapper:
    def __init__(self, wav, up, down):
        self.wav, self.up, self.down = wav, up, down
        self.t0 = time.time()
        self.connections = {"served": 0, "cut": 0, "refused": 0}
        self.lock = threading.Lock()

    def is_up(self):
        return (time.time() - self.t0) % (self.up + self.down) < self.up

    def count(self, what):
        with self.lock:
            self.connections[what] += 1


def handler(flapper):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if not flapper.is_up():
                flapper.count("refused")
                if flapper.connections["refused"] % 2:
                    # Abortive close: the client sees a reset, not an answer.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.connection.close()
                else:
                    self.send_response(503)
                    self.end_headers()
                return
            flapper.count("served")
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.end_headers()
            data, pos, step = flapper.wav, 0, 3200  # 0.1 s of 16 kHz mono s16
            self.wfile.write(data[:44])
            pos = 44
            try:
                while pos < len(data):
                    if not flapper.is_up():
                        flapper.count("cut")
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    self.wfile.write(data[pos:pos + step])
                    pos += step
                    time.sleep(0.1)
            except OSError:
                pass

    return Handler


class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--up", type=float, default=12.0)
    parser.add_argument("--down", type=float, default=4.0)
    parser.add_argument("--clip", default="samples/en_origin_false.wav")
    args = parser.parse_args()
    with open(os.path.join(REPO, args.clip), "rb") as f:
        wav = f.read()
    flapper = Flapper(wav, args.up, args.down)
    http_server = ThreadingServer(("127.0.0.1", 0), handler(flapper))
    threading.Thread(target=http_server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{http_server.server_address[1]}/live.wav"
    import tempfile
    root = tempfile.mkdtemp(prefix="cw-flap-")
    print(f"flapping source: {args.minutes} min, up {args.up} s / down {args.down} s, "
          f"{machine()}")
    serve = Serve(os.path.join(root, "data"), os.path.join(root, "stderr.log"),
                  ["--allow-private-sources", "--stream", f"s={url},lang=en,origin=CN"])
    reader = SseReader(serve, "/events")
    samples = []
    start = time.time()
    while time.time() - start < args.minutes * 60:
        if serve.proc.poll() is not None:
            print(f"server died: exit {serve.proc.returncode}")
            sys.exit(1)
        threads, rss = proc_sample(serve.pid)
        t = time.time() - start
        samples.append((t, threads, rss))
        print(f"t={t:5.0f} s  threads={threads:3}  rss={rss / 1024:7.1f} MiB  "
              f"connections={flapper.connections}", flush=True)
        time.sleep(5)
    code = serve.kill("TERM")
    kinds = [k for (_, k, _) in reader.events]
    first = [s for s in samples if s[0] < 60]
    last = [s for s in samples if s[0] >= samples[-1][0] - 60]
    th = lambda xs: (min(x[1] for x in xs), max(x[1] for x in xs))
    mb = lambda xs: (min(x[2] for x in xs) / 1024, max(x[2] for x in xs) / 1024)
    print(f"summary: {len(samples)} samples over {samples[-1][0]:.0f} s; connections "
          f"{flapper.connections}; SSE: {kinds.count('alert')} alerts, "
          f"{kinds.count('status')} status events; threads first minute {th(first)}, "
          f"last minute {th(last)}; RSS MiB first minute {mb(first)[0]:.1f}-{mb(first)[1]:.1f}, "
          f"last minute {mb(last)[0]:.1f}-{mb(last)[1]:.1f}; SIGTERM exit {code}")
    sys.exit(1 if code != 0 or th(last)[1] > th(first)[1] else 0)


if __name__ == "__main__":
    main()
