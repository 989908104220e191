"""`benchmarks/run.py --quick` runs end to end (CI smoke-runs it): every benchmark counts what it did, or fails.

No figure is asserted: speed depends on the machine and on whatever else runs on it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_benchmark_run_checks_its_counts_and_prints_every_row() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    names = {row["what"] for row in result["rows"]}
    for wanted in (
        "ingest -> verdict -> case + draft, sqlite",
        "  product / raw inserts, sqlite",
        "queue --limit 50",
        "show",
        "process() with nothing new",
        "daily report",
        "classifier, batched",
        "classifier, one by one",
        "daemon idle RSS",
    ):
        assert wanted in names, f"no row {wanted!r}"
    assert all(row["median"] > 0 and row["min"] <= row["median"] <= row["max"] for row in result["rows"])
    postgres = any(row["what"].endswith("postgresql") for row in result["rows"])
    assert postgres or any("PostgreSQL" in reason for reason in result["skipped"])
