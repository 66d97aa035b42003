"""Run named workloads: `python -m bench.run W1 W2 --duration 30` (loopback only).

Each prints a table row and a JSON object (figures, same-run baseline, ratio, machine).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from bench import w1_accept, w2_dispatch, w3_webhooks
from bench.common import Result

WORKLOADS: dict[str, Callable[[float], Result]] = {
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
    args = parser.parse_args()
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {list(WORKLOADS)}")
    results = []
    for name in args.workloads:
        result = WORKLOADS[name](args.duration)
        results.append(result)
        print(result.row(), flush=True)
        print(result.to_json(), flush=True)
        for note in result.notes:
            print(f"  note: {note}")
    print()
    for result in results:
        print(result.row())
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
