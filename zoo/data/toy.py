"""Learnable toy tasks for tests and tutorials: reverse or sort a random digit string.

Sources are digit characters (``"3 1 4"`` style is not used: a source is ``"314"``), targets are
space-separated digits so the target side exercises the whitespace tokenizer.
"""
from __future__ import annotations

import random

TASKS = ("reverse", "sort")


def make(task: str, count: int, min_len: int = 3, max_len: int = 8, seed: int = 0) -> list[tuple[str, str]]:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        digits = [rng.choice("0123456789") for _ in range(rng.randint(min_len, max_len))]
        out = digits[::-1] if task == "reverse" else sorted(digits)
        pairs.append(("".join(digits), " ".join(out)))
    return pairs
