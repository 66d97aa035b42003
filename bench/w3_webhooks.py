"""W3: Meta's webhooks in, signed single-event POSTs, and the lag until everything is forwarded.

The load: 70% statuses (sent, delivered, read of messages wagate sent), 30% customers' messages, and a
further 30% of the requests are repeats of recent ones, as Meta's retries are. wagate forwards every
event to the business's endpoint (a local sink) through a subscription in Meta's format, in batches
of up to 100 events per POST as Meta's own webhooks may carry (`batch_size`).

When wrk stops, requests it had issued may be unanswered; the bench sends those again until they get a
200, as Meta would. Then every distinct event issued must have been applied exactly once (statuses,
messages and events counted in the database), and the lag until every event has been delivered to the
sink is measured from the moment the load stopped.

Baselines, same run, same kind of requests: a bare endpoint that only verifies the signature, and
pywa's webhook receiver (its validator and update handler, with handlers registered), measured once
after every engine.

In scale-out the requests are signed with the cluster's app secret and split between the two API
processes (one wrk each, every thread sending its own lines of the file as above); the workers forward.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.factories import make_sent_messages
from tests.helpers import free_port

from bench.common import LUA, Result, WrkRun, combined, measure_each, results, run_wrk, run_wrk_split
from bench.engines import deploy, scalar
from wagate.cloudapi.signatures import hub_signature
from wagate.cloudapi.webhooks import messages_envelope, status_event
from wagate.store.db import Database
from wagate.store.tenancy import number_by_id

SECRET = "w3-bench-app-secret"
CONNECTIONS, THREADS = 64, 2
EXPECTED_RATE = 5000  # requests per second the request file is sized for; wrk wraps around past its end
STATUSES = ("sent", "delivered", "read")
# The business endpoint takes Meta's batched envelopes (up to 100 events per POST), at the default
# concurrency of 4 requests at once.
SINK_BATCH = 100
TARGET = (
    ">= 3000 events/s, p99 <= 100 ms, 0 lost, 0 duplicate effects, forwarded within 10 s, "
    "no simulator refusal"
)


class Receiver:
    """One of `bench.receivers` in its own process."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Receiver:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.receivers", self.kind, str(self.port), SECRET],
            cwd=Path(__file__).parent.parent,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/?hub.challenge=1", timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"the {self.kind} receiver did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)


def build_requests(
    upstream_ids: list[str], waba_id: int, number_id: int, display: str, count: int
) -> list[tuple[str, bytes]]:
    """(distinct event key, signed-body) pairs in sending order."""
    rng = random.Random(3)
    next_status = [0] * len(upstream_ids)
    open_messages = list(range(len(upstream_ids)))
    requests: list[tuple[str, bytes]] = []
    customer = 0
    now = time.time()
    for _ in range(count):
        if requests and rng.random() < 0.3:
            requests.append(rng.choice(requests[-2000:]))  # Meta retrying a recent event
            continue
        if rng.random() < 0.7 and open_messages:
            slot = rng.randrange(min(len(open_messages), 256))  # a few hundred messages in flight at once
            m = open_messages[slot]
            status = STATUSES[next_status[m]]
            next_status[m] += 1
            if next_status[m] == len(STATUSES):
                open_messages.pop(slot)
            event = status_event(upstream_ids[m], status, now, f"7916{m:07d}")
            requests.append(
                (f"{m}:{status}", messages_envelope(waba_id, number_id, display, {"statuses": [event]}))
            )
        else:
            customer += 1
            message = {
                "from": f"7926{customer:07d}",
                "id": f"wamid.w3-{customer}",
                "type": "text",
                "timestamp": str(int(now)),
                "text": {"body": "Where is my order?"},
            }
            value = {
                "contacts": [{"profile": {"name": "Customer"}, "wa_id": message["from"]}],
                "messages": [message],
            }
            requests.append((str(message["id"]), messages_envelope(waba_id, number_id, display, value)))
    return requests


def write_requests(path: Path, requests: list[tuple[str, bytes]], secret: str) -> None:
    with path.open("w") as out:
        for _, body in requests:
            out.write(f"{hub_signature(secret, body)}\t{body.decode()}\n")


def issued_per_thread(wrk_output: str) -> dict[int, int]:
    return {
        int(m.group(1)): int(m.group(2)) for m in re.finditer(r"WRK_THREAD id=(\d+) issued=(\d+)", wrk_output)
    }


def lines_issued(total: int, issued: dict[int, int]) -> dict[int, list[int]]:
    """Per thread, the indexes of the request lines it issued, in order: thread k sends its own lines
    k, k+T, k+2T, ..., wrapping around at the end of the file."""
    out = {}
    for thread, count in issued.items():
        own = list(range(thread, total, THREADS))
        out[thread] = [own[i % len(own)] for i in range(count)]
    return out


def resend_unanswered(url: str, requests: list[tuple[str, bytes]], indexes: list[int], secret: str) -> int:
    """Send again what may have gone unanswered when wrk stopped (the last ones of each connection)."""
    resent = 0
    with httpx.Client(timeout=10) as client:
        for index in indexes:
            body = requests[index][1]
            response = client.post(
                url + "/webhooks/meta",
                content=body,
                headers={"X-Hub-Signature-256": hub_signature(secret, body)},
            )
            assert response.status_code == 200, response.text
            resent += 1
    return resent


@dataclass
class Measured:
    load: WrkRun
    lost: int
    doubled: int
    events: int
    delivered: int
    lag: float
    refused: dict[str, int]
    notes: list[str]


