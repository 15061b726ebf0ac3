"""The ``zoo`` command: list | predict | train | evaluate."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cmd_list(args) -> int:
    from zoo import hub

    for name in hub.list_models():
        with open(hub.resolve(name) / "metrics.json") as f:
            test = json.load(f).get("test", {})
        print(f"{name}\ttest WER {test.get('wer', float('nan')):.2f}%\tPER {test.get('per', float('nan')):.2f}%")
    return 0


def cmd_predict(args) -> int:
    from zoo import hub

    model = hub.load(args.name)
    for text, hyp in zip(args.text, model.decode(args.text)):
        print(f"{text}\t{hyp.text}\t{hyp.score:.4f}")
    return 0


def cmd_train(args) -> int:
    from zoo.train import train

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _, metrics = train(args.recipe, args.workdir, epochs=args.epochs, output=args.output)
    print(json.dumps(metrics, indent=2))
    return 0


def cmd_evaluate(args) -> int:
    from zoo import hub
    from zoo.evaluation import evaluate

    model = hub.load(args.name)
    with open(hub.resolve(args.name) / "config.json") as f:
        dataset = json.load(f).get("dataset", "cmudict")
    scores = evaluate(model, dataset, args.split, max_examples=args.max_examples)
    print(f"{args.name} {dataset}/{args.split} (greedy): WER {scores['wer']:.2f}%  PER {scores['per']:.2f}%  "
          f"({scores['count']} examples, {scores['seconds']} s)")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zoo", description="seq2seq-zoo: recurrent sequence-to-sequence models.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list pretrained models").set_defaults(run=cmd_list)
    pr = sub.add_parser("predict", help="predict with a pretrained model: prints input, output, score")
    pr.add_argument("name", help="pretrained model name or folder")
    pr.add_argument("text", nargs="+", help="input texts")
    pr.set_defaults(run=cmd_predict)
    tr = sub.add_parser("train", help="train (or resume) a recipe")
    tr.add_argument("recipe", help="recipe JSON file or name in recipes/")
    tr.add_argument("--workdir", required=True, help="folder for checkpoints, backups, logs (resumes if present)")
    tr.add_argument("--epochs", type=int, help="override the recipe's epoch count")
    tr.add_argument("--output", help="write a pretrained folder here when done")
    tr.set_defaults(run=cmd_train)
    ev = sub.add_parser("evaluate", help="WER/PER of a pretrained model on a split (jiwer)")
    ev.add_argument("name")
    ev.add_argument("--split", default="test", choices=("train", "dev", "test"))
    ev.add_argument("--max-examples", type=int)
    ev.set_defaults(run=cmd_evaluate)
    return p


def main(argv=None) -> int:
    _quiet_tensorflow()
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (KeyError, ValueError, TypeError, FileNotFoundError, RuntimeError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"zoo {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
