"""Audio frontend: WAV bytes -> mono float32 waveform at one sample rate, validated in one place.

``decode`` uses TensorFlow core ops only (string ops, ``DecodeRaw``, ``DecodeWav``, ``map_fn``: all
servable) and never raises on bad content. It first walks each file's RIFF chunks with string ops,
accepting only what ``tf.audio.decode_wav`` reads without failing, then decodes: a bad row decodes a
one-sample silent placeholder instead, so the other rows of its batch are unaffected.

Rules (the ``error`` column; "" for a usable row):

- 16-bit PCM WAV (RIFF/WAVE, format 1, a 16 or 18 byte ``fmt `` chunk) is read, any channel count
  (averaged to mono) and any sample rate from 1000 to 384000 Hz (resampled to ``sample_rate`` by
  linear interpolation, without a low-pass filter: content above the new Nyquist frequency aliases).
- Anything else is ``"not a WAV file (...)"`` with the reason in brackets, e.g. no RIFF/WAVE header,
  a truncated file or data chunk, 8/24/32-bit or float samples, WAVE_FORMAT_EXTENSIBLE headers (a
  40-byte ``fmt `` chunk: what many tools write for 24-bit or multichannel audio), compressed formats
  (ADPCM, mu-law, ...), a chunk other than JUNK/bext/iXML/qlty/mext/levl/link/axml before ``fmt ``,
  no or two ``data`` chunks, more than 64 chunks. A sample rate outside 1000..384000 Hz is
  ``"unsupported sample rate N Hz (...)"``.
- No samples (a ``data`` chunk of 0 frames, or 0 bytes of input): ``"empty: no audio samples"``.
- Longer than ``max_seconds`` (judged from the header, before decoding):
  ``"8.01 s long, more than the 8.0 s limit"`` (the duration rounded up to 1/100 s).

A bad row's ``source`` is one 0.0 sample and its ``source_length`` is 1.

Silence is no error: a readable clip whose loudest sample stays below ``silence_dbfs`` (-50 dBFS by
default) is ``blank``, and the ``Predictor`` and the export answer it with an empty transcript.
"""
from __future__ import annotations

import io
import math
import wave

import numpy as np
import tensorflow as tf

from zoo.frontends.base import Frontend, read_bytes_inputs

MIN_RATE, MAX_RATE = 1000, 384000  # accepted WAV sample rates, Hz
MAX_CHUNKS = 64  # RIFF chunks walked per file before giving up
# Chunks decode_wav skips between "WAVE" and "fmt " (any other one there makes it fail).
SKIPPED_BEFORE_FMT = ("JUNK", "bext", "iXML", "qlty", "mext", "levl", "link", "axml")
INT32_MAX = 2**31 - 1

# Reasons a header walk rejects a file, by code (0: fine). "{}" takes the row's value.
_REASONS = (
    "",
    "not a WAV file (no RIFF/WAVE header)",
    "not a WAV file (truncated)",
    "not a WAV file (unexpected chunk before the 'fmt ' chunk)",
    "not a WAV file ('fmt ' chunk of {} bytes: only the 16 or 18 byte PCM header is read, "
    "not WAVE_FORMAT_EXTENSIBLE)",
    "not a WAV file (audio format {}: only PCM, format 1, is read)",
    "not a WAV file ({}-bit samples: only 16-bit PCM is read)",
    "not a WAV file (0 channels)",
    "not a WAV file (inconsistent block align or byte rate in the header)",
    "unsupported sample rate {} Hz (" f"{MIN_RATE} to {MAX_RATE} Hz are read)",
    "not a WAV file (no data chunk)",
    "not a WAV file (more than one data chunk)",
    "not a WAV file (chunk of {} bytes, more than 2^31 - 1)",
    f"not a WAV file (more than {MAX_CHUNKS} chunks)",
    "not a WAV file ({} bytes: at most 2^31 - 1 are read)",
    "empty: no audio samples",
)
(_OK, _NOT_RIFF, _TRUNCATED, _UNEXPECTED, _FMT_SIZE, _FORMAT, _BITS, _CHANNELS, _INCONSISTENT, _RATE,
 _NO_DATA, _TWO_DATA, _HUGE_CHUNK, _TOO_MANY, _HUGE_FILE, _EMPTY) = range(len(_REASONS))


