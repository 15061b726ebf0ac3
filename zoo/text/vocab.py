"""Vocabularies saved as plain text: one token per line, the line number is the id.

Ids 0..3 are reserved in every vocabulary so models, pipelines and decoders can rely on them:
``<pad>`` = 0 (padding, masked everywhere), ``<s>`` = 1 (decoder start), ``</s>`` = 2 (end of
sequence), ``<unk>`` = 3 (any token the vocabulary does not know).
"""
from __future__ import annotations

import collections
import os
from typing import Iterable, Sequence

PAD, START, END, UNK = "<pad>", "<s>", "</s>", "<unk>"
RESERVED = (PAD, START, END, UNK)
PAD_ID, START_ID, END_ID, UNK_ID = range(4)


class Vocabulary:
    """An ordered token list; reserved tokens first."""

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        if tuple(tokens[: len(RESERVED)]) != RESERVED:
            tokens = list(RESERVED) + [t for t in tokens if t not in RESERVED]
        if len(set(tokens)) != len(tokens):
            raise ValueError("Vocabulary tokens must be unique.")
        for token in tokens:
            if not token or any(ch in token for ch in "\n\r"):
                raise ValueError(f"Vocabulary token {token!r} is empty or contains a newline.")
        self.tokens = tokens
        self._ids = {t: i for i, t in enumerate(tokens)}

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], min_count: int = 1) -> "Vocabulary":
        """Builds a vocabulary from tokenized sequences, most frequent first (ties: alphabetical)."""
        counts = collections.Counter(t for seq in sequences for t in seq)
        kept = [t for t, c in counts.items() if c >= min_count and t not in RESERVED]
        kept.sort(key=lambda t: (-counts[t], t))
        return cls(kept)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocabulary":
        with open(path, encoding="utf-8") as f:
            return cls([line.rstrip("\n") for line in f if line.rstrip("\n")])

    def save(self, path: str | os.PathLike) -> None:
        from zoo.io import atomic_write_text

        atomic_write_text(path, "".join(t + "\n" for t in self.tokens))

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self.tokens == other.tokens

    def id(self, token: str) -> int:
        return self._ids.get(token, UNK_ID)

    def tokens_of(self, ids: Iterable[int]) -> list[str]:
        """Ids -> tokens, stopping at ``</s>`` and skipping ``<pad>``/``<s>``."""
        out = []
        for i in ids:
            i = int(i)
            if i == END_ID:
                break
            if i in (PAD_ID, START_ID):
                continue
            out.append(self.tokens[i] if 0 <= i < len(self.tokens) else UNK)
        return out
