"""Texts per second, start-up time and memory of a sentiment backend on this machine.

    python benchmarks/sentiment_speed.py --data ../shared/sentiment [--backend offline] [--model PATH]

Every ``*_text.txt`` line under ``--data`` (recursively, sorted by path) is a message. The first
``--limit`` are the timed set; the next ``--warm-up`` ones, different texts, are classified first
so that the timed runs see a process that has already handled traffic (models loaded on first
use, token memos filled) but never the timed texts themselves. Reported:

- start-up: ``load()`` plus one call on one text; RSS after it;
- warm-up: the first batch, with whatever the backend loads on first use; RSS after it;
- batched: ``classify(timed set)`` ``--repeat`` times, best and median texts/s, wall and CPU;
- one by one: ``classify([text])`` for ``--single`` further texts;
- peak RSS, and the machine's load average (other jobs share its 2 cores and slow every number).

Each call's verdicts are counted and must equal its texts; duplicates in the timed set are
reported, since the backend classifies a repeated text once.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sentiment  # noqa: E402


def rss_mb() -> float:
    """Resident memory now (Linux), in MB."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--backend", default="offline")
    parser.add_argument("--model")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=5000, help="texts in the timed set")
    parser.add_argument("--warm-up", type=int, default=2000, help="other texts classified before timing")
    parser.add_argument("--single", type=int, default=500, help="texts classified one at a time")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    lines = [line for f in sorted(args.data.rglob("*_text.txt")) for line in f.read_text("utf-8").split("\n")]
    timed = lines[: args.limit]
    warm = lines[args.limit : args.limit + args.warm_up]
    single = lines[args.limit + args.warm_up : args.limit + args.warm_up + args.single]
    options = {"batch_size": args.batch_size, **({"model": args.model} if args.model else {})}
    classifier, stats = measure(args.backend, timed, warm=warm, single=single, repeat=args.repeat, **options)
    print(json.dumps({"backend": classifier.name, "version": classifier.version, **stats}))


def _classify(classifier: sentiment.Classifier, texts: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one call, after checking it returned one verdict per text."""
    wall, cpu = time.perf_counter(), time.process_time()
    verdicts = classifier.classify(texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert len(verdicts) == len(texts), f"{len(verdicts)} verdicts for {len(texts)} texts"
    return wall, cpu


def measure(
    backend: str,
    texts: list[str],
    *,
    warm: list[str] | None = None,
    single: list[str] | None = None,
    repeat: int = 1,
    **options: object,
) -> tuple[sentiment.Classifier, dict[str, object]]:
    """Load a backend and time it as described in the module docstring."""
    before = rss_mb()
    started = time.perf_counter()
    classifier = sentiment.load(backend, **options)
    _classify(classifier, ["start-up: the language detector and the model's first call"])
    stats: dict[str, object] = {
        "texts": len(texts),
        "duplicates": len(texts) - len(set(texts)),
        "batch_size": options.get("batch_size"),
        "rss_mb_before_load": before,
        "startup_seconds": round(time.perf_counter() - started, 2),
        "rss_mb_after_startup": rss_mb(),
    }
    if warm:
        stats["warm_up_texts"] = len(warm)
        stats["warm_up_seconds"] = round(_classify(classifier, warm)[0], 2)
        stats["rss_mb_after_warm_up"] = rss_mb()
    runs = [_classify(classifier, texts) for _ in range(max(1, repeat))]
    walls = [wall for wall, _ in runs]
    stats["texts_per_second"] = round(len(texts) / min(walls), 1)
    stats["texts_per_second_median"] = round(len(texts) / statistics.median(walls), 1)
    stats["texts_per_cpu_second"] = round(len(texts) / min(cpu for _, cpu in runs), 1)
    if single:
        wall = sum(_classify(classifier, [text])[0] for text in single)
        stats["one_by_one_texts"] = len(single)
        stats["one_by_one_texts_per_second"] = round(len(single) / wall, 1)
    stats["rss_mb_after"] = rss_mb()
    stats["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    stats["load_average"] = round(os.getloadavg()[0], 2)
    return classifier, stats


if __name__ == "__main__":
    main()
