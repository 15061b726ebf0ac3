"""Model families behind one contract (see ``zoo.models.base``)."""
import keras

from zoo.models.bahdanau import Bahdanau
from zoo.models.base import Seq2Seq
from zoo.models.cho import Cho
from zoo.models.las import LAS
from zoo.models.luong import Luong
from zoo.models.pointer_generator import PointerGenerator
from zoo.models.rnn_seq2seq import RNNSeq2Seq
from zoo.models.show_attend_tell import ShowAttendTell

FAMILIES = {cls.family: cls for cls in (RNNSeq2Seq, Cho, Bahdanau, Luong, PointerGenerator, ShowAttendTell, LAS)}
# Keras dtype policies a model may compute in. The mixed ones compute in float16 / bfloat16 and keep
# float32 weights (so a checkpoint loads under any of them) and float32 logits.
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def build(family: str, config: dict, precision: str = "float32") -> Seq2Seq:
    """Builds a family from its name and constructor config, its layers computing in ``precision``
    (one of ``PRECISIONS``); the global Keras dtype policy is left as it was."""
    if family not in FAMILIES:
        raise ValueError(f"Unknown model family {family!r}; known: {sorted(FAMILIES)}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)  # layers take the policy in force when they are made
    try:
        return FAMILIES[family].from_config(config)
    finally:
        keras.config.set_dtype_policy(previous)


__all__ = ["Seq2Seq", "RNNSeq2Seq", "Cho", "Bahdanau", "Luong", "PointerGenerator", "ShowAttendTell", "LAS", "FAMILIES",
           "PRECISIONS", "build"]
