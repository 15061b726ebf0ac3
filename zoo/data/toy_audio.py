"""Toy speech: DTMF-style "spoken digit" sequences, generated (deterministic for a seed, NumPy only)
instead of shipped as data files.

Each clip is 2-5 digits, each digit a telephone keypad tone: the sum of one low (row) and one high
(column) frequency, 1-9 on the 697/770/852 Hz x 1209/1336/1477 Hz grid and 0 at 941 x 1336 Hz.
Tones last 60-140 ms, separated by 40-120 ms of silence, with 20-60 ms of silence at both ends; a
clip has one random amplitude, white noise at a random SNR and a random sample rate among 8000,
16000 and 22050 Hz (the audio frontend resamples). Clips are at most 1.3 s long, so a tiny model
learns them on a CPU. Targets are the digits, e.g. "4071".

    >>> wav, digits = make(1, seed=0)[0]
"""
from __future__ import annotations

import numpy as np

from zoo.frontends.audio import wav_bytes

LOW_HZ = (697, 770, 852, 941)
HIGH_HZ = (1209, 1336, 1477)
# digit -> (low, high) Hz: the keypad's rows and columns ("0" below "8").
TONES = {str(1 + 3 * row + column): (LOW_HZ[row], HIGH_HZ[column]) for row in range(3) for column in range(3)}
TONES["0"] = (941, 1336)
SAMPLE_RATES = (8000, 16000, 22050)
DIGITS_PER_CLIP = (2, 5)  # inclusive
TONE_MS = (60, 140)
GAP_MS = (40, 120)
EDGE_MS = (20, 60)  # leading and trailing silence
AMPLITUDE = (0.2, 0.8)  # peak of a tone, before noise
SNR_DB = (10.0, 30.0)
FADE_MS = 5  # raised-cosine ramps at tone edges (no clicks)
# Suggested splits: name -> (count, seed).
SPLITS = {"train": (3000, 0), "dev": (200, 1), "test": (200, 2)}


def _tone(digit: str, samples: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """One keypad tone with random phases, peak 1, faded in and out: (samples,) float64."""
    t = np.arange(samples) / sample_rate
    low, high = TONES[digit]
    phases = rng.uniform(0, 2 * np.pi, 2)
    tone = 0.5 * (np.sin(2 * np.pi * low * t + phases[0]) + np.sin(2 * np.pi * high * t + phases[1]))
    fade = min(samples // 2, int(sample_rate * FADE_MS / 1000))
    if fade:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)  # 0 -> 1
        tone[:fade] *= ramp
        tone[-fade:] *= ramp[::-1]
    return tone


def _duration(range_ms: tuple[int, int], sample_rate: int, rng: np.random.Generator) -> int:
    return int(round(rng.uniform(*range_ms) / 1000 * sample_rate))


def clip(digits: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """The waveform of ``digits`` with random timing, level, noise and rate: ((samples,) float64 in
    [-1, 1], sample_rate)."""
    sample_rate = int(rng.choice(SAMPLE_RATES))
    amplitude = rng.uniform(*AMPLITUDE)
    parts = [np.zeros(_duration(EDGE_MS, sample_rate, rng))]
    for i, digit in enumerate(digits):
        if i:
            parts.append(np.zeros(_duration(GAP_MS, sample_rate, rng)))
        parts.append(amplitude * _tone(digit, _duration(TONE_MS, sample_rate, rng), sample_rate, rng))
    parts.append(np.zeros(_duration(EDGE_MS, sample_rate, rng)))
    signal = np.concatenate(parts)  # (samples,)
    tone_power = amplitude**2 / 4  # mean power of 0.5 * amplitude * (sin + sin)
    noise = rng.normal(0.0, np.sqrt(tone_power / 10 ** (rng.uniform(*SNR_DB) / 10)), signal.shape)
    return np.clip(signal + noise, -1.0, 1.0), sample_rate


def make(count: int, seed: int) -> list[tuple[bytes, str]]:
    """``count`` (16-bit PCM WAV bytes, digit string) pairs, the same for the same seed."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be a non-negative integer, got {count!r}")
    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(count):
        length = int(rng.integers(DIGITS_PER_CLIP[0], DIGITS_PER_CLIP[1] + 1))
        digits = "".join(str(d) for d in rng.integers(0, 10, length))
        waveform, sample_rate = clip(digits, rng)
        examples.append((wav_bytes(waveform, sample_rate), digits))
    return examples


def load(split: str) -> list[tuple[bytes, str]]:
    """One of the suggested ``SPLITS`` (train, dev, test: different seeds)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {tuple(SPLITS)}, got {split!r}")
    return make(*SPLITS[split])
