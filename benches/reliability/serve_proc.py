"""Shared by the reliability scripts: start the real `claimwatch serve` binary, read its SSE
stream, page through /alerts, and sample a process's threads and memory from /proc.

Input: the binary path, flags and a data directory. Output: a running `Serve` (pid, address),
SSE events as (id, event, data) tuples, and /proc samples.
"""
import http.client
import json
import os
import re
import subprocess
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Upper bound for anything these scripts wait for (two shared cores); never a speed check.
PATIENCE = 180


def binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    return os.path.join(target, "debug", "claimwatch")


class Serve:
    """One `claimwatch serve` child on 127.0.0.1:0, stderr appended to `log_path`."""

    def __init__(self, data_dir, log_path, flags):
        self.log_path = log_path
        seen = os.path.getsize(log_path) if os.path.exists(log_path) else 0
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [binary(), "serve", "--threads", "1", "--listen", "127.0.0.1:0",
             "--data-dir", data_dir] + flags,
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log,
            env={k: v for k, v in os.environ.items() if k != "CLAIMWATCH_TOKEN"},
        )
        self.pid = self.proc.pid
        deadline = time.time() + PATIENCE
        self.addr = None
        while self.addr is None:
            with open(log_path, "rb") as f:
                f.seek(seen)
                text = f.read().decode("utf-8", "replace")
            m = re.search(r"claimwatch: listening on http://(\S+)", text)
            if m:
                self.addr = m.group(1)
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited early ({self.proc.returncode}): {text}")
            if time.time() > deadline:
                raise RuntimeError(f"no 'listening on' line: {text}")
            time.sleep(0.05)
        host, port = self.addr.rsplit(":", 1)
        self.host, self.port = host, int(port)
        while True:
            try:
                if self.get("/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited before /healthz ({self.proc.returncode})")
            time.sleep(0.1)

    def get(self, path):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, body, resp.headers

    def alerts(self):
        """Every alert in the log, following the `Link: rel="next"` pages of /alerts."""
        out, path = [], "/alerts?limit=1000"
        while path:
            code, body, headers = self.get(path)
            if code != 200:
                raise RuntimeError(f"/alerts: {code} {body!r}")
            out.extend(json.loads(body))
            m = re.search(r'<([^>]+)>;\s*rel="next"', headers.get("Link", ""))
            path = m.group(1) if m else None
        return out

    def kill(self, signal_name="KILL"):
        os.kill(self.pid, getattr(__import__("signal"), "SIG" + signal_name))
        code = self.proc.wait(timeout=PATIENCE)
        self.log.close()
        return code


class SseReader(threading.Thread):
    """Reads `path` with `Last-Event-ID` into `events` until the connection ends."""

    def __init__(self, serve, path="/events", last_event_id=None):
        super().__init__(daemon=True)
        self.events = []
        self.ended = threading.Event()
        self.opened = threading.Event()
        self.error = None
        self.conn = http.client.HTTPConnection(serve.host, serve.port, timeout=PATIENCE)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", path, headers=headers)
        self.start()

    def run(self):
        try:
            resp = self.conn.getresponse()
            if resp.status != 200:
                self.error = f"SSE answered {resp.status}: {resp.read()!r}"
                return
            self.opened.set()
            event = {"event": "message", "id": None, "data": ""}
            while True:
                line = resp.readline()
                if not line:
                    return
                line = line.decode("utf-8").rstrip("\n")
                if line == "":
                    if event["data"] or event["id"] is not None:
                        if event["event"] != "heartbeat":
                            self.events.append((event["id"], event["event"], event["data"]))
                    event = {"event": "message", "id": None, "data": ""}
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "id":
                    event["id"] = int(value)
                elif name in ("event", "data"):
                    event[name] = value
        except (OSError, http.client.HTTPException) as e:
            self.error = repr(e)
        finally:
            self.opened.set()
            self.ended.set()

    def alert_ids(self):
        return [i for (i, kind, _) in list(self.events) if kind == "alert"]

    def close(self):
        try:
            self.conn.sock.shutdown(2)
        except (OSError, AttributeError):
            pass
        self.conn.close()


def proc_sample(pid):
    """(threads, rss_kib) of a live process, from /proc/PID/status."""
    threads = rss = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return threads, rss


def log_check(data_dir):
    """`claimwatch log check DATA_DIR`: (exit code, output)."""
    done = subprocess.run([binary(), "log", "check", data_dir], cwd=REPO,
                          capture_output=True, text=True, timeout=PATIENCE)
    return done.returncode, (done.stdout + done.stderr).strip()


def machine():
    """A one-line description of where a figure was measured."""
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} vCPU, {model}, load {os.getloadavg()[0]:.1f} at start"