def wav_bytes(waveform: np.ndarray, sample_rate: int) -> bytes:
    """A float waveform in [-1, 1] -> a 16-bit PCM WAV file (stdlib ``wave``; values are clipped).

    waveform: (samples,) mono or (samples, channels).
    """
    waveform = np.asarray(waveform, dtype=np.float64)
    if waveform.ndim == 1:
        waveform = waveform[:, None]  # (samples, 1)
    if waveform.ndim != 2 or waveform.shape[1] < 1:
        raise ValueError(f"waveform must be (samples,) or (samples, channels), got shape {waveform.shape}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    pcm = np.clip(np.round(waveform * 32768.0), -32768, 32767).astype("<i2")  # the scale decode_wav divides by
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(waveform.shape[1])
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def _le(raw: tf.Tensor, pos: tf.Tensor, n: int) -> tf.Tensor:
    """The little-endian unsigned n-byte integers at byte ``pos`` of each string, 0-padded past the
    end. raw (batch,) string, pos (batch,) int64 -> (batch,) int64."""
    size = tf.strings.length(raw, unit="BYTE")  # (batch,) int32
    start = tf.cast(tf.clip_by_value(pos, 0, tf.cast(size, tf.int64)), tf.int32)  # substr fails past the end
    piece = tf.io.decode_raw(tf.strings.substr(raw, start, tf.fill(tf.shape(start), n)), tf.uint8,
                             fixed_length=n)  # (batch, n)
    weights = tf.constant([256**i for i in range(n)], tf.int64)
    return tf.reduce_sum(tf.cast(piece, tf.int64) * weights, axis=1)


def _text(raw: tf.Tensor, pos: tf.Tensor, n: int = 4) -> tf.Tensor:
    """The n bytes at ``pos`` of each string ("" past the end). (batch,) -> (batch,) string."""
    size = tf.cast(tf.strings.length(raw, unit="BYTE"), tf.int64)
    start = tf.cast(tf.clip_by_value(pos, 0, size), tf.int32)
    return tf.strings.substr(raw, start, tf.fill(tf.shape(start), n))


def parse_wav_headers(raw: tf.Tensor) -> dict:
    """Walks the RIFF chunks of each file as ``decode_wav`` does, without decoding.

    raw (batch,) string -> {"reason": (batch,) int32 code into the reasons (0: decode_wav reads it),
    "value": (batch,) int64 the number a reason names, "channels", "rate", "frames": (batch,) int64}.
    Only files for which ``reason`` is 0 may be given to ``decode_wav``: it would raise on the rest.
    """
    size = tf.cast(tf.strings.length(raw, unit="BYTE"), tf.int64)  # (batch,)
    zeros = tf.zeros_like(size)
    riff = (size >= 12) & tf.equal(_text(raw, zeros), "RIFF") & tf.equal(_text(raw, zeros + 8), "WAVE")
    reason = tf.where(tf.equal(size, 0), _EMPTY, tf.where(riff, _OK, _NOT_RIFF))  # (batch,) int32
    skipped = tf.constant(SKIPPED_BEFORE_FMT)

    def fail(reason, where, code):
        return tf.where(tf.equal(reason, _OK) & where, code, reason)

    def body(i, pos, stage, reason, value, channels, rate, block, frames, found):
        """One chunk per row. stage 0: before 'fmt ', 1: after it, 2: done."""
        chunk_id = _text(raw, pos)
        chunk_size = _le(raw, pos + 4, 4)
        active = tf.equal(reason, _OK) & (stage < 2)
        # Stage 0: a skippable chunk, or 'fmt ' with its 16 bytes of fields.
        before = active & tf.equal(stage, 0)
        is_fmt = before & tf.equal(chunk_id, "fmt ")
        is_skipped = before & tf.reduce_any(tf.equal(chunk_id[:, None], skipped[None, :]), axis=1)
        reason = fail(reason, before & (pos + 4 > size), _TRUNCATED)
        reason = fail(reason, before & ~is_fmt & ~is_skipped, _UNEXPECTED)
        reason = fail(reason, is_skipped & (pos + 8 + chunk_size > size), _TRUNCATED)
        reason = fail(reason, is_fmt & (pos + 24 > size), _TRUNCATED)
        fmt_format, fmt_channels = _le(raw, pos + 8, 2), _le(raw, pos + 10, 2)
        fmt_rate, fmt_byte_rate = _le(raw, pos + 12, 4), _le(raw, pos + 16, 4)
        fmt_block, fmt_bits = _le(raw, pos + 20, 2), _le(raw, pos + 22, 2)
        checks = [  # in decode_wav's order: (failed, code, value)
            (~tf.equal(chunk_size, 16) & ~tf.equal(chunk_size, 18), _FMT_SIZE, chunk_size),
            (~tf.equal(fmt_format, 1), _FORMAT, fmt_format),
            (tf.equal(fmt_channels, 0), _CHANNELS, fmt_channels),
            (~tf.equal(fmt_bits, 16), _BITS, fmt_bits),
            (~tf.equal(fmt_block, 2 * fmt_channels), _INCONSISTENT, fmt_block),
            ((fmt_rate < MIN_RATE) | (fmt_rate > MAX_RATE), _RATE, fmt_rate),
            (~tf.equal(fmt_byte_rate, fmt_block * fmt_rate), _INCONSISTENT, fmt_byte_rate),
        ]
        for failed, code, number in checks:
            hit = is_fmt & tf.equal(reason, _OK) & failed
            value = tf.where(hit, number, value)
            reason = fail(reason, hit, code)
        channels = tf.where(is_fmt, fmt_channels, channels)
        rate = tf.where(is_fmt, fmt_rate, rate)
        block = tf.where(is_fmt, fmt_block, block)
        fmt_end = pos + tf.where(tf.equal(chunk_size, 18), tf.constant(26, tf.int64), 24)  # decode_wav skips 2 more
        next_pos = tf.where(is_fmt, fmt_end, pos + 8 + chunk_size)
        # Stage 1: chunks after 'fmt ' up to the end of the file, exactly one of them 'data'.
        after = active & tf.equal(stage, 1)
        at_end = after & (pos >= size)
        reason = fail(reason, at_end & ~found, _NO_DATA)
        walking = after & ~at_end
        reason = fail(reason, walking & (pos + 8 > size), _TRUNCATED)
        huge = walking & tf.equal(reason, _OK) & (chunk_size > INT32_MAX)
        value = tf.where(huge, chunk_size, value)
        reason = fail(reason, huge, _HUGE_CHUNK)
        is_data = walking & tf.equal(chunk_id, "data")
        reason = fail(reason, is_data & found, _TWO_DATA)
        data_frames = chunk_size // tf.maximum(block, 1)
        data_end = pos + 8 + 2 * data_frames * channels  # decode_wav reads whole frames only
        reason = fail(reason, is_data & (data_end > size), _TRUNCATED)
        frames = tf.where(is_data, data_frames, frames)
        found = found | is_data
        next_pos = tf.where(is_data, data_end, next_pos)
        reason = fail(reason, walking & (next_pos > INT32_MAX), _HUGE_CHUNK)  # decode_wav's offset is an int
        pos = tf.where(before | walking, next_pos, pos)
        stage = tf.where(is_fmt, 1, tf.where(at_end, 2, stage))
        return i + 1, pos, stage, reason, value, channels, rate, block, frames, found

    def more(i, pos, stage, reason, *_):
        return (i < MAX_CHUNKS + 1) & tf.reduce_any(tf.equal(reason, _OK) & (stage < 2))

    state = (tf.constant(0), zeros + 12, tf.zeros_like(reason), reason, zeros, zeros, zeros, zeros, zeros,
             tf.zeros_like(size, tf.bool))
    _, _, stage, reason, value, channels, rate, _, frames, _ = tf.while_loop(more, body, state)
    reason = fail(reason, stage < 2, _TOO_MANY)
    value = tf.where(tf.equal(reason, _OK) & (size > INT32_MAX), size, value)
    reason = fail(reason, size > INT32_MAX, _HUGE_FILE)
    reason = fail(reason, tf.equal(frames, 0), _EMPTY)
    return {"reason": reason, "value": value, "channels": channels, "rate": rate, "frames": frames}


def reason_text(reason: tf.Tensor, value: tf.Tensor) -> tf.Tensor:
    """Reason codes and their numbers, (batch,) int32 and int64 -> (batch,) error strings."""
    number = tf.strings.as_string(value)
    texts = [tf.strings.join([text.split("{}")[0], number, text.split("{}")[1]]) if "{}" in text
             else tf.fill(tf.shape(number), text) for text in _REASONS]
    return tf.gather(tf.stack(texts, axis=1), reason, batch_dims=1)


def resample(waveform: tf.Tensor, rate: tf.Tensor, target_rate: int) -> tf.Tensor:
    """Linear interpolation from ``rate`` to ``target_rate``: (samples >= 1,) -> (round(samples *
    target_rate / rate) >= 1,). Exact (a copy) when the rates are equal."""
    samples = tf.shape(waveform, out_type=tf.int64)[0]
    rate = tf.cast(rate, tf.int64)
    length = tf.maximum((samples * target_rate + rate // 2) // rate, 1)
    position = tf.range(length, dtype=tf.float64) * (tf.cast(rate, tf.float64) / target_rate)  # (length,)
    left = tf.minimum(tf.cast(tf.floor(position), tf.int64), samples - 1)
    right = tf.minimum(left + 1, samples - 1)
    weight = tf.cast(position - tf.cast(left, tf.float64), tf.float32)  # in [0, 1)
    return tf.gather(waveform, left) * (1.0 - weight) + tf.gather(waveform, right) * weight


class AudioFrontend(Frontend):
    """WAV bytes -> mono waveform at ``sample_rate`` Hz, at most ``max_seconds`` long (see the
    module docstring for the rules and error messages).

    Args:
        sample_rate: the model's sample rate, Hz; other rates are resampled to it.
        max_seconds: the longest accepted input, seconds.
        silence_dbfs: a clip whose loudest sample is below this level (dB relative to full scale) is
            silence: ``decode`` marks it ``blank`` and the model's answer is an empty transcript, without
            an error. None: never.

    Example:
        >>> frontend = AudioFrontend(sample_rate=16000)
        >>> out = frontend.decode(tf.constant(frontend.prepare([wav_bytes(np.zeros(800), 8000)])))
        >>> out["source"].shape, int(out["source_length"][0])
        (TensorShape([1, 1600]), 1600)
    """

    kind = "audio"
    input_signature = tf.TensorSpec([None], tf.string, name="audio")
    variable_length = True

    def __init__(self, sample_rate: int = 16000, max_seconds: float = 8.0, silence_dbfs: float | None = -50.0,
                 name=None):
        super().__init__(name=name)
        if silence_dbfs is not None and (isinstance(silence_dbfs, bool) or not isinstance(silence_dbfs, (int, float))
                                         or not -200.0 <= silence_dbfs <= 0.0):
            raise ValueError(f"silence_dbfs must be None or a level from -200 to 0 dB, got {silence_dbfs!r}")
        self.silence_dbfs = None if silence_dbfs is None else float(silence_dbfs)
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or not MIN_RATE <= sample_rate <= MAX_RATE:
            raise ValueError(f"sample_rate must be an integer from {MIN_RATE} to {MAX_RATE} Hz, got {sample_rate!r}")
        if isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float)) or not 0 < max_seconds < math.inf:
            raise ValueError(f"max_seconds must be a positive number, got {max_seconds!r}")
        self.sample_rate = sample_rate
        self.max_seconds = float(max_seconds)
        self.placeholder = wav_bytes(np.zeros(1), sample_rate)  # what a bad row decodes instead

    @property
    def max_samples(self) -> int:
        """The longest accepted input, in samples at ``sample_rate`` (+1 for rounding)."""
        return int(math.floor(self.max_seconds * self.sample_rate)) + 1

    def get_config(self) -> dict:
        return {"kind": self.kind, "sample_rate": self.sample_rate, "max_seconds": self.max_seconds,
                "silence_dbfs": self.silence_dbfs}

    def prepare(self, inputs) -> list[bytes]:
        """WAV bytes or paths to WAV files -> bytes (a TypeError/FileNotFoundError names inputs[i])."""
        return read_bytes_inputs(inputs, "WAV")

    def decode(self, raw: tf.Tensor) -> dict:
        """raw (batch,) WAV bytes -> {"source": (batch, samples) float32 in [-1, 1], 0 on padding,
        "source_length": (batch,) int32 >= 1, "error": (batch,) string, "blank": (batch,) bool, silence}."""
        raw = tf.convert_to_tensor(raw, tf.string)
        header = parse_wav_headers(raw)
        reason, value = header["reason"], header["value"]
        seconds = tf.cast(header["frames"], tf.float64) / tf.cast(tf.maximum(header["rate"], 1), tf.float64)
        too_long = tf.equal(reason, _OK) & (seconds > self.max_seconds)  # (batch,)
        error = reason_text(reason, value)  # (batch,)
        shown = tf.math.ceil(seconds * 100.0) / 100.0  # never shown equal to the limit
        error = tf.where(too_long, tf.strings.join([tf.strings.as_string(shown, precision=2),
                                                    f" s long, more than the {self.max_seconds} s limit"]), error)
        usable = tf.equal(reason, _OK) & ~too_long
        safe = tf.where(usable, raw, tf.constant(self.placeholder))  # decode_wav reads every one of these

        def one(wav):
            audio, rate = tf.audio.decode_wav(wav)  # (frames, channels) float32, () int32
            return resample(tf.reduce_mean(audio, axis=1), rate, self.sample_rate)  # (samples,)

        waves = tf.map_fn(one, safe, fn_output_signature=tf.RaggedTensorSpec([None], tf.float32, ragged_rank=0))
        source = waves.to_tensor(0.0)  # (batch, samples)
        source.set_shape([None, None])
        lengths = tf.cast(waves.row_lengths(), tf.int32)  # (batch,) >= 1
        blank = tf.zeros_like(usable)  # (batch,) bool: silence
        if self.silence_dbfs is not None:
            blank = usable & (tf.reduce_max(tf.abs(source), axis=1) < 10.0 ** (self.silence_dbfs / 20.0))
        return {"source": source, "source_length": lengths, "error": error, "blank": blank}
