"""Attention heatmaps with matplotlib, drawn by Agg (no display needed): one call in a notebook,
PNG files for ``zoo predict --attention`` and images for TensorBoard.

    fig = zoo.plot_attention(model, "attention", beam_size=4)   # a Figure: a notebook shows it
    fig.savefig("attention.png")

Rows are the output tokens (and ``</s>``), columns the source tokens; row t holds the attention
weights behind output token t, so each row sums to 1. The colour scale is fixed to [0, 1], so maps
of different epochs or models compare at a glance. No TensorFlow here: models are only decoded.
"""
from __future__ import annotations

import io
import textwrap
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from zoo.text.vocab import END

DPI = 100
FONT_SIZE = 9
CELL = 0.3  # inches per token on both axes (square cells)
MAX_GRID = 14.0  # inches: longer sequences get smaller cells instead of an ever bigger picture
CHAR = 0.075  # inches per label character at FONT_SIZE
MIN_WIDTH = 4.0  # inches, room for a readable title
TITLE_LINES = 3


class AttentionFigure(Figure):
    """A matplotlib ``Figure`` on an Agg canvas. A notebook shows it as a PNG even without pyplot
    (it is never registered with pyplot, so a training loop drawing many of them leaks none)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        FigureCanvasAgg(self)

    def _repr_png_(self) -> bytes:
        return figure_png(self)


def figure_png(figure: Figure) -> bytes:
    """The figure as PNG bytes, at its own size and dpi (user rcParams such as bbox=tight ignored)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def figure_rgb(figure: Figure) -> np.ndarray:
    """The figure rendered by Agg -> (height, width, 3) uint8 pixels, height = figure height x dpi."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def figure_size(rows: Sequence[str], columns: Sequence[str], title_lines: int) -> tuple[float, float]:
    """(width, height) in inches for a heatmap of len(rows) x len(columns) square cells, room for
    the longest tick label on each axis, a colorbar and ``title_lines`` lines of title."""
    cell = min(CELL, MAX_GRID / max(len(rows), len(columns)))
    row_labels = CHAR * max(map(len, rows))
    column_labels = CHAR * max(map(len, columns))
    width = max(MIN_WIDTH, cell * len(columns) + row_labels + 1.6)  # + axis label, colorbar
    height = cell * len(rows) + column_labels + 0.8 + 0.2 * title_lines  # + axis label, title
    return round(width, 2), round(height, 2)


def _wrap(title: str, characters: int) -> list[str]:
    """Title lines of at most ``characters``, at most ``TITLE_LINES`` of them (cut with '…')."""
    lines = [part for line in title.splitlines() for part in textwrap.wrap(line, characters) or [""]]
    if len(lines) > TITLE_LINES:
        lines = lines[:TITLE_LINES]
        lines[-1] = lines[-1][: characters - 1] + "…"
    return lines


def attention_figure(attention, source_tokens: Sequence[str], output_tokens: Sequence[str],
                     title: str = "") -> AttentionFigure:
    """Heatmap of ``attention`` (len(output_tokens), len(source_tokens)) with the tokens as tick
    labels, a [0, 1] colorbar and ``title`` (wrapped to the figure's width, at most 3 lines)."""
    attention = np.asarray(attention, dtype=np.float32)
    expected = (len(output_tokens), len(source_tokens))
    if attention.shape != expected or not attention.size:
        raise ValueError(f"attention must have shape (len(output_tokens), len(source_tokens)) = {expected}, "
                         f"both > 0; got {attention.shape}")
    width, _ = figure_size(output_tokens, source_tokens, 0)
    lines = _wrap(title, characters=int((width - 0.3) / CHAR))
    figure = AttentionFigure(figsize=figure_size(output_tokens, source_tokens, len(lines)), dpi=DPI,
                             layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(attention, cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
    long_labels = max(map(len, source_tokens)) > 2
    axes.set_xticks(range(len(source_tokens)), source_tokens, rotation=90 if long_labels else 0,
                    fontsize=FONT_SIZE, parse_math=False)
    axes.set_yticks(range(len(output_tokens)), output_tokens, fontsize=FONT_SIZE, parse_math=False)
    axes.set_xlabel("source", fontsize=FONT_SIZE)
    axes.set_ylabel("output", fontsize=FONT_SIZE)
    figure.suptitle("\n".join(lines), fontsize=FONT_SIZE + 1, parse_math=False)
    figure.colorbar(image, ax=axes, label="attention weight")
    return figure


def hypothesis_figure(text: str, hypothesis, decoding: str = "greedy") -> AttentionFigure:
    """The attention of one decoded ``zoo.predictor.Hypothesis`` of ``text``: rows are its tokens
    then ``</s>`` (absent when decoding stopped at the length limit); ``decoding`` names the search
    in the title."""
    attention = np.asarray(hypothesis.attention)
    rows = (list(hypothesis.tokens) + [END])[: len(attention)]
    title = f"{text}\n→ {hypothesis.text}  ({decoding}, log-prob {hypothesis.score:.2f})"
    return attention_figure(attention, hypothesis.source_tokens, rows, title)


def decoding_name(beam_size: int) -> str:
    """The title's name of a search: 'greedy' or 'beam 4, best'."""
    return "greedy" if beam_size == 1 else f"beam {beam_size}, best"


def check_has_attention(model) -> None:
    """Raises a ``ValueError`` naming the model when its family computes no attention."""
    family = model.model
    if not family.has_attention:
        raise ValueError(f"model {model.name or ''!r} (family {family.family!r}) has no attention: "
                         f"there is no attention map to plot")


PANEL = 1.6  # inches per word panel of an image model's figure
PANELS_PER_ROW = 6


def cell_weights(weights: np.ndarray, grid_shape: tuple[int, int], order: str) -> np.ndarray:
    """One output token's attention over an image front's memory, (positions,) in its ``order``
    (``zoo.layers.fronts``: "rows", "columns" or "strip") -> (H', W') over the grid as drawn."""
    rows, columns = grid_shape
    if order == "rows":
        return weights.reshape(rows, columns)
    if order == "columns":
        return weights.reshape(columns, rows).T
    return np.repeat(weights.reshape(1, columns), rows, axis=0) / rows  # "strip": one position per column


def image_attention_figure(picture: np.ndarray, attention: np.ndarray, grid_shape: tuple[int, int], stride: int,
                           order: str, words: Sequence[str], title: str) -> AttentionFigure:
    """Show, Attend and Tell's figure: one panel per output word (and ``</s>``), the picture the model
    read with that word's attention over it, each cell's weight spread over the stride x stride pixels
    it covers, brightest where it looks (scaled per panel: the panel's title gives its peak weight).

    picture (height, width, 3) uint8, the canvas the frontend made; attention (len(words), positions)."""
    rows, columns = grid_shape
    count = len(words)
    across = min(count, PANELS_PER_ROW)
    down = -(-count // across)
    figure = AttentionFigure(figsize=(PANEL * across, PANEL * down + 0.5), dpi=DPI)
    for index, (word, weights) in enumerate(zip(words, np.asarray(attention, np.float64))):
        axes = figure.add_subplot(down, across, index + 1)
        grid = cell_weights(weights, grid_shape, order)  # (H', W')
        axes.imshow(picture, interpolation="nearest")
        axes.imshow(grid, extent=(-0.5, columns * stride - 0.5, rows * stride - 0.5, -0.5), cmap="gray",
                    alpha=0.6, vmin=0.0, vmax=max(float(grid.max()), 1e-9), interpolation="bilinear")
        axes.set_xlim(-0.5, picture.shape[1] - 0.5)
        axes.set_ylim(picture.shape[0] - 0.5, -0.5)
        axes.set_title(f"{word}  ({grid.max():.2f})", fontsize=FONT_SIZE)
        axes.set_axis_off()
    figure.suptitle(textwrap.shorten(title, 20 * across), fontsize=FONT_SIZE)
    return figure


def image_hypothesis_figure(model, picture_bytes: bytes, hypothesis, decoding: str = "greedy") -> AttentionFigure:
    """``image_attention_figure`` of one decoded ``zoo.predictor.Hypothesis`` of a picture (PNG or JPEG
    bytes) by ``model``, an image-model predictor: drawn on the canvas the model read, one panel per word
    and ``</s>`` (absent when decoding stopped at the length limit)."""
    picture = model.encode_inputs([picture_bytes])["source"][0]  # (height, width, 3): what the model read
    front = model.model.source_front
    words = (list(hypothesis.tokens) + [END])[: len(hypothesis.attention)]
    return image_attention_figure(picture, hypothesis.attention, front.grid_shape, front.grid.stride, front.order,
                                  words, f"{hypothesis.text}  ({decoding}, log-prob {hypothesis.score:.2f})")


def audio_attention_figure(features: np.ndarray, seconds: float, attention: np.ndarray, tokens: Sequence[str],
                           title: str) -> AttentionFigure:
    """A clip's log-mel spectrogram above the attention of each output token over the clip, both on
    one time axis: features (frames, mels), the clip's length in ``seconds``, attention
    (len(tokens), S') whose S' memory steps split the clip into equal spans; a space shows as "␣"."""
    attention = np.asarray(attention, np.float64)
    labels = [token.replace(" ", "\u2423") for token in tokens]
    height = min(MAX_GRID, 0.18 * len(labels) + 1.0)
    figure = AttentionFigure(figsize=(min(MAX_GRID, max(MIN_WIDTH + 2, 2.2 * seconds + 2)), height + 1.8), dpi=DPI,
                             layout="constrained")
    grid = figure.add_gridspec(2, 1, height_ratios=(1.6, height))
    top = figure.add_subplot(grid[0])
    top.imshow(np.asarray(features).T, origin="lower", aspect="auto", cmap="magma", extent=(0, seconds, 0, features.shape[1]))
    top.set_ylabel("mel band", fontsize=FONT_SIZE)
    top.tick_params(labelbottom=False, labelsize=FONT_SIZE)
    bottom = figure.add_subplot(grid[1], sharex=top)
    bottom.imshow(attention, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest",
                  extent=(0, seconds, len(labels) - 0.5, -0.5))
    bottom.set_yticks(range(len(labels)), labels, fontsize=FONT_SIZE - 1)
    bottom.set_xlabel("seconds", fontsize=FONT_SIZE)
    bottom.tick_params(labelsize=FONT_SIZE)
    figure.suptitle(textwrap.shorten(title, 120), fontsize=FONT_SIZE)
    return figure


def audio_hypothesis_figure(model, clip: bytes, hypothesis, decoding: str = "greedy") -> AttentionFigure:
    """``audio_attention_figure`` of one decoded ``zoo.predictor.Hypothesis`` of a clip (WAV bytes) by
    ``model``, an audio-model predictor: the log-mel frames its front computes, one row per output
    token and ``</s>``."""
    encoded = model.encode_inputs([clip])
    length = int(encoded["source_length"][0])
    front = model.model.source_front
    features, frames = front.log_mel(encoded["source"][:, :length], encoded["source_length"])
    features = np.asarray(features)[0, : int(np.asarray(frames)[0])]  # (frames, mels)
    tokens = (list(hypothesis.tokens) + [END])[: len(hypothesis.attention)]
    return audio_attention_figure(features, length / model.frontend.sample_rate, hypothesis.attention, tokens,
                                  f"{hypothesis.text}  ({decoding}, log-prob {hypothesis.score:.2f})")


def source_hypothesis_figure(model, source, hypothesis, decoding: str = "greedy") -> AttentionFigure:
    """The attention figure of one decoded hypothesis of ``source`` by ``model`` (a predictor), for its
    kind of source: a text's heatmap (``hypothesis_figure``), a picture's panels
    (``image_hypothesis_figure``) or a clip's spectrogram and attention over time (``audio_hypothesis_figure``)."""
    kind = model.frontend.kind
    if kind == "audio":
        return audio_hypothesis_figure(model, bytes(source), hypothesis, decoding)
    if kind == "image":
        return image_hypothesis_figure(model, bytes(source), hypothesis, decoding)
    return hypothesis_figure(source, hypothesis, decoding)


def plot_attention(model, text, beam_size: int = 1, **options) -> AttentionFigure:
    """Decodes ``text`` with ``model`` (a ``zoo.load`` predictor) and plots the attention of its best
    hypothesis (with ``beam_size > 1``, of the best beam, its attention following its own history).

    ``options`` are ``Predictor.decode``'s (``alpha``, ``coverage_penalty``, ...). Returns a matplotlib
    ``Figure`` (output tokens x source tokens); in a notebook it displays itself, elsewhere
    ``fig.savefig("attention.png")``. For an image model ``text`` is a picture's PNG or JPEG bytes and
    the figure has one panel per output word, its attention over the picture (``image_attention_figure``);
    for an audio model, one clip's WAV bytes: its spectrogram above each output token's attention over
    time (``audio_attention_figure``).
    """
    check_has_attention(model)
    kind = model.frontend.kind
    if kind == "text" and not isinstance(text, str):
        raise TypeError(f"text must be one str, got {type(text).__name__}: {text!r}")
    if kind != "text" and not isinstance(text, (bytes, bytearray)):
        what = "one clip's WAV bytes" if kind == "audio" else "one picture's PNG or JPEG bytes"
        raise TypeError(f"an {kind} model's input is {what}, got {type(text).__name__}")
    source = text if kind == "text" else bytes(text)
    hypothesis = model.decode([source], beam_size=beam_size, **options)[0][0]
    return source_hypothesis_figure(model, source, hypothesis, decoding_name(beam_size))
