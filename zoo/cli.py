"""The ``zoo`` command: list | predict | train | evaluate | export | doctor."""
from __future__ import annotations

import argparse
import contextlib
import importlib.abc
import importlib.util
import json
import logging
import os
import re
import shutil
import sys
import tempfile

# TensorFlow's C++ log, as the CLI keeps it quiet. TF_CPP_MIN_LOG_LEVEL (0 all, 1 no INFO, 2 no WARNING either,
# 3 no ERROR either) must be set before TensorFlow is imported; a value the user sets always wins. By default
# the CLI shows errors on a machine with an NVIDIA GPU (a CUDA or cuDNN mismatch is reported there) and hides
# them on one without, where the errors it prints in normal use are two benign notices, "failed call to
# cuInit" (no driver) and "oneDNN supports DT_BOOL only on platforms with AVX-512" (first boolean op); real
# failures still reach the user as Python exceptions. Nothing is switched off: oneDNN stays on, so numerics
# and the pretrained figures are unchanged.
#
# Some lines TensorFlow's shared libraries write while they load, before absl logging is initialised, ignore
# TF_CPP_MIN_LOG_LEVEL ("WARNING: All log messages before absl::InitializeLog() ...", then "I0000 ...
# oneDNN custom operations are on ..." and "Could not find cuda drivers ..."). So the first `import
# tensorflow` runs with file descriptor 2 sent to a temporary file; afterwards what it caught is written to
# stderr again, less the log records below the level (and the banner). Anything else comes through.
_LOG_RECORD = re.compile(r"([IWEF])\d{4} [\d:.]+\s+\d+ [^\]]*\] ")  # absl: severity, date, time, thread, file:line]
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
_ABSL_BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def _quiet_tensorflow() -> None:
    """Set TensorFlow's C++ log level (unless the user did) and filter what it prints while it loads."""
    has_gpu = os.path.exists("/dev/nvidiactl") or shutil.which("nvidia-smi") is not None
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2" if has_gpu else "3")
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())  # `zoo list` and `zoo --help` still load no TensorFlow


def _min_log_level() -> int:
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def _shown_again(lines: list[str], level: int) -> list[str]:
    """The lines to show again: log records at or above ``level``; a record's continuation lines go with it."""
    kept, keep = [], True
    for line in lines:
        record = _LOG_RECORD.match(line)
        if record:
            keep = _SEVERITY[record.group(1)] >= level
        elif line.rstrip("\r\n") == _ABSL_BANNER:
            keep = level == 0
        if keep:
            kept.append(line)
    return kept


@contextlib.contextmanager
def _stderr_filtered(level: int):
    """Catch what is written to file descriptor 2 (C++ included) and write back what ``_shown_again`` keeps."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr: nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            lines = caught.read().decode("utf-8", errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(_shown_again(lines, level)))
            sys.stderr.flush()


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Runs the first ``import tensorflow``, wherever it happens (Keras, zoo.predictor...), in ``_stderr_filtered``."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once: the real finders locate TensorFlow
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            load = spec.loader.exec_module

            def exec_module(module):
                with _stderr_filtered(_min_log_level()):
                    load(module)

            spec.loader.exec_module = exec_module  # this loader instance serves only this one module
        return spec


def cmd_list(args) -> int:
    from zoo import hub

    for name in hub.list_models():
        folder = hub.resolve(name)
        with open(folder / "metrics.json") as f:
            test = json.load(f).get("test", {})
        print(f"{name}\ttest " + _headline(folder, test, separator="\t"))
    return 0


def _headline(folder, scores: dict, separator: str = "  ") -> str:
    """One result of a pretrained folder in its dataset's ``shown`` metrics (``zoo.data``), e.g.
    ``"WER 30.44%  PER 7.99%"``; where that dataset is unknown (a folder dataset on another machine),
    every figure under its metrics.json key."""
    from zoo import data

    with open(folder / "config.json") as f:
        config = json.load(f)
    try:
        declared = data.get(data.dataset_of(config))
    except ValueError:
        return separator.join(f"{key} {value:.2f}" for key, value in scores.items()
                              if isinstance(value, (int, float)) and key not in ("count", "seconds"))
    return declared.describe(scores, declared.shown, separator)


def cmd_predict(args) -> int:
    from zoo import hub

    from zoo.predictor import make_strategy

    model = hub.load(args.name)
    if args.text == ["-"]:  # one text (or file) per line of standard input; blank lines are skipped
        args.text = [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
        if not args.text:
            raise ValueError("text '-': standard input holds no text (only blank lines, or nothing)")
    sources = args.text if model.frontend.kind == "text" else [_read_file(path) for path in args.text]
    if args.attention:
        from zoo.plot import check_has_attention

        check_has_attention(model)
    options = model.decoding.options(beam_size=args.beam, n_best=args.n_best, alpha=args.alpha, sample=args.sample,
                                     temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, seed=args.seed)
    strategy = make_strategy(**options)
    if args.rescore:
        if args.sample:
            raise ValueError("--rescore reranks beam search's candidates: it does not work with --sample")
        args.beam = model.rerank_beam_size(args.beam)
        results = model.rerank(sources, _rescorers(args.rescore), beam_size=args.beam, n_best=args.n_best or 1,
                               alpha=args.alpha)
    else:
        args.beam = options["beam_size"]
        results = model.decode(sources, strategy=strategy)
    for text, hypotheses in zip(args.text, results):
        for hyp in hypotheses:
            print(f"{text}\t{hyp.text}\t{hyp.score:.4f}")
    if args.attention:
        _write_attention_maps(args, model, sources, [hypotheses[0] for hypotheses in results])
    return 0


def _read_file(path: str) -> bytes:
    """A media model's input argument: the bytes of the file it names (a picture, a clip)."""
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise ValueError(f"input {path!r}: this model reads files (pictures or sound), and this one cannot be "
                         f"read: {error.strerror}") from None


