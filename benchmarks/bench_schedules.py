"""100 schedules due in the same minute, on two `mara serve` processes vs one.

Each schedule is a metric check (two small queries) posted to a local signed-webhook receiver
(allow-listed); the receiver answers 503 to the first 10 requests, so some deliveries are
retried. Printed per setup: when the first and the last run was delivered (seconds after the
due minute; "within the minute" means the last one < 60 s), runs started vs schedules (a run
started twice would show as more runs than schedules), which process started how many, and
whether every retried delivery kept one idempotency key and one body.

    python benchmarks/bench_schedules.py [--count 100] [--fail-first 10] [--single]

``--single`` also runs the one-server setup (the obvious alternative) side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.testing.schedule_fleet import FleetReport, run_fleet  # noqa: E402


def show(report: FleetReport) -> None:
    within = report.delivered == report.schedules and report.last_delivery_s < 60
    print(f"  servers: {report.servers}")
    print(f"  delivered: {report.delivered}/{report.schedules}; first {report.first_delivery_s:.1f} s, "
          f"last {report.last_delivery_s:.1f} s after the due minute -> {'within' if within else 'NOT within'} the minute")
    print(f"  runs started: {report.runs} for {report.schedules} schedules ({report.distinct_run_keys} distinct run keys); "
          f"by process: {report.starts_by_server}")
    print(f"  retried deliveries: {report.retried_keys}, same idempotency key and body: {report.retried_keys_same}; "
          f"webhook requests: {report.requests}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--fail-first", type=int, default=10)
    parser.add_argument("--single", action="store_true", help="also measure one server alone")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    reports = []
    setups = [2, 1] if args.single else [2]
    for servers in setups:
        with tempfile.TemporaryDirectory(prefix="mara-bench-sched-") as tmp:
            report = run_fleet(Path(tmp) / "ws", servers=servers, count=args.count, fail_first=args.fail_first,
                               log=lambda m: print(m, file=sys.stderr))
        reports.append(report)
        print(f"{servers} server(s):")
        show(report)
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], default=str))


if __name__ == "__main__":
    main()
