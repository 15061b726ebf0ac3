"""Model families behind one contract (see ``zoo.models.base``)."""
from zoo.models.bahdanau import Bahdanau
from zoo.models.base import Seq2Seq
from zoo.models.cho import Cho
from zoo.models.luong import Luong
from zoo.models.rnn_seq2seq import RNNSeq2Seq

FAMILIES = {cls.family: cls for cls in (RNNSeq2Seq, Cho, Bahdanau, Luong)}


def build(family: str, config: dict) -> Seq2Seq:
    """Builds a family from its name and constructor config."""
    if family not in FAMILIES:
        raise ValueError(f"Unknown model family {family!r}; known: {sorted(FAMILIES)}")
    return FAMILIES[family].from_config(config)


__all__ = ["Seq2Seq", "RNNSeq2Seq", "Cho", "Bahdanau", "Luong", "FAMILIES", "build"]
