"""What a model's outputs are made of, beside their scores: how much a copy model copies, whether it
writes the reference's rare words, and whether it stutters (a summarizer's known failures, See et al. 2017).

``output_statistics(hypotheses, references, tokenizer)`` with the model's target ``Tokenizer`` (its split
rule and vocabulary) -> percentages:

- ``copied``: output tokens outside the target vocabulary, of all output tokens. A model can only write
  such a token by copying it from its source (a pointer-generator's extended vocabulary).
- ``reference_oov_produced``: reference tokens outside the target vocabulary that the output holds, of
  all such reference tokens (the first reference of each example); ``reference_oov`` counts them.
- ``unknown``: output tokens that are ``<unk>``, of all output tokens: what a model without copy writes
  where the summary needs a word outside its vocabulary.
- ``repeat_3``: outputs in which one token comes three times in a row ("the the the").
"""
from __future__ import annotations

from typing import Sequence

from zoo.text.vocab import RESERVED, UNK_ID


def output_statistics(hypotheses: Sequence[str], references: Sequence[Sequence[str]], tokenizer) -> dict:
    """See the module docstring. ``references``: each example's acceptable targets (the first is used)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")

    known = set(tokenizer.vocabulary.tokens)
    outputs, wanted = tokens_of(tokenizer, hypotheses), tokens_of(tokenizer, [r[0] for r in references])
    written = sum(len(row) for row in outputs)
    copied = sum(token not in known for row in outputs for token in row)
    unknown = sum(token == RESERVED[UNK_ID] for row in outputs for token in row)
    oov = [(token, set(row)) for reference, row in zip(wanted, outputs) for token in reference if token not in known]
    produced = sum(token in row for token, row in oov)
    repeats = sum(any(row[i] == row[i + 1] == row[i + 2] for i in range(len(row) - 2)) for row in outputs)
    return {"copied": round(100.0 * copied / max(written, 1), 2),
            "reference_oov_produced": round(100.0 * produced / max(len(oov), 1), 2), "reference_oov": len(oov),
            "unknown": round(100.0 * unknown / max(written, 1), 2),
            "repeat_3": round(100.0 * repeats / max(len(outputs), 1), 2)}


def tokens_of(tokenizer, texts: Sequence[str]) -> list[list[str]]:
    """Texts -> each one's tokens under ``tokenizer``'s split rule, as Python strings."""
    import tensorflow as tf

    if not texts:
        return []
    return [[t.decode("utf-8") for t in row] for row in tokenizer.tokenize(tf.constant(list(texts))).to_list()]