def _write_attention_maps(args, model, sources, best) -> None:
    """One PNG per input: ``args.attention`` itself for one input, else ``<stem>-<i><suffix>`` (i from 1);
    a text's heatmap, a picture's word-by-word overlay or a clip's attention over time."""
    import pathlib

    from zoo.plot import decoding_name, figure_png, source_hypothesis_figure

    path = pathlib.Path(args.attention)
    decoding = "sampled" if args.sample else decoding_name(args.beam)
    for index, (text, source, hypothesis) in enumerate(zip(args.text, sources, best), start=1):
        target = path if len(args.text) == 1 else path.with_name(f"{path.stem}-{index}{path.suffix}")
        figure = source_hypothesis_figure(model, text if model.frontend.kind == "text" else source, hypothesis,
                                          decoding)
        try:
            target.write_bytes(figure_png(figure))
        except OSError as error:
            raise ValueError(f"--attention: cannot write {str(target)!r}: {error.strerror}") from None
        print(f"attention map of {text!r}: {target}", file=sys.stderr)


def cmd_train(args) -> int:
    import contextlib

    from zoo.training.train import data_parallel, train

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    several = (args.coordinator, args.processes, args.process_id)
    if any(value is not None for value in several):
        if any(value is None for value in several):
            raise ValueError("--coordinator, --processes and --process-id go together (training in several processes)")
        from zoo.training.train import join_processes

        join_processes(*several)
    with data_parallel() if args.mirrored or args.coordinator else contextlib.nullcontext():
        _, metrics = train(args.recipe, args.workdir, epochs=args.epochs, output=args.output, logdir=args.logdir,
                           resume=args.resume, init_from=args.init_from, precision=args.precision)
    print(json.dumps(metrics, indent=2))
    return 0


def rescorer_spec(text: str) -> tuple[str, float]:
    """``--rescore NAME`` or ``NAME=WEIGHT`` -> (name, weight); the weight defaults to 1."""
    name, _, weight = text.partition("=") if "=" in text else (text, "", "1")
    try:
        value = float(weight)
    except ValueError:
        value = -1.0
    if not name or not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected NAME or NAME=WEIGHT with a finite weight >= 0, got {text!r}")
    return name, value


def _rescorers(specs: list[tuple[str, float]]):
    from zoo import hub

    return [(hub.load(name), weight) for name, weight in specs]


def cmd_evaluate(args) -> int:
    from zoo import data, hub
    from zoo.evaluation import evaluate

    model = hub.load(args.name)
    with open(hub.resolve(args.name) / "config.json") as f:
        declared = data.get(data.dataset_of(json.load(f)))
    dataset = declared.name
    args.beam = model.decoding.beam_size if args.beam is None else args.beam
    rescorers = _rescorers(args.rescore or [])
    runs = [(beam, None) for beam in sorted({1, args.beam})] + ([(args.beam, rescorers)] if rescorers else [])
    for beam, rescoring in runs:
        scores = evaluate(model, dataset, args.split, max_examples=args.max_examples, beam_size=beam, alpha=args.alpha,
                          rescorers=rescoring)
        name = "greedy" if beam == 1 else f"beam {beam}"
        if rescoring:
            name += " reranked by " + ", ".join(f"{n} x{w:g}" for n, w in args.rescore)
        views = "".join(f"  [{view}: {declared.describe(scores[view], scoring.metrics)}]"
                        for view, scoring in declared.views.items())
        print(f"{args.name} {dataset}/{args.split} ({name}): {declared.describe(scores)}  "
              f"({scores['count']} examples, {scores['seconds']} s){views}")
    return 0


