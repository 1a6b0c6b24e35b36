"""How fast the delivery worker drains SMS, beside a minimal loop doing the same work.

Creates its own PostgreSQL database (dropped afterwards), starts a small threaded HTTP server on
127.0.0.1 as the SMS gateway, and in each round drains the same number of SMS rows twice, in
turns:

* **A** — the portal's worker, ``flask --app wsgi worker``, as 1 or 2 processes;
* **B** — a raw baseline with as many processes: a minimal psycopg loop that claims one row
  (``FOR UPDATE SKIP LOCKED``), POSTs it and marks it done.

The rate is rows divided by the time from the first row done to the last (read from ``done_at``,
so process start-up is not counted). Printed per round: both rates, A/B, the load average and
the workers' peak RSS. ``--rss-rows 100000`` also drains that many rows with the worker and
samples its RSS as it goes, to show that memory stays flat.

    .venv/bin/python bench/worker_throughput.py [--rows 20000] [--workers 1 2] [--rounds 2]
        [--rss-rows 100000] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))
PYTHON = sys.executable


# --- the SMS gateway stub ----------------------------------------------------------------

class Gateway:
    """A fast local SMS gateway that counts what it receives and deduplicates on the reference."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received = 0
        self.references: set[str] = set()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # the answer goes out at once, not after a delayed ACK

            def do_POST(self):  # noqa: N802 - the http.server name
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with gateway.lock:
                    gateway.received += 1
                    gateway.references.add(str(body.get("reference")))
                answer = b'{"status": "queued"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.received = 0
            self.references.clear()

    def stop(self) -> None:
        self.server.shutdown()


# --- the database ------------------------------------------------------------------------

def admin_url(base: str) -> str:
    return base.replace("postgresql+psycopg://", "postgresql://")


def create_database(base: str) -> tuple[str, str]:
    name = f"efaktura_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url(base), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url(base).rsplit("/", 1)[0] + "/" + name
    return name, url


def drop_database(base: str, name: str) -> None:
    with psycopg.connect(admin_url(base), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def migrate(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    from portal.core.config import normalize_database_url
    from portal.core.migrate import upgrade

    upgrade(normalize_database_url(url))


def queue_rows(url: str, n: int, tag: str) -> None:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE outbox RESTART IDENTITY CASCADE")
        with cur.copy("COPY outbox (kind, status, idempotency_key, payload, attempts, max_attempts, "
                      "available_at, created_at) FROM STDIN") as copy:
            for i in range(n):
                copy.write_row(("sms", "pending", f"bench:{tag}:{i}",
                                json.dumps({"to": "+4791234567", "text": f"Melding {i}"}), 0, 6,
                                "2000-01-01T00:00:00+00:00", "2000-01-01T00:00:00+00:00"))
        conn.commit()
        cur.execute("ANALYZE outbox")
        conn.commit()


def counts(url: str) -> tuple[int, int, float | None]:
    """(pending, done, seconds from first done to last done)."""
    with psycopg.connect(url) as conn:
        pending, done, span = conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'done'), "
            "extract(epoch FROM max(done_at) - min(done_at)) FROM outbox").fetchone()
    return pending, done, float(span) if span is not None else None


# --- processes ---------------------------------------------------------------------------

