#!/usr/bin/python3
"""The load of bench/stress_pg.pl: many concurrent Postgres sessions (asyncpg)
for a fixed time, each running a mix of statements, and an HTTP client.

  stress_pg_load.py baseline PORT SESSIONS SECONDS TOKEN
      reads only (the baseline: run against plain proxy_pass)
  stress_pg_load.py mixed PORT SESSIONS SECONDS TOKEN API_URL DBA_TOKEN HTTP_URL
      reads, masked reads, denied statements, statements held for review
      (approved by a reviewer task through the review API), and
      authenticated HTTP requests alongside

Prints one JSON object: statements by kind, unexpected errors (with
samples), latencies of the reads (p50, p99, ms), HTTP requests.  Every
statement counted here is one the gateway must have recorded once.
"""

import asyncio
import json
import sys
import time
import urllib.request

import asyncpg


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


class Run:
    def __init__(self, seconds):
        self.deadline = time.monotonic() + seconds
        self.counts = {"read": 0, "masked": 0, "denied": 0, "held": 0}
        self.read_ms = []
        self.errors = []
        self.unmasked = 0
        self.http = {"ok": 0, "failed": 0}

    def going(self):
        return time.monotonic() < self.deadline

    def error(self, what, e):
        self.errors.append("%s: %s: %s" % (what, type(e).__name__, e))


async def session(run, port, token, mixed, n):
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres",
                                 database="postgres", password=token,
                                 ssl=False, statement_cache_size=16)
    i = 0
    try:
        while run.going():
            i += 1
            key = (n * 7919 + i) % 1000 + 1
            t0 = time.monotonic()
            try:
                v = await conn.fetchval(
                    "SELECT amount FROM payments WHERE id = $1", key)
                run.read_ms.append((time.monotonic() - t0) * 1000)
                run.counts["read"] += 1
                if v is None:
                    run.errors.append("read: no row for id %d" % key)
            except Exception as e:           # noqa: BLE001
                run.error("read", e)

            if not mixed:
                continue

            if i % 4 == 0:
                try:
                    email = await conn.fetchval(
                        "SELECT email FROM customers WHERE id = $1", key)
                    run.counts["masked"] += 1
                    if email != "[MASKED]":
                        run.unmasked += 1
                except Exception as e:       # noqa: BLE001
                    run.error("masked", e)

            if i % 10 == 0:
                try:
                    await conn.execute("DELETE FROM customers")
                    run.errors.append("denied: DELETE without WHERE ran")
                except asyncpg.InsufficientPrivilegeError:
                    run.counts["denied"] += 1
                except Exception as e:       # noqa: BLE001
                    run.error("denied", e)

            if i % 200 == 0:
                try:
                    await conn.execute(
                        "UPDATE payments SET amount = amount + 1"
                        " WHERE id = %d" % key)
                    run.counts["held"] += 1
                except Exception as e:       # noqa: BLE001
                    run.error("held", e)
    finally:
        await conn.close()


def http_get(url, token):
    req = urllib.request.Request(url, headers={
        "Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


def http_post(url, token):
    req = urllib.request.Request(url, data=b"{}", method="POST", headers={
        "Authorization": "Bearer " + token,
        "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


async def approver(run, api, token, stop):
    """A reviewer approving whatever waits, as fast as the API lists it."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            _, body = await loop.run_in_executor(
                None, http_get, api + "?status=pending", token)
            for review in json.loads(body):
                await loop.run_in_executor(
                    None, http_post, api + "/" + review["id"] + "/approve",
                    token)
        except Exception as e:               # noqa: BLE001
            run.error("approver", e)
        try:
            await asyncio.wait_for(stop.wait(), 0.05)
        except asyncio.TimeoutError:
            pass


async def http_client(run, url, token):
    loop = asyncio.get_running_loop()
    while run.going():
        try:
            status, _ = await loop.run_in_executor(None, http_get, url, token)
            run.http["ok" if status == 200 else "failed"] += 1
        except Exception as e:               # noqa: BLE001
            run.http["failed"] += 1
            run.error("http", e)


async def main():
    mode, port, sessions, seconds, token = sys.argv[1:6]
    port, sessions, seconds = int(port), int(sessions), float(seconds)
    mixed = mode == "mixed"
    run = Run(seconds)
    stop = asyncio.Event()
    extra = []
    if mixed:
        api, dba, url = sys.argv[6:9]
        extra.append(asyncio.create_task(approver(run, api, dba, stop)))
        extra += [asyncio.create_task(http_client(run, url, token))
                  for _ in range(4)]

    started = time.monotonic()
    results = await asyncio.gather(
        *[session(run, port, token, mixed, n) for n in range(sessions)],
        return_exceptions=True)
    elapsed = time.monotonic() - started
    for r in results:
        if isinstance(r, Exception):
            run.error("session", r)
    stop.set()
    await asyncio.gather(*extra)

    total = sum(run.counts.values())
    print(json.dumps({
        "sessions": sessions,
        "seconds": round(elapsed, 1),
        "statements": run.counts,
        "total": total,
        "per_second": round(total / elapsed),
        "read_p50_ms": percentile(run.read_ms, 50),
        "read_p99_ms": percentile(run.read_ms, 99),
        "unmasked": run.unmasked,
        "errors": len(run.errors),
        "error_samples": run.errors[:10],
        "http": run.http,
    }))


asyncio.run(main())