def cmd_ensemble(args) -> int:
    from zoo.packaging.ensemble import package_ensemble

    return _report_packaged(package_ensemble(args.members, args.output, weights=args.weights, dataset=args.dataset))


def cmd_average(args) -> int:
    from zoo.packaging.averaging import package_average

    return _report_packaged(package_average(args.models, args.output, dataset=args.dataset))


def cmd_compress(args) -> int:
    from zoo.packaging.compression import package_compressed

    return _report_packaged(package_compressed(args.name, args.output, weights_dtype=args.dtype))


def _report_packaged(folder) -> int:
    """Prints the test figures of a folder ``zoo ensemble`` / ``zoo average`` just wrote, then its path."""
    with open(folder / "metrics.json") as f:
        metrics = json.load(f)
    for label, scores in (("greedy", metrics["test"]), (f"beam {metrics['beam']['strategy']['beam_size']}", metrics["beam"]["test"])):
        print(f"{folder.name} test ({label}): {_headline(folder, scores)}")
    print(folder)
    return 0


def cmd_doctor(args) -> int:
    from zoo import doctor

    return 0 if doctor.run() else 1


def cmd_export(args) -> int:
    from zoo.export import export

    path = export(args.name, args.directory, beam_size=args.beam, n_best=args.n_best, alpha=args.alpha,
                  version=args.version)
    print(path)
    return 0


def cmd_serving_config(args) -> int:
    from zoo.serving_config import write_model_config

    print(write_model_config(args.directory, base_path=args.base_path, pin=dict(args.pin or []), unpin=args.unpin or []))
    return 0


