"""Your own data: a folder holding ``train.tsv``, ``dev.tsv`` and ``test.tsv``, one
``source<TAB>target`` pair per line (UTF-8; blank lines skipped). A source listed with several
targets trains on each, and at evaluation any of them counts, as for CMUdict's variants.
Use the folder's path as a recipe's ``dataset``.

Such a dataset is scored with ``TEXT_METRICS`` (``zoo.data.dataset``): ``wer`` (outputs that are no
reference, as G2P counts words), ``per`` (token edits), ``exact_match``, ``cer``, ``bleu`` and ``chrf``,
all reported and logged every epoch; dev ``wer`` selects the checkpoint, as it always has. Data of
another kind (speech, summaries) gets other metrics by registering a ``Dataset`` of its own
(``zoo.data.register``)."""
from __future__ import annotations

import functools
import os
import pathlib

from zoo.data.dataset import TEXT_METRICS, Dataset

SPLIT_FILES = {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}


def is_folder_dataset(dataset: str) -> bool:
    return os.path.isdir(dataset) and all((pathlib.Path(dataset) / f).is_file() for f in SPLIT_FILES.values())


def read_pairs(path: str | os.PathLike) -> list[tuple[str, str]]:
    """``source<TAB>target`` lines of a UTF-8 file -> (source, target) pairs in file order, stripped;
    blank lines skipped. A line that is not two non-empty fields, or a file that is not UTF-8, is an
    error naming the file (and line)."""
    path = pathlib.Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    pairs = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            raise ValueError(f"{path}:{number}: expected 'source<TAB>target' with both non-empty, got {line[:80]!r}")
        pairs.append((fields[0].strip(), fields[1].strip()))
    return pairs


def references(folder: str | os.PathLike, split: str) -> dict[str, list[str]]:
    """source -> its targets (file order), read from ``folder/<split>.tsv`` (``read_pairs``)."""
    path = pathlib.Path(folder) / SPLIT_FILES[split]
    refs: dict[str, list[str]] = {}
    for source, target in read_pairs(path):
        if target not in refs.setdefault(source, []):
            refs[source].append(target)
    if not refs:
        raise ValueError(f"{path} holds no 'source<TAB>target' pairs")
    return refs


def dataset(folder: str) -> Dataset:
    """The declaration of a folder dataset (named by its path, as a recipe names it)."""
    return Dataset(name=folder, references=functools.partial(references, folder), metrics=TEXT_METRICS,
                   selection="wer",
                   about=f"Your own data: `train.tsv`, `dev.tsv` and `test.tsv` in `{folder}` (`zoo/data/files.py`).")