def rss_kb(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def worker_env(url: str, gateway: Gateway, instance: str) -> dict:
    env = dict(os.environ)
    env.update({
        "PORTAL_ENV": "development", "PORTAL_DATABASE_URL": url, "PORTAL_INSTANCE_PATH": instance,
        "PORTAL_SECRET_KEY": "bench-secret", "PORTAL_BANKID_CLIENT_SECRET": "bench",
        "PORTAL_SMS_GATEWAY_URL": gateway.url, "PORTAL_SMS_GATEWAY_TOKEN": "bench",
        "PORTAL_WORKER_POLL_SECONDS": "0.2",
    })
    return env


def drain(procs: list[subprocess.Popen], url: str, n: int, timeout: float) -> tuple[float, int]:
    """Wait until every row is done; returns (rows per second, peak RSS of the processes in kB)."""
    end = time.monotonic() + timeout
    peak = 0
    while True:
        for p in procs:
            peak = max(peak, rss_kb(p.pid, "VmHWM"))
            if p.poll() is not None:
                raise SystemExit(f"a process exited early with {p.returncode}")
        pending, done, span = counts(url)
        if done >= n:
            break
        if time.monotonic() > end:
            raise SystemExit(f"timed out: {done} of {n} done, {pending} pending")
        time.sleep(0.25)
    for p in procs:
        peak = max(peak, rss_kb(p.pid, "VmHWM"))
    return n / (span or 1e-9), peak


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_worker(url: str, gateway: Gateway, instance: str, n: int, workers: int, tag: str) -> tuple[float, int]:
    queue_rows(url, n, tag)
    gateway.reset()
    env = worker_env(url, gateway, instance)
    procs = [subprocess.Popen([FLASK, "--app", "wsgi", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
    try:
        rate, peak = drain(procs, url, n, timeout=max(120.0, n / 20))
    finally:
        stop(procs)
    check(gateway, n)
    return rate, peak


def run_raw(url: str, gateway: Gateway, n: int, workers: int, tag: str) -> tuple[float, int]:
    queue_rows(url, n, tag)
    gateway.reset()
    procs = [subprocess.Popen([PYTHON, __file__, "--raw-child", url, gateway.url], cwd=ROOT)
             for _ in range(workers)]
    try:
        rate, peak = drain(procs, url, n, timeout=max(120.0, n / 20))
    finally:
        stop(procs)
    check(gateway, n)
    return rate, peak


def check(gateway: Gateway, n: int) -> None:
    if len(gateway.references) != n:
        raise SystemExit(f"the gateway saw {len(gateway.references)} distinct messages, expected {n}")


def raw_child(url: str, gateway_url: str) -> None:
    """The baseline: claim one row, POST it, mark it done; until nothing is left."""
    import requests

    http = requests.Session()
    me = f"raw:{os.getpid()}"
    running = True

    def _stop(*_args):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, _stop)
    with psycopg.connect(url) as conn:
        while running:
            with conn.transaction():
                row = conn.execute(
                    "SELECT id, idempotency_key, payload FROM outbox WHERE status = 'pending' "
                    "AND (locked_until IS NULL OR locked_until < now()) ORDER BY available_at, id LIMIT 1 "
                    "FOR UPDATE SKIP LOCKED").fetchone()
                if row is not None:
                    conn.execute("UPDATE outbox SET locked_by = %s, locked_until = now() + interval '60 s' "
                                 "WHERE id = %s", (me, row[0]))
            if row is None:
                time.sleep(0.2)
                continue
            row_id, key, payload = row
            http.post(gateway_url, json={"to": payload["to"], "from": "eFaktura", "text": payload["text"],
                                         "reference": key},
                      headers={"Authorization": "Bearer bench", "Idempotency-Key": key}, timeout=10)
            with conn.transaction():
                conn.execute("UPDATE outbox SET status = 'done', done_at = now(), locked_until = NULL "
                             "WHERE id = %s AND locked_by = %s", (row_id, me))


def rss_run(url: str, gateway: Gateway, instance: str, n: int) -> None:
    """Drain ``n`` rows with one worker and sample its RSS: it should stay flat."""
    queue_rows(url, n, "rss")
    gateway.reset()
    proc = subprocess.Popen([FLASK, "--app", "wsgi", "worker"], cwd=ROOT, env=worker_env(url, gateway, instance),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples: list[tuple[int, int]] = []
    try:
        end = time.monotonic() + max(300.0, n / 20)
        while time.monotonic() < end:
            _pending, done, _span = counts(url)
            samples.append((done, rss_kb(proc.pid)))
            if done >= n:
                break
            time.sleep(1.0)
        peak = rss_kb(proc.pid, "VmHWM")
    finally:
        stop([proc])
    check(gateway, n)
    quarter = [s for s in samples if s[0] >= n // 4]
    first = max((r for d, r in samples if d < n // 2), default=0)
    second = max((r for d, r in samples if d >= n // 2), default=0)
    print(f"RSS draining {n} rows with one worker: peak {peak / 1024:.1f} MB; "
          f"max RSS in the first half {first / 1024:.1f} MB, second half {second / 1024:.1f} MB; "
          f"{len(quarter)} samples after the first quarter, min {min(r for _, r in quarter) / 1024:.1f} MB, "
          f"max {max(r for _, r in quarter) / 1024:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2, help="A/B pairs per worker count")
    parser.add_argument("--rss-rows", type=int, default=0, help="also drain this many rows and watch RSS")
    parser.add_argument("--database-url", default=os.environ.get(
        "PORTAL_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--raw-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_child:
        raw_child(*args.raw_child)
        return

    name, url = create_database(args.database_url)
    gateway = Gateway()
    summary: dict[int, list[tuple[float, float]]] = {}
    try:
        migrate(url)
        with tempfile.TemporaryDirectory() as instance:
            print(f"database {name}; gateway {gateway.url}; {args.rows} SMS per run; {os.cpu_count()} CPUs")
            for workers in args.workers:
                for rnd in range(args.rounds):
                    order = ("A", "B") if rnd % 2 == 0 else ("B", "A")
                    got = {}
                    for which in order:
                        tag = f"{workers}:{rnd}:{which}"
                        if which == "A":
                            got["A"] = run_worker(url, gateway, instance, args.rows, workers, tag)
                        else:
                            got["B"] = run_raw(url, gateway, args.rows, workers, tag)
                        print(f"  {which} with {workers} process(es): {got[which][0]:.0f} msg/s", flush=True)
                    (a, a_rss), (b, b_rss) = got["A"], got["B"]
                    load = os.getloadavg()
                    summary.setdefault(workers, []).append((a, b))
                    print(f"workers={workers} round={rnd + 1} order={''.join(order)}: "
                          f"A worker {a:.0f} msg/s, B raw loop {b:.0f} msg/s, A/B {a / b:.2f}; "
                          f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
                          f"peak RSS per process A {a_rss / 1024:.1f} MB, B {b_rss / 1024:.1f} MB", flush=True)
            for workers, pairs in summary.items():
                a = sorted(x for x, _ in pairs)[len(pairs) // 2]
                b = sorted(y for _, y in pairs)[len(pairs) // 2]
                print(f"workers={workers}: median A {a:.0f} msg/s, median B {b:.0f} msg/s, A/B {a / b:.2f}")
            if args.rss_rows:
                rss_run(url, gateway, instance, args.rss_rows)
    finally:
        gateway.stop()
        drop_database(args.database_url, name)


if __name__ == "__main__":
    main()