def version_pin(text: str) -> tuple[str, int]:
    """``--pin NAME=VERSION`` -> (name, version)."""
    name, _, version = text.partition("=")
    if not name or not version.isdigit() or int(version) < 1:
        raise argparse.ArgumentTypeError(f"expected NAME=VERSION with a positive integer version, got {text!r}")
    return name, int(version)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zoo", description="seq2seq-zoo: recurrent sequence-to-sequence models.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list pretrained models").set_defaults(run=cmd_list)
    pr = sub.add_parser("predict", help="predict with a pretrained model: prints input, output, score")
    pr.add_argument("name", help="pretrained model name or folder")
    pr.add_argument("text", nargs="+", help="input texts (for an image or audio model, files: PNG, JPEG, WAV), "
                                            "or - to read one per line from standard input")
    pr.add_argument("--beam", type=int, help="beam size (1: greedy; default: the model's, from its card)")
    pr.add_argument("--n-best", type=int, help="hypotheses printed per input (<= beam, or samples; default 1)")
    pr.add_argument("--alpha", type=float, help="beam search length penalty exponent (default: the model's)")
    pr.add_argument("--sample", action="store_true", help="sample instead of searching")
    pr.add_argument("--temperature", type=float, default=1.0)
    pr.add_argument("--top-k", type=int, default=0)
    pr.add_argument("--top-p", type=float, default=1.0)
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--rescore", metavar="NAME[=WEIGHT]", type=rescorer_spec, action="append",
                    help="rerank the beam's candidates adding WEIGHT (default 1) x this model's log-probability; repeatable")
    pr.add_argument("--attention", metavar="OUT.png",
                    help="also write the best hypothesis's attention map (OUT-1.png, OUT-2.png, ... for several texts)")
    pr.set_defaults(run=cmd_predict)
    tr = sub.add_parser("train", help="train (or resume) a recipe")
    tr.add_argument("recipe", help="recipe JSON file or name in recipes/")
    tr.add_argument("--workdir", required=True, help="folder for checkpoints, backups, logs (resumes if present)")
    tr.add_argument("--epochs", type=int,
                    help="total epochs (default: the recipe's); 0 only evaluates and packages the best checkpoint")
    tr.add_argument("--output", help="write a pretrained folder here when done")
    tr.add_argument("--resume", action="store_true",
                    help="continue the run already in --workdir (after a kill, or to train more epochs)")
    tr.add_argument("--init-from", metavar="MODEL",
                    help="fine-tune: start from this pretrained model's weights and vocabularies (a name or folder); "
                         "the recipe's model config must match it except for dropout")
    tr.add_argument("--logdir", help="TensorBoard folder: scalars, attention maps, predictions (default: WORKDIR/logs)")
    tr.add_argument("--precision", help="dtype policy to train in: float32 (default, or the recipe's 'precision'), "
                                        "mixed_float16 or mixed_bfloat16 (GPUs); weights stay float32")
    tr.add_argument("--mirrored", action="store_true",
                    help="train data-parallel on every local GPU (tf.distribute.MirroredStrategy on TensorFlow, "
                         "keras.distribution.DataParallel on JAX); the recipe's batch_size is the global batch")
    tr.add_argument("--coordinator", metavar="HOST:PORT",
                    help="train in several processes (JAX), data-parallel over all their devices: process 0's "
                         "address; start one process per host with the same arguments but --process-id")
    tr.add_argument("--processes", type=int, help="how many processes train together (with --coordinator)")
    tr.add_argument("--process-id", type=int, help="this process's index, 0 to --processes - 1 (with --coordinator); "
                                                   "process i > 0 keeps its copy of the run in WORKDIR/process-i")
    tr.set_defaults(run=cmd_train)
    ev = sub.add_parser("evaluate", help="a pretrained model's scores on a split (its dataset's metrics)")
    ev.add_argument("name")
    ev.add_argument("--split", default="test", choices=("train", "dev", "test"))
    ev.add_argument("--max-examples", type=int)
    ev.add_argument("--beam", type=int,
                    help="also report beam search with this beam size (default: the model's, from its card)")
    ev.add_argument("--alpha", type=float, help="beam search length penalty exponent (default: the model's)")
    ev.add_argument("--rescore", metavar="NAME[=WEIGHT]", type=rescorer_spec, action="append",
                    help="also report the beam reranked with this model (see zoo predict --rescore); repeatable")
    ev.set_defaults(run=cmd_evaluate)
    en = sub.add_parser("ensemble", help="decode with several pretrained models as one (their step-wise mixture): "
                                         "evaluate it and write it as a pretrained folder")
    en.add_argument("members", nargs="+", help="pretrained model names or folders sharing their vocabularies")
    en.add_argument("--output", required=True, help="the folder to write, e.g. pretrained/g2p-ensemble (its name is the model's)")
    en.add_argument("--weights", type=float, nargs="+", help="one mixture weight > 0 per member (default: equal)")
    en.add_argument("--dataset", help="dataset to evaluate on (default: the first member's)")
    en.set_defaults(run=cmd_ensemble)
    av = sub.add_parser("average", help="average the weights of models of one architecture (fine-tunes of one "
                                        "model, checkpoints of one run): evaluate and write it as a pretrained folder")
    av.add_argument("models", nargs="+", help="pretrained model names or folders (at least two) sharing architecture "
                                              "and vocabularies")
    av.add_argument("--output", required=True, help="the folder to write, e.g. pretrained/g2p-luong (its name is the model's)")
    av.add_argument("--dataset", help="dataset to evaluate on (default: the first model's)")
    av.set_defaults(run=cmd_average)
    co = sub.add_parser("compress", help="store a pretrained model's weights in float16 (half the size): "
                                         "evaluate the rounded model again and write it as a pretrained folder")
    co.add_argument("name", help="pretrained model name or folder (not an ensemble)")
    co.add_argument("--output", required=True, help="the folder to write, e.g. pretrained/g2p-luong (may be the model's own)")
    co.add_argument("--dtype", default="float16",
                    help="the dtype to store the weights in: float16 (default) or int8 (matrices, a scale per channel)")
    co.set_defaults(run=cmd_compress)
    sub.add_parser("doctor", help="check the environment and the pretrained models").set_defaults(run=cmd_doctor)
    ex = sub.add_parser("export", help="SavedModel for TF Serving: DIR/NAME/VERSION (strings in, n-best out)")
    ex.add_argument("name", help="pretrained model name or folder")
    ex.add_argument("directory", help="model base folder; the export goes to DIRECTORY/NAME/VERSION")
    ex.add_argument("--beam", type=int, help="beam size baked into the graph (1: greedy; default: the model's)")
    ex.add_argument("--n-best", type=int, help="hypotheses returned per input (<= beam; default 1)")
    ex.add_argument("--alpha", type=float, help="beam search length penalty exponent (default: the model's)")
    ex.add_argument("--version", type=int, help="version folder (default: the largest existing + 1)")
    ex.set_defaults(run=cmd_export)
    sc = sub.add_parser("serving-config", help="(re)write DIRECTORY/models.config for TF Serving from the models "
                                               "exported there (zoo export does it after each export)")
    sc.add_argument("directory", help="the export root: DIRECTORY/NAME/VERSION/saved_model.pb")
    sc.add_argument("--base-path", default="/models",
                    help="where the server sees DIRECTORY (default /models, as in serving/docker-compose.yml)")
    sc.add_argument("--pin", metavar="NAME=VERSION", type=version_pin, action="append",
                    help="serve only this version of NAME (a rollback); repeatable")
    sc.add_argument("--unpin", metavar="NAME", action="append", help="serve NAME's newest version again; repeatable")
    sc.set_defaults(run=cmd_serving_config)
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
