"""Run named workloads: `python -m bench.run W1 W2 --duration 30 --engines sqlite,postgresql,scaleout`
(loopback only).

Each workload runs on every engine asked for (by default every engine whose services answer), then its
baseline once. Each (workload, engine) prints a table row and a JSON object (figures, same-run
baseline, ratio, machine); an engine whose services are missing is reported as skipped, with why.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from bench import w1_accept, w2_dispatch, w3_webhooks
from bench.common import Result
from bench.engines import ENGINES, unavailable

WORKLOADS: dict[str, Callable[[float, list[str]], list[Result]]] = {
    "W1": w1_accept.run,
    "W2": w2_dispatch.run,
    "W3": w3_webhooks.run,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "workloads", nargs="*", default=list(WORKLOADS), help=f"any of {', '.join(WORKLOADS)}"
    )
    parser.add_argument("--duration", type=float, default=30.0, help="seconds each workload is measured")
    parser.add_argument(
        "--engines",
        default=None,
        help=f"comma-separated, any of {','.join(ENGINES)} (default: every one whose services answer)",
    )
    args = parser.parse_args()
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {list(WORKLOADS)}")
    asked = (
        ENGINES if args.engines is None else tuple(e.strip() for e in args.engines.split(",") if e.strip())
    )
    wrong = [e for e in asked if e not in ENGINES]
    if wrong or not asked:
        parser.error(f"unknown engines {wrong}; choose from {list(ENGINES)}")
    skipped = {e: reason for e in asked if (reason := unavailable(e)) is not None}
    engines = [e for e in asked if e not in skipped]
    for engine, reason in skipped.items():
        print(f"skipped {engine}: {reason}", flush=True)
        print(json.dumps({"engine": engine, "skipped": reason}), flush=True)
    results = []
    for name in args.workloads if engines else []:
        for result in WORKLOADS[name](args.duration, engines):
            results.append(result)
            print(result.row(), flush=True)
            print(result.to_json(), flush=True)
            for note in result.notes:
                print(f"  note: {note}")
    print()
    for result in results:
        print(result.row())
    for engine, reason in skipped.items():
        print(f"{'':4} {engine:10} SKIP | {reason}")
    # An engine asked for by name that could not run fails the run; one left out by default does not.
    explicit_skips = bool(skipped) and args.engines is not None
    return 0 if results and all(r.passed for r in results) and not explicit_skips else 1


if __name__ == "__main__":
    sys.exit(main())
