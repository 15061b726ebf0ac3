"""The frontend contract: raw inputs (what a user or a TF Serving request holds) -> model input.

A frontend is the ONE place that turns raw inputs into a model's source and that validates them.
tf.data pipelines, the ``Predictor`` and the exported SavedModel all call the same ``decode``, so a
rule for empty, too long or malformed input is written once:

- ``pipeline`` drops such rows (counting them by reason),
- ``Predictor`` raises a ``ValueError`` naming the input (``inputs[i]``) and the reason,
- the SavedModel answers the row with an empty output, score 0 and the reason in ``error``.

``decode`` uses TensorFlow string/bytes ops only (servable: no py_function), never raises on
bad content and always returns a well-formed placeholder for a bad row (length >= 1), so a batch
with one bad row still decodes the others. Everything numeric after that (embedding, log-mel,
CNN) is a Keras layer inside the model.

Contract (``kind`` names the modality: "text", "audio", "image"):

    prepare(inputs: list) -> list[str | bytes]     Python side, before the graph: a user's inputs
        (strings; WAV/PNG/JPEG bytes or a path) -> the raw values ``decode`` reads; a TypeError
        naming ``inputs[i]`` for a value of the wrong type. No content checks here.
    decode(raw: (batch,) tf.string) -> dict
        "source":        (batch, ...) the model's input, right-padded (dtype and shape per kind)
        "source_length": (batch,) int32, the real length along axis 1 (>= 1, also for bad rows)
        "error":         (batch,) tf.string, "" for a usable row, else why not, e.g.
                         "empty", "not a WAV file", "12.0 s long, more than the 8.0 s limit"
        and per kind extras (text: "source_tokens" (batch, src_len) strings for attention labels;
        audio: "blank" (batch,) bool, a usable row whose answer is empty by rule (silence): the
        ``Predictor`` and the export answer it with an empty output and score 0, whatever the model decodes).
    get_config() -> dict  JSON constructor arguments, "kind" included; ``from_config`` inverts it.
"""
from __future__ import annotations

import os
import pathlib

import tensorflow as tf


class Frontend(tf.Module):
    """Base class of the frontends (see the module docstring)."""

    kind: str = ""
    input_signature = tf.TensorSpec([None], tf.string, name="inputs")
    # True when "source" is padded along axis 1 to the batch's longest "source_length" (text, audio),
    # so a batch may drop the padding columns all its rows share; False for fixed-size sources.
    variable_length: bool = True

    def error_message(self, index: int, raw, error: str) -> str:
        """The ``ValueError`` text for input ``index`` whose ``decode`` error is ``error``."""
        return f"inputs[{index}]: {error}"

    def prepare(self, inputs) -> list:
        raise NotImplementedError

    def decode(self, raw: tf.Tensor) -> dict:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError


def check_input_list(inputs, what: str = "inputs") -> list:
    """A user's batch -> a list; a single str/bytes, or no sequence at all, is a TypeError."""
    if isinstance(inputs, (str, bytes)):
        raise TypeError(f"{what} must be a list, got a single {type(inputs).__name__}: wrap it in a list, "
                        f"e.g. predict([{inputs[:40]!r}])")
    try:
        return list(inputs)
    except TypeError:
        raise TypeError(f"{what} must be a list, got {type(inputs).__name__}") from None


def read_bytes_inputs(inputs, kind: str) -> list[bytes]:
    """Media inputs (bytes, or a path as str / os.PathLike to a file) -> bytes; a TypeError or
    FileNotFoundError naming ``inputs[i]`` otherwise."""
    out = []
    for i, item in enumerate(check_input_list(inputs)):
        if isinstance(item, (bytes, bytearray, memoryview)):
            out.append(bytes(item))
        elif isinstance(item, (str, os.PathLike)):
            path = pathlib.Path(item)
            if not path.is_file():
                raise FileNotFoundError(f"inputs[{i}]: {str(item)[:80]!r} is not a file (pass {kind} bytes or a path)")
            out.append(path.read_bytes())
        else:
            raise TypeError(f"inputs[{i}] must be {kind} bytes or a path, got {type(item).__name__}")
    return out
