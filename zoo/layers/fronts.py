"""Source fronts: a model's numeric input layers for sources that are not token ids.

A family built with ``source={"kind": "audio" | "image", ...}`` reads the matching frontend's output
(``zoo.frontends``) and turns it into features and a mask for its RNN encoder, inside the model, so
the JAX trainer, averaging and the export run the same graph:

- ``AudioFront``: waveform (batch, samples) float32 + lengths -> log-mel frames (``LogMelSpectrogram``)
  -> SpecAugment (training only) -> ``stack`` frames stacked into one -> (batch, frames', mels * stack).
- ``ImageFront``: image (batch, height, width, 3) uint8 -> ``ConvGrid`` cells (batch, H' * W', filters[-1]),
  in ``order`` "rows" (row-major, as the grid is read) or "columns" (column by column, top to bottom:
  left-to-right reading order), or "strip": one memory position per grid column, its H' cells
  concatenated (batch, W', H' * filters[-1]), for one line of text or digits. Every position is
  real: the mask is all true.

Each front has ``inputs()``: the trainer's {"source", "source_length"} ``keras.Input``s, and is called as
``features, mask = front(source, source_length)``. ``build_front(config)`` makes one from a family's
``source`` config (its ``get_config`` mirrors it).
Backend-agnostic: ``keras.layers`` and ``keras.ops`` only.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from zoo.layers.sources import ConvGrid, LogMelSpectrogram, SpecAugment, StackFrames

ORDERS = ("rows", "columns", "strip")


@keras.saving.register_keras_serializable(package="zoo")
class AudioFront(keras.layers.Layer):
    """Waveforms -> stacked log-mel frames and their mask (see the module docstring).

    Args: sample_rate, frame_length, frame_step, fft_length, num_mels (``LogMelSpectrogram``);
    stack: frames per encoder step; spec_augment: {freq_masks, freq_width, time_masks, time_width} or
    None (off).
    """

    def __init__(self, sample_rate: int = 16000, frame_length: int = 400, frame_step: int = 160,
                 fft_length: int = 512, num_mels: int = 40, stack: int = 3, spec_augment: dict | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.settings = dict(sample_rate=sample_rate, frame_length=frame_length, frame_step=frame_step,
                             fft_length=fft_length, num_mels=num_mels, stack=stack, spec_augment=spec_augment)
        self.log_mel = LogMelSpectrogram(sample_rate, frame_length, frame_step, fft_length, num_mels, name="log_mel")
        self.spec_augment = SpecAugment(**spec_augment, name="spec_augment") if spec_augment else None
        self.stacker = StackFrames(stack, name="stack_frames")
        self.output_units = num_mels * stack

    def build(self, waveform_shape, lengths_shape=None):
        pass  # no weights of its own; the log-mel filterbank is a constant

    @staticmethod
    def inputs() -> dict:
        return {"source": keras.Input((None,), dtype="float32", name="source"),
                "source_length": keras.Input((), dtype="int32", name="source_length")}

    def call(self, waveform, lengths, training=None):
        features, frames = self.log_mel(waveform, lengths)  # (batch, frames, mels), (batch,)
        if self.spec_augment is not None:
            features = self.spec_augment(features, frames, training=training)
        features, frames = self.stacker(features, frames)  # (batch, frames', mels * stack)
        mask = ops.cumsum(ops.ones_like(features[:, :, 0], dtype="int32"), axis=1) <= frames[:, None]
        return features, mask

    def compute_output_spec(self, waveform, lengths, training=None):
        features, _ = self.stacker.compute_output_spec(*self.log_mel.compute_output_spec(waveform, lengths))
        return features, keras.KerasTensor(features.shape[:2], dtype="bool")

    def get_config(self):
        return {**super().get_config(), **self.settings}


def grid_sinusoids(rows: int, columns: int, channels: int) -> np.ndarray:
    """(rows * columns, channels) float32, row-major: the first half of the channels are sin / cos pairs
    of the cell's row at wavelengths 2 pi to 2 pi * 10000 (Vaswani et al. 2017), the second half the
    same of its column (as DETR's 2D encoding); an odd last channel is 0."""
    half = channels // 2
    frequencies = 1.0 / 10000.0 ** (np.arange(half // 2) / max(half // 2, 1))  # (half / 2,)

    def waves(index):  # (n,) -> (n, half)
        angles = index[:, None] * frequencies[None, :]
        return np.stack([np.sin(angles), np.cos(angles)], axis=-1).reshape(len(index), -1)

    row, column = np.divmod(np.arange(rows * columns, dtype="float64"), columns)
    table = np.zeros((rows * columns, channels))
    table[:, : 2 * (half // 2)] = waves(row)
    table[:, half: half + 2 * (half // 2)] = waves(column)
    return table.astype("float32")


@keras.saving.register_keras_serializable(package="zoo")
class ImageFront(keras.layers.Layer):
    """Images -> CNN grid cells in reading ``order`` and an all-true mask (see the module docstring).

    Args: height, width: the frontend's image size; filters, kernel_size, pool, groups, standardize (``ConvGrid``);
    order;
    invert: read 255 - pixel ("ink"), for dark-on-light pictures such as text or digit strips: with a
    white page as the large input, a toy strip reader learned several times slower;
    positions: add a learned vector per grid cell (H' * W', C) to the cells, initialised to 2D
    sinusoids of its row and column (``grid_sinusoids``). A CNN's cells say what is there, not where
    (its receptive fields are local), so a captioner that must read the cells in an order ("4 0 7 1",
    left to right) has nothing to locate the next one by; with this it does, and as the sinusoids
    start it, a step to the right is the same linear map from every cell.
    """

    def __init__(self, height: int = 32, width: int = 128, filters=(32, 64), kernel_size: int = 3, pool: int = 2,
                 groups: int | None = None, standardize: bool = False, order: str = "rows", invert: bool = False,
                 positions: bool = False, **kwargs):
        super().__init__(**kwargs)
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        if not isinstance(positions, bool):
            raise ValueError(f"positions must be True or False, got {positions!r}")
        self.height, self.width, self.order, self.invert, self.positions = height, width, order, invert, positions
        self.grid = ConvGrid(tuple(filters), kernel_size, pool, groups, standardize, name="conv_grid")
        # Each cell's features standardised: a plain page makes every cell nearly alike, and without it
        # the strokes' small differences barely reach the encoder (a toy strip model did not learn at all).
        self.norm = keras.layers.LayerNormalization(name="cell_norm")
        self.grid_shape = self.grid.grid_shape(height, width)  # (H', W')
        rows = self.grid_shape[0]
        self.output_units = self.grid.filters[-1] * (rows if order == "strip" else 1)

    def inputs(self) -> dict:
        return {"source": keras.Input((self.height, self.width, 3), dtype="uint8", name="source"),
                "source_length": keras.Input((), dtype="int32", name="source_length")}

    def build(self, images_shape, lengths_shape=None):
        self.grid.build(images_shape)
        self.norm.build((None, None, self.grid.filters[-1]))
        if self.positions:
            self.cell_positions = self.add_weight(
                shape=(self.grid_shape[0] * self.grid_shape[1], self.grid.filters[-1]), name="cell_positions",
                initializer=keras.initializers.Constant(grid_sinusoids(*self.grid_shape, self.grid.filters[-1])))

    def call(self, images, lengths, training=None):
        if self.invert:  # ink: dark strokes on a light page become the large values
            images = ops.cast(255 - ops.cast(images, "int32"), "uint8")
        cells = self.norm(self.grid(images))  # (batch, H' * W', C), row-major
        if self.positions:
            cells = cells + ops.cast(self.cell_positions, cells.dtype)[None]  # (batch, H' * W', C)
        if self.order != "rows":
            rows, columns = self.grid_shape
            cells = ops.reshape(cells, (-1, rows, columns, self.grid.filters[-1]))
            cells = ops.transpose(cells, (0, 2, 1, 3))  # (batch, W', H', C)
            cells = ops.reshape(cells, (-1, rows * columns, self.grid.filters[-1]) if self.order == "columns"
                                else (-1, columns, rows * self.grid.filters[-1]))
        mask = ops.ones_like(cells[:, :, 0], dtype="bool")  # (batch, cells)
        return cells, mask

    def compute_output_spec(self, images, lengths, training=None):
        batch = images.shape[0]
        positions = self.grid_shape[1] if self.order == "strip" else self.grid_shape[0] * self.grid_shape[1]
        return (keras.KerasTensor((batch, positions, self.output_units), dtype=self.compute_dtype),
                keras.KerasTensor((batch, positions), dtype="bool"))

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "filters": list(self.grid.filters), "kernel_size": self.grid.kernel_size, "pool": self.grid.pool,
                "groups": self.grid.groups, "standardize": self.grid.standardize, "order": self.order, "invert": self.invert,
                "positions": self.positions}


FRONTS = {"audio": AudioFront, "image": ImageFront}


def build_front(config: dict) -> keras.layers.Layer:
    """A family's ``source`` config ({"kind": "audio" | "image", **the front's arguments}) -> the front."""
    config = dict(config)
    kind = config.pop("kind", None)
    if kind not in FRONTS:
        raise ValueError(f"source kind must be one of {sorted(FRONTS)} (or no source config: token ids), got {kind!r}")
    return FRONTS[kind](**config, name="source_front")
