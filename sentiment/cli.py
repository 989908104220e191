"""``socialcare sentiment eval|train``: measure a backend on labelled messages, train the offline model.

A thin layer: the work is in :mod:`sentiment.dataset`, :mod:`sentiment.metrics` and
:mod:`sentiment.training`. User mistakes (missing folder, bad label, unloadable backend) end in
one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from . import BackendUnavailable, Classifier, dataset, load

if TYPE_CHECKING:  # numpy loads in the commands that score, not in every `socialcare` start-up
    from .metrics import Scores

app = typer.Typer(help="Measure and train the sentiment classifier.", no_args_is_help=True, rich_markup_mode=None)
DataOption = Annotated[
    Path, typer.Option("--data", help="Folder of *_text.txt / *_labels.txt pairs (0 negative, 1 neutral, 2 positive).")
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _classifier(ctx: typer.Context, backend: str | None, model: Path | None) -> Classifier:
    if backend is None and model is None and ctx.obj is not None:
        return ctx.obj.classifier()
    options: dict[str, Any] = {"model": str(model)} if model is not None else {}
    return load(backend or "offline", **options)


@app.command("eval")
def eval_command(
    ctx: typer.Context,
    data: DataOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")] = False,
    backend: Annotated[str | None, typer.Option(help="Backend to measure instead of the configured one.")] = None,
    model: Annotated[
        Path | None, typer.Option(help="Model file or folder for the backend (offline if none given).")
    ] = None,
) -> None:
    """Score a backend on labelled messages: macro-F1, per-class recall, confusion matrix.

    When the folder has test*/val* pairs only those are scored (train* pairs are what a model learnt from).
    """
    from .metrics import CLASS_NAMES, score

    try:
        splits = dataset.held_out(dataset.read_folder(data))
        classifier = _classifier(ctx, backend, model)
    except (dataset.DataError, BackendUnavailable) as err:
        raise _fail(str(err)) from None
    texts = [t for s in splits for t in s.texts]
    truth = [y for s in splits for y in s.labels]
    started = time.perf_counter()
    verdicts = classifier.classify(texts)
    seconds = time.perf_counter() - started
    result = score(truth, [CLASS_NAMES.index(v.label.value) for v in verdicts])
    report = {
        "backend": classifier.name,
        "version": classifier.version,
        "source": classifier.source,
        "files": [s.name for s in splits],
        "texts_per_second": round(len(texts) / seconds, 1) if seconds > 0 else None,
        **result.to_json(),
    }
    if as_json:
        typer.echo(json.dumps(report))
    else:
        _print_report(report, result)


def _print_report(report: dict[str, Any], result: Scores) -> None:
    from .metrics import CLASS_NAMES

    console = Console()
    console.print(
        f"[bold]{report['backend']}[/] {report['version']} ({report['source']}) on "
        f"{', '.join(report['files'])}: {result.count} messages"
    )
    console.print(f"macro-F1 [bold]{result.macro_f1:.3f}[/]   accuracy {result.accuracy:.3f}")
    table = Table(title="confusion matrix (rows: true label, columns: predicted)")
    table.add_column("true \\ predicted")
    for name in CLASS_NAMES:
        table.add_column(name, justify="right")
    table.add_column("recall", justify="right")
    table.add_column("precision", justify="right")
    for name, row in zip(CLASS_NAMES, result.confusion, strict=True):
        table.add_row(name, *map(str, row), f"{result.recall[name]:.3f}", f"{result.precision[name]:.3f}")
    console.print(table)


@app.command("train")
def train_command(
    data: DataOption,
    out: Annotated[Path, typer.Option(help="Where to write the model (.npz).")] = Path("sentiment-model.npz"),
) -> None:
    """Train the offline model on your own labelled messages (train* pairs, else all but test*/val*).

    Use the result with `[sentiment] backend = "offline"` and `model = "<out>"`.
    """
    from .metrics import CLASS_NAMES, score
    from .offline import OfflineClassifier
    from .training import fit_and_save

    if out.is_dir():
        raise _fail(f"--out {out} is a folder; give the model file's path, e.g. {out / 'sentiment-model.npz'}")
    try:
        splits = dataset.read_folder(data)
    except dataset.DataError as err:
        raise _fail(str(err)) from None
    learn = dataset.training(splits)
    texts = [t for s in learn for t in s.texts]
    labels = [y for s in learn for y in s.labels]
    missing = [name for i, name in enumerate(CLASS_NAMES) if i not in labels]
    if missing:
        raise _fail(f"training data has no {' or '.join(missing)} examples; label some of each class")
    if sys.stderr.isatty():  # it takes a while: say what is going on, on a terminal only
        typer.echo(f"training on {len(texts):,} messages...", err=True)
    try:
        fit_and_save(texts, labels, out, {"version": f"custom-{time.strftime('%Y%m%d')}", "trained_on": str(data)})
    except OSError as err:
        raise _fail(f"cannot write {out}: {err.strerror or err}") from None
    typer.echo(f"trained on {len(texts)} messages from {', '.join(s.name for s in learn)}; wrote {out}")
    check = [s for s in dataset.held_out(splits) if s not in learn]
    if check:
        classifier = OfflineClassifier(out)
        truth = [y for s in check for y in s.labels]
        verdicts = classifier.classify([t for s in check for t in s.texts])
        result = score(truth, [CLASS_NAMES.index(v.label.value) for v in verdicts])
        typer.echo(f"held-out {', '.join(s.name for s in check)}: macro-F1 {result.macro_f1:.3f}")
