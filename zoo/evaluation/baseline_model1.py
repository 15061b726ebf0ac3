"""A word-by-word translation baseline: IBM Model 1 (Brown et al., 1993), a few seconds of numpy.

``train`` estimates the lexical table t(target word | source word) by expectation-maximisation on a
dataset's training pairs (lowercased word and punctuation tokens, a NULL source word, uniform start);
``Model1.translate`` replaces each source token by its most probable target word (an unknown word is
copied; a capitalised source word gets a capitalised translation) and joins them back into text.
``evaluate`` scores that on a split as the dataset declares (BLEU and chrF, sacrebleu defaults: 13a
tokenization), beside copying the source, which any model must beat by far.

    python -m zoo.evaluation.baseline_model1 bible-en-es bible-es-en libreoffice-en-es libreoffice-es-en

prints one row per dataset. The translation models' cards report their figures against it.
"""
from __future__ import annotations

import argparse
import collections
import re
import time
from typing import Iterable, Sequence

import numpy as np

from zoo import data

NULL = "<null>"
ITERATIONS = 5
CHUNK = 4000  # sentence pairs per E-step batch (bounds the memory of the alignment arrays)
_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Word and punctuation tokens, as written (``"Moses’ minister,"`` -> ``Moses ’ minister ,``)."""
    return _TOKEN.findall(text)


def detokenize(tokens: Sequence[str]) -> str:
    """Tokens joined by spaces, with none before closing punctuation or after an opening one."""
    text = " ".join(tokens)
    text = re.sub(r" ([,.;:!?)’»])", r"\1", text)
    return re.sub(r"([¿¡(«]) ", r"\1", text)


class Model1:
    """A trained lexical table: ``best`` maps each lowercased source word to its most probable
    target word (None where the NULL word explains it better than any word: never, in practice)."""

    def __init__(self, best: dict[str, str], iterations: int, pairs: int):
        self.best, self.iterations, self.pairs = best, iterations, pairs

    def translate_tokens(self, tokens: Sequence[str]) -> list[str]:
        out = []
        for token in tokens:
            word = self.best.get(token.lower())
            if word is None:
                out.append(token)  # unseen: names and numbers mostly survive unchanged
            elif token[:1].isupper() and word[:1].islower():
                out.append(word[:1].upper() + word[1:])
            else:
                out.append(word)
        return out

    def translate(self, sentences: Iterable[str]) -> list[str]:
        return [detokenize(self.translate_tokens(tokenize(sentence))) for sentence in sentences]


def train(pairs: Sequence[tuple[str, str]], iterations: int = ITERATIONS) -> Model1:
    """IBM Model 1 by EM on (source, target) pairs -> the table's argmax per source word.

    The E-step works on word types per sentence pair, weighted by their counts (a target word type
    seen n times, a source type m times: the same figures as token by token), in chunks of ``CHUNK``
    pairs; every step is a numpy gather, ``bincount`` or divide over the co-occurring (source type,
    target type) combinations, each mapped once to its slot of the sparse table."""
    source_vocab, target_vocab = {NULL: 0}, {}
    sentences = []  # (source type ids, their counts, target type ids, their counts)
    for source, target in pairs:
        target_types = _types([t.lower() for t in tokenize(target)], target_vocab)
        if len(target_types[0]):
            sentences.append((*_types([NULL] + [t.lower() for t in tokenize(source)], source_vocab), *target_types))
    n_target = len(target_vocab)

    chunks = [_combinations(sentences[start:start + CHUNK], n_target) for start in range(0, len(sentences), CHUNK)]
    keys = np.concatenate([chunk[0] for chunk in chunks])
    if len(source_vocab) * n_target < 2 ** 31:
        keys = keys.astype(np.int32)  # sorts faster
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    new = np.r_[True, ordered[1:] != ordered[:-1]]
    slots = ordered[new].astype(np.int64)  # the distinct keys, sorted
    slot_of = np.empty(len(keys), np.int32)
    slot_of[order] = np.cumsum(new) - 1
    start = 0
    for chunk in chunks:  # key -> slot
        chunk[0], start = slot_of[start:start + len(chunk[0])], start + len(chunk[0])
    del keys, order, ordered, new, slot_of
    slot_source = (slots // n_target).astype(np.int32)
    slot_target = (slots % n_target).astype(np.int32)

    table = np.full(len(slots), 1.0 / n_target)  # t(target | source), uniform
    for _ in range(iterations):
        counts = np.zeros(len(slots))
        for slot, group, source_counts, target_counts, n_groups in chunks:
            weight = table[slot] * source_counts
            total = np.bincount(group, weights=weight, minlength=n_groups)
            counts += np.bincount(slot, weights=weight * target_counts / total[group], minlength=len(slots))
        per_source = np.bincount(slot_source, weights=counts, minlength=len(source_vocab))
        table = counts / per_source[slot_source]

    # argmax per source word: sort the slots by (source, probability) and keep each source's last
    order = np.lexsort((table, slot_source))
    last = np.r_[slot_source[order][1:] != slot_source[order][:-1], True]
    words = {i: w for w, i in target_vocab.items()}
    sources = {i: w for w, i in source_vocab.items()}
    best = {sources[s]: words[t] for s, t in zip(slot_source[order][last], slot_target[order][last]) if s != 0}
    return Model1(best, iterations, len(pairs))


def _types(tokens: list[str], vocab: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    counted = collections.Counter(vocab.setdefault(token, len(vocab)) for token in tokens)
    return np.fromiter(counted.keys(), np.int64, len(counted)), np.fromiter(counted.values(), np.float64, len(counted))


def _combinations(part, n_target: int) -> list:
    """Every (source type, target type) of each sentence pair of ``part`` -> [table key (source x
    n_target + target), group (the pair's target type: what the E-step normalises over), source type
    count, target type count, number of groups]."""
    source_len = np.array([len(s) for s, _, _, _ in part])
    target_len = np.array([len(t) for _, _, t, _ in part])
    source_ids = np.concatenate([s for s, _, _, _ in part])
    source_counts = np.concatenate([c for _, c, _, _ in part])
    target_ids = np.concatenate([t for _, _, t, _ in part])
    target_counts = np.concatenate([c for _, _, _, c in part])
    source_start = np.cumsum(source_len) - source_len
    target_start = np.cumsum(target_len) - target_len
    sizes = source_len * target_len
    sentence = np.repeat(np.arange(len(part)), sizes)
    k = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # index within the pair
    width = target_len[sentence]
    source = source_start[sentence] + k // width
    group = target_start[sentence] + k % width
    key = source_ids[source] * n_target + target_ids[group]
    return [key, group.astype(np.int32), source_counts[source], target_counts[group], len(target_ids)]


def evaluate(dataset: str, split: str = "test", iterations: int = ITERATIONS, max_examples: int | None = None,
             model: Model1 | None = None) -> dict:
    """Trains on the dataset's train split (unless ``model`` is given), translates the split's sources
    (the first ``max_examples``) and scores them as the dataset declares, and copying the source ->
    {each metric key, "copy_<key>", "count", "train_pairs", "seconds"}."""
    declared = data.get(dataset)
    start = time.perf_counter()
    model = model or train(data.load(dataset, "train"), iterations)
    references = data.references(dataset, split)
    sources = list(references)[:max_examples]
    wanted = [references[s] for s in sources]
    scores = declared.score(model.translate(sources), wanted)
    copied = declared.score(sources, wanted)
    return {**scores, **{f"copy_{key}": value for key, value in copied.items()}, "count": len(sources),
            "train_pairs": model.pairs, "seconds": round(time.perf_counter() - start, 1)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="IBM Model 1 word-by-word baseline: train on a dataset's "
                                                 "train split, score a split (BLEU, chrF; sacrebleu 13a).")
    parser.add_argument("datasets", nargs="+", metavar="DATASET", help="e.g. bible-en-es libreoffice-es-en")
    parser.add_argument("--split", default="test")
    parser.add_argument("--iterations", type=int, default=ITERATIONS)
    args = parser.parse_args(argv)
    print(f"IBM Model 1 word by word, {args.iterations} EM iterations, {args.split} split (sacrebleu defaults)")
    print(f"{'dataset':<20} {'sources':>7} {'BLEU':>6} {'chrF':>6} {'copy BLEU':>10} {'copy chrF':>10} {'seconds':>8}")
    for dataset in args.datasets:
        result = evaluate(dataset, args.split, args.iterations)
        print(f"{dataset:<20} {result['count']:>7} {result['bleu']:>6.1f} {result['chrf']:>6.1f} "
              f"{result['copy_bleu']:>10.1f} {result['copy_chrf']:>10.1f} {result['seconds']:>8.1f}")


if __name__ == "__main__":
    main()
