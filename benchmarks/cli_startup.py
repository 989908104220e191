"""How long the commands a care team types all day take, start to exit, as a person runs them: one
process each, on a fresh store made by ``init`` and ``sandbox seed`` (then a ``poll``). Prints the
median and the spread per command, and fails if any run did not do its job (exit 0, expected output).

    python benchmarks/cli_startup.py               # 7 runs of each command
    python benchmarks/cli_startup.py --runs 15
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

TARGET = 0.5
"""Seconds: the median the issue asks for ``queue``, ``show``, ``approve`` and ``reject``."""


class Run(NamedTuple):
    wall: float
    cpu: float
    """User and system time of the process: what a shared machine's load does not inflate."""


def socialcare(env: dict[str, str], *args: str) -> tuple[Run, subprocess.CompletedProcess[str]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "socialcare", *args], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Run(wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime), done


def checked(env: dict[str, str], expect: str, *args: str) -> Run:
    run, done = socialcare(env, *args)
    if done.returncode != 0 or expect not in done.stdout:
        raise SystemExit(
            f"`socialcare {' '.join(args)}` did not work (exit {done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "SOCIALCARE_CONFIG": str(Path(folder) / "socialcare.toml"), "COLUMNS": "120"}
        env.pop("SOCIALCARE_DATABASE_URL", None)
        checked(env, "database ready", "init")
        checked(env, "posted", "sandbox", "seed")
        checked(env, "classified", "poll")
        _, listed = socialcare(env, "queue", "--json")
        ids = [row["id"] for row in json.loads(listed.stdout) if row["reply_status"] == "draft"]
        if len(ids) < 2 * runs:
            raise SystemExit(f"the seed gave {len(ids)} drafts; approve and reject need {2 * runs} (fewer --runs)")
        to_approve, to_reject = ids[:runs], ids[runs : 2 * runs]
        timings: dict[str, list[Run]] = {
            "--help": [checked(env, "Usage", "--help") for _ in range(runs)],
            "queue": [checked(env, "open case", "queue") for _ in range(runs)],
            "show N": [checked(env, f"case {ids[0]}", "show", str(ids[0])) for _ in range(runs)],
            "approve N": [checked(env, "approved", "approve", str(case)) for case in to_approve],
            "reject N": [checked(env, "closed", "reject", str(case), "--reason", "spam") for case in to_reject],
        }
    print(f"{runs} runs each, seconds; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'command':<12} {'median':>8} {'min':>8} {'max':>8} {'cpu median':>12}")
    for command, measured in timings.items():
        wall = [r.wall for r in measured]
        cpu = statistics.median(r.cpu for r in measured)
        print(f"{command:<12} {statistics.median(wall):8.3f} {min(wall):8.3f} {max(wall):8.3f} {cpu:12.3f}")
    slow = [c for c, m in timings.items() if c != "--help" and statistics.median(r.wall for r in m) >= TARGET]
    if slow:
        print(f"slower than {TARGET} s median: {', '.join(slow)}")


if __name__ == "__main__":
    main()
