"""Strings in, strings out: a model family with its tokenizers, length limits and decoder."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from zoo import decoding
from zoo.models.base import Seq2Seq
from zoo.text.tokenizer import Tokenizer


@dataclasses.dataclass
class Hypothesis:
    """One decoded output: its text, tokens, score (sum of token log-probabilities, </s> included)
    and attention (len(tokens) + 1 for </s>, len(source_tokens)), when the family has attention."""

    text: str
    tokens: list[str]
    score: float
    source_tokens: list[str]
    attention: np.ndarray


class Predictor:
    """Predicts with a seq2seq family.

    Args:
        model: a family following ``zoo.models.base.Seq2Seq``.
        source_tokenizer, target_tokenizer: in-graph tokenizers with their vocabularies.
        max_source_length: longest accepted input, in source tokens (longer input is an error).
        max_target_length: decoding stops after this many output tokens.
    """

    def __init__(self, model: Seq2Seq, source_tokenizer: Tokenizer, target_tokenizer: Tokenizer,
                 max_source_length: int, max_target_length: int, name: str | None = None):
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.name = name
        self._greedy = decoding.compile_decoder(
            lambda source_ids: decoding.greedy(model, source_ids, max_length=max_target_length + 1)
        )

    def encode_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, list[list[str]]]:
        """Validates and tokenizes texts -> ((batch, src_len) int32 right-padded ids, source tokens)."""
        if isinstance(texts, (str, bytes)):
            raise TypeError(f"texts must be a list of strings, got a single {type(texts).__name__}: "
                            f"wrap it in a list, e.g. predict([{texts!r}])")
        try:
            texts = list(texts)
        except TypeError:
            raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}") from None
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}] must be a str, got {type(text).__name__}: {text!r}")
            if not text.strip():
                raise ValueError(f"texts[{i}] is empty or only whitespace: {text!r}")
        if not texts:
            return np.zeros((0, 1), "int32"), []
        import tensorflow as tf

        strings = tf.constant(texts)
        ids = self.source_tokenizer.encode(strings)
        lengths = ids.row_lengths().numpy()
        for i, n in enumerate(lengths):
            if n > self.max_source_length:
                raise ValueError(f"texts[{i}] has {n} tokens, more than this model's limit of "
                                 f"{self.max_source_length}: {texts[i][:40]!r}...")
        tokens = [[t.decode("utf-8") for t in row] for row in self.source_tokenizer.tokenize(strings).to_list()]
        return ids.to_tensor(default_value=0).numpy().astype("int32"), tokens

    def decode(self, texts: Sequence[str], batch_size: int = 256) -> list[Hypothesis]:
        """Greedy-decodes each text into a ``Hypothesis``."""
        source_ids, source_tokens = self.encode_texts(texts)
        vocabulary = self.target_tokenizer.vocabulary
        out: list[Hypothesis] = []
        for start in range(0, len(source_ids), batch_size):
            batch = source_ids[start:start + batch_size]
            batch = batch[:, : max(1, int((batch != 0).sum(axis=1).max()))]  # trim shared padding
            result = self._greedy(batch)
            ids, lengths = np.asarray(result.ids), np.asarray(result.lengths)
            scores, attention = np.asarray(result.scores), np.asarray(result.attention)
            for row in range(len(batch)):
                tokens = vocabulary.tokens_of(ids[row])
                src = source_tokens[start + row]
                out.append(Hypothesis(
                    text=self.target_tokenizer.joiner.join(tokens), tokens=tokens, score=float(scores[row]),
                    source_tokens=src, attention=attention[row, : int(lengths[row]) + 1, : len(src)],
                ))
        return out

    def predict(self, texts: Sequence[str], batch_size: int = 256) -> list[str]:
        """Texts -> predicted output strings (greedy decoding)."""
        return [h.text for h in self.decode(texts, batch_size=batch_size)]