def measure(engine: str, duration: float) -> Measured:
    env = {"WAGATE_META_APP_SECRET": SECRET, "WAGATE_ALLOW_PRIVATE_TARGETS": "1"}
    with (
        tempfile.TemporaryDirectory(prefix=f"wagate-w3-{engine}-") as tmp,
        Receiver("sink") as sink,
        deploy(engine, Path(tmp), env=env) as wagate,
    ):
        secret = wagate.app_secret
        assert secret is not None
        db = Database(wagate.database_url)
        try:
            number = db.read_now(lambda c: number_by_id(c, int(wagate.number_id)))
            assert number is not None
            count = int(EXPECTED_RATE * duration)
            upstream_ids = make_sent_messages(db, number.org_id, number.id, count // 3 + 1, time.time())
        finally:
            db.stop()
        requests = build_requests(upstream_ids, number.waba_id, number.id, number.display_phone_number, count)
        request_file = Path(tmp) / "requests.txt"
        write_requests(request_file, requests, secret)
        lua_env = {"WAGATE_BENCH_REQUESTS": str(request_file), "WAGATE_BENCH_THREADS": str(THREADS)}

        subscription = httpx.post(
            f"{wagate.url}/api/v1/webhooks/subscriptions",
            headers={"Authorization": f"Bearer {wagate.token}"},
            json={"url": sink.url + "/hook", "format": "meta", "batch_size": SINK_BATCH},
        )
        assert subscription.status_code in (200, 201), subscription.text
        runs = run_wrk_split(
            wagate.api_urls,
            LUA / "w3_webhooks.lua",
            duration=duration,
            connections=CONNECTIONS,
            threads=THREADS,
            env=lua_env,
        )
        stopped = time.monotonic()
        load = combined(runs)
        per_thread = lines_issued(len(requests), issued_per_thread(load.raw))
        # A thread's unanswered requests are among the last it issued, one per connection at most.
        per_connection = CONNECTIONS // THREADS
        resend_unanswered(
            wagate.url,
            requests,
            [i for lines in per_thread.values() for i in lines[-per_connection:]],
            secret,
        )
        distinct = {requests[i][0] for lines in per_thread.values() for i in lines}
        expected_statuses = sum(1 for key in distinct if ":" in key)
        expected_messages = len(distinct) - expected_statuses
        url = wagate.database_url
        events = scalar(url, "SELECT COUNT(*) FROM events")
        deadline = stopped + 60
        while time.monotonic() < deadline:
            delivered = scalar(url, "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'delivered'")
            if delivered >= events:
                break
            time.sleep(0.05)
        lag = time.monotonic() - stopped
        transitions = scalar(url, "SELECT COUNT(*) FROM message_statuses WHERE status != 'accepted'")
        inbound = scalar(url, "SELECT COUNT(*) FROM messages WHERE direction = 'in'")
        delivered = scalar(url, "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'delivered'")
        refused = wagate.refusals()
    lost = max(0, expected_statuses - transitions) + max(0, expected_messages - inbound)
    doubled = max(0, transitions - expected_statuses) + max(0, inbound - expected_messages)
    return Measured(load, lost, doubled, events, delivered, lag, refused, wagate.notes)


def measure_baselines(duration: float) -> dict[str, float]:
    """The same kind of load on the bare verifier and on pywa (ids made up: neither looks them up)."""
    count = int(EXPECTED_RATE * duration)
    upstream_ids = [f"wamid.upstream-{i}" for i in range(count // 3 + 1)]
    requests = build_requests(upstream_ids, 2, 1, "+7 495 555-01-00", count)
    runs = {}
    with tempfile.TemporaryDirectory(prefix="wagate-w3-baseline-") as tmp:
        request_file = Path(tmp) / "requests.txt"
        write_requests(request_file, requests, SECRET)
        lua_env = {"WAGATE_BENCH_REQUESTS": str(request_file), "WAGATE_BENCH_THREADS": str(THREADS)}
        for kind in ("verify", "pywa"):
            with Receiver(kind) as receiver:
                runs[kind] = run_wrk(
                    receiver.url,
                    LUA / "w3_webhooks.lua",
                    duration=duration,
                    connections=CONNECTIONS,
                    threads=THREADS,
                    env=lua_env,
                )
    return {
        "verify_only_per_s": round(runs["verify"].ok / duration, 1),
        "verify_only_p99_ms": runs["verify"].latency_ms.get("p99", -1),
        "pywa_per_s": round(runs["pywa"].ok / duration, 1),
        "pywa_p99_ms": runs["pywa"].latency_ms.get("p99", -1),
    }


def run(duration: float, engines: list[str]) -> list[Result]:
    measured = measure_each(engines, lambda engine: measure(engine, duration))
    baseline = measure_baselines(duration)
    return results("W3", TARGET, measured, lambda engine, m: result(engine, m, baseline, duration))


def result(engine: str, m: Measured, baseline: dict[str, float], duration: float) -> Result:
    figures = {
        "events_per_s": round(m.load.ok / duration, 1),
        "p50_ms": m.load.latency_ms.get("p50", -1),
        "p99_ms": m.load.latency_ms.get("p99", -1),
        "non_2xx": m.load.other,
        "lost": m.lost,
        "duplicate_effects": m.doubled,
        "events_recorded": m.events,
        "forwarded": m.delivered,
        "drain_after_stop_s": round(m.lag, 2),
    }
    passed = (
        figures["events_per_s"] >= 3000
        and 0 <= figures["p99_ms"] <= 100
        and m.load.other == 0
        and m.lost == 0
        and m.doubled == 0
        and m.delivered >= m.events
        and m.lag <= 10
    )
    out = Result(
        "W3",
        figures,
        baseline,
        ratio=figures["events_per_s"] / max(1.0, baseline["verify_only_per_s"]),
        target=TARGET,
        passed=passed,
        notes=list(m.notes),
        engine=engine,
    )
    out.count_refusals(m.refused)
    return out
