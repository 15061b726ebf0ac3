"""Sequence-level knowledge distillation (Kim & Rush, 2016): a student trains on its teacher's outputs.

A recipe's optional ``distill`` key, e.g. ``{"teacher": "g2p-ensemble", "beam_size": 4}``, replaces the
training targets: the teacher (a pretrained model or ensemble, by name or folder, or a list of them: their
equal-weight ensemble, ``zoo.hub.ensemble``) decodes every training source, and as many extra sources (one
per line, plain or gzip text: unlabelled inputs, the "transfer set") as asked, and the student learns those
outputs. Dev selection and the final evaluation stay on the dataset's own references. Extra sources that are
sources of the dataset are skipped (the train ones are already there; the dev and test ones would leak the
evaluation). The teacher's outputs are written once to ``workdir/teacher.tsv`` (atomically) beside
``teacher.json``, which says what made them, so a resumed run reuses them instead of decoding again, and a
run whose extra sources changed but whose teacher, beam and length penalty did not decodes only the sources
the file lacks; a pair of files it cannot read (bad JSON, keys missing, a line that is not
``source<TAB>output``, not UTF-8) is a clear error naming the file, and is never overwritten. Sources longer than the
teacher accepts are left out (counted in the summary), as the training pipeline leaves out what the student
does not accept; a teacher that truncates (``truncate_source``) reads their opening instead.
"""
from __future__ import annotations

import gzip
import json
import logging
import os
import pathlib
import time

import tensorflow as tf

from zoo import data
from zoo.data import files
from zoo.io import atomic_write_text

log = logging.getLogger(__name__)

DISTILL_KEYS = {"teacher": (str, list), "extra_sources": str, "max_extra_sources": int, "beam_size": int,
                "alpha": (int, float)}
CHUNK = 8192  # sources decoded per call: progress is logged after each


def check_distill(config) -> dict:
    """Validates a recipe's ``distill`` value -> it, with defaults (no extra sources, greedy; a beam's
    length penalty ``alpha``: the teacher card's, 0.6 for a list of teachers)."""
    if not isinstance(config, dict) or "teacher" not in config or set(config) - set(DISTILL_KEYS):
        raise ValueError(f"Recipe key 'distill' must be a dict with 'teacher' and optionally "
                         f"{sorted(set(DISTILL_KEYS) - {'teacher'})}, got {config!r}")
    for key, kind in DISTILL_KEYS.items():
        value = config.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            names = " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__
            raise ValueError(f"Recipe key 'distill'[{key!r}] must be {names}, got {value!r}")
    teacher = config["teacher"]
    if isinstance(teacher, list) and (not teacher or not all(isinstance(t, str) for t in teacher)):
        raise ValueError(f"Recipe key 'distill'['teacher'] must be a model name or folder, or a list of "
                         f"at least one, got {teacher!r}")
    for key in ("max_extra_sources", "beam_size"):
        if key in config and config[key] < 1:
            raise ValueError(f"Recipe key 'distill'[{key!r}] must be >= 1, got {config[key]!r}")
    if "alpha" in config and not config["alpha"] >= 0:
        raise ValueError(f"Recipe key 'distill'['alpha'] must be >= 0, got {config['alpha']!r}")
    if "max_extra_sources" in config and "extra_sources" not in config:
        raise ValueError("Recipe key 'distill': 'max_extra_sources' needs 'extra_sources' (a file of sources)")
    return {"beam_size": 1, **config}


def read_sources(path: str | os.PathLike) -> list[str]:
    """One source per line of a UTF-8 text file (``.gz``: gzip-compressed); blank lines skipped."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Recipe key 'distill'['extra_sources']: {str(path)!r} is not a file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            lines = [line.strip() for line in f]
    except (UnicodeDecodeError, OSError, EOFError) as error:
        raise ValueError(f"Recipe key 'distill'['extra_sources']: {str(path)!r} is not UTF-8 text"
                         f"{' compressed with gzip' if opener is gzip.open else ''} ({error})") from None
    for number, line in enumerate(lines, 1):
        if "\t" in line:
            raise ValueError(f"{path}:{number}: a source may not hold a tab, got {line[:80]!r}")
    return [line for line in lines if line]


def distillation_sources(dataset: str, config: dict) -> tuple[list[str], list[str]]:
    """-> (the dataset's train sources, the extra sources to label): extra sources in file order,
    skipping repeats and any source of the dataset's splits, up to ``max_extra_sources``."""
    train = list(data.references(dataset, "train"))
    if "extra_sources" not in config:
        return train, []
    taken = data.sources(dataset)
    extra = []
    for source in read_sources(config["extra_sources"]):
        if source not in taken:
            taken.add(source)
            extra.append(source)
            if len(extra) == config.get("max_extra_sources"):
                break
    return train, extra


def teacher_pairs(recipe: dict, workdir: str | os.PathLike) -> tuple[list[tuple[str, str]], dict]:
    """The student's training pairs (source, teacher's output) and a summary for the metrics: teacher,
    counts, and how often the teacher's output on a train source is one of its references. Decodes
    once; later calls with the same ``distill`` config read ``workdir/teacher.tsv`` back, and calls
    that change only ``extra_sources`` / ``max_extra_sources`` reuse the outputs it holds."""
    from zoo import hub

    config = check_distill(recipe["distill"])
    workdir = pathlib.Path(workdir)
    made_by = {"dataset": recipe["dataset"], **config}
    cache, about = workdir / "teacher.tsv", workdir / "teacher.json"
    stored = _read_about(about) if cache.is_file() and about.is_file() else {}
    if stored.get("made_by") == made_by:
        return list(_read_outputs(cache).items()), stored["summary"]

    decoded = {}  # source -> the teacher's output
    if stored and _decoding(stored["made_by"]) == _decoding(made_by):
        decoded = _read_outputs(cache)
    train, extra = distillation_sources(recipe["dataset"], config)
    missing = [s for s in train + extra if s not in decoded]
    log.info("teacher %s: %d outputs reused from %s, %d sources to decode",
             config["teacher"], len(train) + len(extra) - len(missing), cache, len(missing))
    teacher = _load_teacher(config["teacher"]) if missing else None  # a bad name fails here, clearly
    alpha = config.get("alpha", 0.6 if isinstance(config["teacher"], list) else hub.decoding_config(config["teacher"]).alpha)
    # explicit even for greedy: a teacher's own decoding (its card's) must not leak in
    options = {"beam_size": config["beam_size"], **({"alpha": alpha} if config["beam_size"] > 1 else {})}
    if teacher is not None:
        lengths = teacher.source_tokenizer.tokenize(tf.constant(missing)).row_lengths().numpy()
        truncates = teacher.frontend.truncate  # a teacher trained with truncate_source reads a longer source's opening
        fitting = [s for s, n in zip(missing, lengths) if truncates or n <= teacher.max_source_length]
        start = time.perf_counter()
        for first in range(0, len(fitting), CHUNK):
            chunk = fitting[first:first + CHUNK]
            decoded.update(zip(chunk, teacher.predict(chunk, **options)))
            log.info("teacher %s: %d / %d sources decoded (%.0f s)", teacher.name, first + len(chunk), len(fitting),
                     time.perf_counter() - start)
    sources = [s for s in train + extra if s in decoded]  # the ones the teacher accepts
    references = data.references(recipe["dataset"], "train")  # keyed by the train sources, in order
    agreement = 100.0 * sum(decoded.get(s) in references[s] for s in train) / max(len(train), 1)
    pairs = [(s, decoded[s]) for s in sources if decoded[s]]  # an empty output teaches nothing
    summary = {"teacher": config["teacher"], "beam_size": config["beam_size"], **({"alpha": alpha} if config["beam_size"] > 1 else {}),
               "train_sources": len(train), "extra_sources": len(extra),
               "too_long_for_teacher": len(train) + len(extra) - len(sources), "pairs": len(pairs),
               "train_agreement": round(agreement, 2)}
    workdir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(cache, "".join(f"{s}\t{t}\n" for s, t in pairs))
    atomic_write_text(about, json.dumps({"made_by": made_by, "summary": summary}, indent=2))
    log.info("teacher %s: %s", config["teacher"], summary)
    return pairs, summary


SUMMARY_KEYS = ("teacher", "beam_size", "train_sources", "extra_sources", "pairs", "train_agreement")


def _read_about(about: pathlib.Path) -> dict:
    """``teacher.json`` -> {"made_by": ..., "summary": ...}; one that zoo did not write (bad JSON, keys
    missing) is a clear error naming the file, not a stale cache to overwrite: its outputs may be the
    only copy of hours of decoding."""
    try:
        stored = json.loads(about.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{about}: not valid JSON ({error}); delete it and teacher.tsv to decode again") from None
    stored = stored if isinstance(stored, dict) else {}
    summary = stored.get("summary") if isinstance(stored.get("summary"), dict) else {}
    needed = SUMMARY_KEYS + (("alpha",) if summary.get("beam_size", 1) != 1 else ())
    missing = ([] if isinstance(stored.get("made_by"), dict) else ["made_by"]) + [
        f"summary[{key!r}]" for key in needed if key not in summary]
    if missing:
        raise ValueError(f"{about}: lacks {', '.join(missing)}, which zoo writes there beside teacher.tsv; "
                         "fix it or delete both files to decode again")
    return stored


def _read_outputs(cache: pathlib.Path) -> dict[str, str]:
    """``teacher.tsv`` -> {source: the teacher's output}, in file order (``zoo.data.files.read_pairs``:
    a line that is not ``source<TAB>output`` is an error naming the file and line)."""
    return dict(files.read_pairs(cache))


def _decoding(made_by: dict) -> dict:
    """What decides each output (dataset, teacher, beam, alpha): ``made_by`` without the source list."""
    return {k: v for k, v in made_by.items() if k not in ("extra_sources", "max_extra_sources")}


def _load_teacher(teacher):
    from zoo import hub

    try:
        return hub.ensemble(teacher) if isinstance(teacher, list) else hub.load(teacher)
    except KeyError as error:
        raise ValueError(f"Recipe key 'distill'['teacher']: {error.args[0]}") from None
