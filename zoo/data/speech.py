"""Synthetic English speech: short sentences and spoken numbers read by the espeak-ng and flite voices
of Debian, held out by voice and by text (no real English speech corpus ships in a package).

- **Texts** (``corpora/speech-texts.tsv.xz``, built by ``build_texts`` and committed): sentences of 3-12
  words from the English side of the Bible and LibreOffice help corpora and from Debian package
  synopses, each corpus's own train/dev/test split kept, plus numbers spelled by ``num2words``
  (cardinals, years, ordinals) split by their value. Transcripts are lowercase letters, spaces and
  apostrophes (``normalize``); sentences with anything else (digits, symbols) are left out.
- **Voices**: espeak-ng accents x voice variants, and flite voices. Training hears ``TRAIN_ACCENTS`` x
  ``TRAIN_VARIANTS`` and ``TRAIN_FLITE``; the test split speaks its unseen texts in voices never heard:
  ``TEST_ACCENTS`` x ``TEST_VARIANTS`` (espeak-ng) and ``TEST_FLITE`` (flite), reported apart
  (the ``speech-espeak`` and ``speech-flite`` parts). Dev: dev texts in training voices.
- **Each utterance** is a deterministic function of (split, index): its text, voice, speaking rate,
  pitch, level and a white-noise SNR come from a seeded generator; synthesized, resampled to 16 kHz
  (``scipy.signal.resample_poly``), scaled and mixed with the noise, then written as a 16-bit WAV.
- **Storage**: the test split (``TEST_FILE``, ~7 MB) is committed as clean 16 kHz audio in 8-bit mu-law
  (quantization noise ~38 dB below the voice), its white noise added from the seed when loaded; train and dev are synthesized once into a local cache
  (``build_cache``, ``python -m zoo.data.speech cache``; needs ``apt-get install espeak-ng flite``)
  under ``$ZOO_SPEECH_CACHE`` (default ``~/.cache/seq2seq-zoo/speech``). ``CLIPS`` hands train and dev to
  ``zoo.training.arrays`` as arrays, synthesizing the cache where asked (a GPU machine without the
  synthesizers: ``tools/gpu/synthesizers.sh``).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import lzma
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import wave

import numpy as np

from zoo.data import corpora
from zoo.data.dataset import Clips, Dataset, grouped

CORPORA = pathlib.Path(__file__).resolve().parents[2] / "corpora"
TEXTS_FILE = CORPORA / "speech-texts.tsv.xz"
TEST_FILE = CORPORA / "speech-test.npz.xz"
SAMPLE_RATE = 16000
ALPHABET = "abcdefghijklmnopqrstuvwxyz' "

TRAIN_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan")
TEST_ACCENTS = ("en-us-nyc", "en-gb-x-gbcwmd")
TEST_VARIANTS = ("f2", "m3", "klatt2", "Andy", "belinda", "john", "steph2", "iven2", "Mr serious", "anika")
# Every other variant of espeak-ng 1.51 (the folder voices/!v), for training; "" is the accent's own voice.
TRAIN_VARIANTS = (
    "", "Alex", "Alicia", "Andrea", "Annie", "AnxiousAndy", "Denis", "Diogo", "Gene", "Gene2", "Henrique", "Hugo",
    "Jacky", "Lee", "Marco", "Mario", "Michael", "Mike", "Nguyen", "RicishayMax", "Storm", "Tweaky", "adam",
    "announcer", "antonio", "aunty", "benjamin", "boris", "caleb", "david", "ed", "edward", "f1", "f3", "f4", "f5",
    "grandma", "grandpa", "gustave", "iven", "iven3", "klatt", "klatt3", "klatt4", "linda", "m1", "m2", "m4", "m5",
    "m6", "m7", "marcelo", "max", "michel", "miguel", "norbert", "pablo", "paul", "pedro", "quincy", "rob",
    "robert", "sandro", "shelby", "steph", "travis", "victor", "zac",
)
TRAIN_FLITE = ("slt", "awb", "kal16")
TEST_FLITE = ("rms",)
FLITE_SHARE = 0.25  # of training and dev utterances
ESPEAK_RATE = (140, 210)  # words per minute
ESPEAK_PITCH = (25, 75)
FLITE_STRETCH = (0.85, 1.2)  # duration_stretch
PEAK = (0.25, 0.9)
SNR_DB = (15.0, 40.0)
# split -> (utterances, seed). The test split holds TEST_SIZE per held-out group.
SIZES = {"train": (24000, 0), "dev": (300, 1)}
TEST_SIZE, TEST_SEED = 120, 2
GROUPS = ("espeak", "flite")  # the test split's parts: unheard espeak-ng voices, the unheard flite voice
NUMBER_COUNTS = {"train": 5000, "dev": 60, "test": 120}


def normalize(text: str) -> str | None:
    """A sentence -> its transcript (lowercase words of letters with inner apostrophes, single spaces,
    punctuation dropped), or None when it holds anything else (digits, symbols, foreign letters)."""
    text = text.replace("\u2019", "'").lower()
    text = re.sub(r"[,;:.!?\"()]|\s-+\s|--", " ", text)
    text = " ".join(text.split())
    return text if re.fullmatch(r"[a-z]+(?:'[a-z]+)?(?: [a-z]+(?:'[a-z]+)?)*", text) else None


# ---- texts ---------------------------------------------------------------------------------------

def _corpus_sentences(file: str, header: tuple, column: int):
    """(split, sentence) of 3-12 words from one committed corpus's English column."""
    for row in corpora.read_tsv(CORPORA / file, header, ("train", "dev", "test"), file):
        for sentence in re.split(r"(?<=[.;:?!])\s+", row[column]):
            text = normalize(sentence)
            if text and 3 <= len(text.split()) <= 12:
                yield row[0], text


def _numbers(rng: np.random.Generator):
    """Endless (split, spoken number): cardinals, years and ordinals, split by a hash of the text."""
    from num2words import num2words

    while True:
        kind = rng.choice(["cardinal", "year", "ordinal"], p=[0.6, 0.25, 0.15])
        value = int(rng.integers(1000, 2100) if kind == "year" else
                    10 ** rng.uniform(0, 7 if kind == "cardinal" else 3))
        text = normalize(num2words(value, to=kind).replace("-", " "))
        digest = int(hashlib.sha256(text.encode()).hexdigest(), 16) % 100
        yield ("test" if digest < 2 else "dev" if digest < 4 else "train"), text


def build_texts(path: pathlib.Path = TEXTS_FILE, seed: int = 0) -> pathlib.Path:
    """Writes the committed text list: (split, source, text) rows, each text once in one split."""
    rng = np.random.default_rng(seed)
    rows, seen = [], set()
    parallel, descriptions = ("split", "id", "en", "es"), ("split", "id", "description", "synopsis")
    for source, file, header, column in (("bible", "bible-en-es.tsv.xz", parallel, 2),
                                         ("libreoffice", "libreoffice-en-es.tsv.xz", parallel, 2),
                                         ("debian", "debian-descriptions.tsv.xz", descriptions, 3)):
        for split, text in _corpus_sentences(file, header, column):
            if text not in seen:
                seen.add(text)
                rows.append((split, source, text))
    wanted = dict(NUMBER_COUNTS)
    for split, text in _numbers(rng):
        if text not in seen and wanted[split]:
            seen.add(text)
            rows.append((split, "numbers", text))
            wanted[split] -= 1
        if not any(wanted.values()):
            break
    corpora.update_checksums(path.parent / corpora.CHECKSUMS,
                             {path.name: corpora.write_tsv(path, ("split", "source", "text"), rows)})
    return path


@functools.lru_cache(maxsize=None)
def texts(split: str) -> tuple[tuple[str, str], ...]:
    """(source corpus, transcript) of one split's texts, in file order."""
    rows = corpora.read_tsv(corpora.verified_path(TEXTS_FILE.name, "`python -m zoo.data.speech texts`"),
                            ("split", "source", "text"), ("train", "dev", "test"), "speech texts")
    return tuple((source, text) for row_split, source, text in rows if row_split == split)


# ---- utterances ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Utterance:
    """What one clip says and how: ``engine`` "espeak-ng" or "flite"; ``voice`` ("en-us+f3", "slt");
    ``rate`` (espeak-ng words per minute, or flite's duration stretch), ``pitch`` (espeak-ng 0-99);
    ``peak`` the clip's peak level before noise, ``snr_db`` its white-noise SNR, ``seed`` the noise."""
    text: str
    engine: str
    voice: str
    rate: float
    pitch: int
    peak: float
    snr_db: float
    seed: int


def _voice(rng: np.random.Generator, flite: tuple, accents: tuple, variants: tuple, flite_share: float):
    if rng.random() < flite_share:
        return "flite", str(rng.choice(flite))
    accent, variant = str(rng.choice(accents)), str(rng.choice(variants))
    return "espeak-ng", accent + (f"+{variant}" if variant else "")


def plan(split: str, group: str | None = None) -> list[Utterance]:
    """The utterances of one split (train, dev) or of one test group (``GROUPS``), deterministic."""
    if split == "test":
        if group not in GROUPS:
            raise ValueError(f"the test split has groups {GROUPS}, got {group!r}")
        count, seed = TEST_SIZE, TEST_SEED + 100 * GROUPS.index(group)
        pool = texts("test")
        voices = (TEST_FLITE, TEST_ACCENTS, TEST_VARIANTS, 1.0 if group == "flite" else 0.0)
    elif split in SIZES:
        count, seed = SIZES[split]
        pool = texts(split)
        voices = (TRAIN_FLITE, TRAIN_ACCENTS, TRAIN_VARIANTS, FLITE_SHARE)
    else:
        raise ValueError(f"split must be train, dev or test, got {split!r}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pool))
    utterances = []
    for i in range(count):
        _, text = pool[order[i % len(pool)]]
        engine, voice = _voice(rng, *voices)
        rate = float(rng.uniform(*ESPEAK_RATE)) if engine == "espeak-ng" else float(rng.uniform(*FLITE_STRETCH))
        utterances.append(Utterance(text, engine, voice, round(rate, 3), int(rng.integers(*ESPEAK_PITCH)),
                                    round(float(rng.uniform(*PEAK)), 3), round(float(rng.uniform(*SNR_DB)), 2),
                                    int(rng.integers(2**31))))
    return utterances


def synthesize(utterance: Utterance) -> np.ndarray:
    """The clean voice of one utterance at 16 kHz, peak ``utterance.peak``: (samples,) float32."""
    from scipy.signal import resample_poly

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "out.wav")
        if utterance.engine == "espeak-ng":
            command = ["espeak-ng", "-v", utterance.voice, "-s", str(int(utterance.rate)), "-p",
                       str(utterance.pitch), "-w", path, utterance.text]
        else:
            command = ["flite", "-voice", utterance.voice, "--setf", f"duration_stretch={utterance.rate}",
                       "-t", utterance.text, "-o", path]
        subprocess.run(command, check=True, capture_output=True)
        with wave.open(path, "rb") as handle:
            rate = handle.getframerate()
            samples = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").astype(np.float64)
    samples /= 32768.0
    if rate != SAMPLE_RATE:
        divisor = np.gcd(rate, SAMPLE_RATE)
        samples = resample_poly(samples, SAMPLE_RATE // divisor, rate // divisor)
    peak = np.max(np.abs(samples)) or 1.0
    return (samples * (utterance.peak / peak)).astype(np.float32)


def add_noise(clean: np.ndarray, utterance: Utterance) -> np.ndarray:
    """The clean voice plus white noise at the utterance's SNR (seeded): (samples,) float32 in [-1, 1]."""
    rng = np.random.default_rng(utterance.seed)
    power = float(np.mean(np.square(clean, dtype=np.float64))) or 1e-8
    noise = rng.normal(0.0, np.sqrt(power / 10 ** (utterance.snr_db / 10)), clean.shape)
    return np.clip(clean + noise, -1.0, 1.0).astype(np.float32)


def _pcm(waveform: np.ndarray) -> np.ndarray:
    return np.clip(np.round(waveform * 32768.0), -32768, 32767).astype("<i2")


def _wav(pcm: np.ndarray) -> bytes:
    """int16 samples at 16 kHz -> the bytes of a mono 16-bit WAV file (the same samples)."""
    from zoo.frontends.audio import wav_bytes  # TensorFlow: imported only when clips are loaded

    return wav_bytes(pcm / 32768.0, SAMPLE_RATE)


def _noisy_pcm(utterance: Utterance) -> np.ndarray:
    return _pcm(add_noise(synthesize(utterance), utterance))


def _store(path: pathlib.Path, samples: np.ndarray, utterances: list[Utterance], lengths: list[int],
           compress: bool = False) -> None:
    """Writes concatenated samples (int16, or uint8 mu-law) with their offsets and texts, atomically;
    ``compress``: the npz through xz."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, audio=samples, offsets=np.cumsum([0, *lengths]).astype(np.int64),
             texts=np.array([u.text for u in utterances]), voices=np.array([u.voice for u in utterances]))
    data = lzma.compress(buffer.getvalue(), preset=9) if compress else buffer.getvalue()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # two processes may build the same file
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _read(path: pathlib.Path) -> tuple[list[np.ndarray], list[str]]:
    """The clips (as stored) and texts of a file ``_store`` wrote."""
    import io

    data = path.read_bytes()
    with np.load(io.BytesIO(lzma.decompress(data) if path.suffix == ".xz" else data)) as stored:
        audio, offsets, texts_ = stored["audio"], stored["offsets"], stored["texts"]
    return [audio[offsets[i]:offsets[i + 1]] for i in range(len(texts_))], [str(t) for t in texts_]


MU = 255  # mu-law companding of the committed test clips


def mu_law_encode(waveform: np.ndarray) -> np.ndarray:
    """(samples,) floats in [-1, 1] -> (samples,) uint8 codes."""
    companded = np.sign(waveform) * np.log1p(MU * np.abs(waveform)) / np.log1p(MU)
    return np.round((companded + 1.0) / 2.0 * MU).astype(np.uint8)


def mu_law_decode(codes: np.ndarray) -> np.ndarray:
    """(samples,) uint8 codes -> (samples,) float32 in [-1, 1]."""
    companded = codes.astype(np.float64) / MU * 2.0 - 1.0
    return (np.sign(companded) * np.expm1(np.abs(companded) * np.log1p(MU)) / MU).astype(np.float32)


def cache_folder() -> pathlib.Path:
    return pathlib.Path(os.environ.get("ZOO_SPEECH_CACHE", pathlib.Path.home() / ".cache" / "seq2seq-zoo" / "speech"))


def _cache_path(split: str) -> pathlib.Path:
    count, seed = SIZES[split]
    return cache_folder() / f"{split}-{count}-{seed}.npz"


def build_cache(splits=("dev", "train"), processes: int | None = None) -> list[pathlib.Path]:
    """Synthesizes the train and dev splits (noise included) into the local cache; returns the files."""
    import multiprocessing

    paths = []
    for split in splits:
        path = _cache_path(split)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            utterances = plan(split)
            with multiprocessing.get_context("fork").Pool(processes or os.cpu_count()) as pool:
                pcms = pool.map(_noisy_pcm, utterances, chunksize=64)
            _store(path, np.concatenate(pcms), utterances, [len(p) for p in pcms])
        paths.append(path)
    return paths


def build_test(path: pathlib.Path = TEST_FILE) -> pathlib.Path:
    """Writes the committed test clips: clean mu-law audio of every group, noise added when loaded."""
    utterances = [u for group in GROUPS for u in plan("test", group)]
    clean = [mu_law_encode(synthesize(u)) for u in utterances]
    _store(path, np.concatenate(clean), utterances, [len(c) for c in clean], compress=True)
    corpora.update_checksums(path.parent / corpora.CHECKSUMS, {path.name: corpora.sha256_of(path)})
    return path


@functools.lru_cache(maxsize=None)
def load_group(group: str) -> tuple[tuple[bytes, str], ...]:
    """(WAV bytes, transcript) of one test group, from the committed clips with their noise added."""
    utterances = plan("test", group)
    clean, stored_texts = _read(corpora.verified_path(TEST_FILE.name, "`python -m zoo.data.speech test`"))  # mu-law
    start = GROUPS.index(group) * TEST_SIZE
    pairs = []
    for utterance, pcm, text in zip(utterances, clean[start:start + TEST_SIZE], stored_texts[start:]):
        if text != utterance.text:
            raise ValueError(f"{TEST_FILE} does not match the test plan ({text!r} vs {utterance.text!r}): rebuild it")
        pairs.append((_wav(_pcm(add_noise(mu_law_decode(pcm), utterance))), text))
    return tuple(pairs)


def cached_clips(split: str) -> tuple[list[np.ndarray], list[str]]:
    """The train or dev split's clips ((samples,) int16 at 16 kHz, noise included) and transcripts, in
    plan order, from the cache (``build_cache``); a FileNotFoundError says how to make it, a ValueError
    that a cache of another plan must go."""
    path = _cache_path(split)
    if not path.exists():
        raise FileNotFoundError(
            f"the speech {split} split is synthesized, not shipped: run `python -m zoo.data.speech cache` "
            f"(needs `apt-get install espeak-ng flite`; writes {path})")
    pcms, stored_texts = _read(path)
    if stored_texts != _transcripts(split):
        raise ValueError(f"{path} does not hold the {split} plan's clips: delete it and run "
                         "`python -m zoo.data.speech cache` again")
    return pcms, stored_texts


@functools.lru_cache(maxsize=None)
def load(split: str) -> tuple[tuple[bytes, str], ...]:
    """(WAV bytes, transcript) of one split; train and dev need the cache (``build_cache``)."""
    if split == "test":
        return tuple(pair for group in GROUPS for pair in load_group(group))
    pcms, texts_ = cached_clips(split)
    return tuple((_wav(pcm), text) for pcm, text in zip(pcms, texts_))


def _synthesize(splits) -> None:
    """``build_cache`` of those splits, or a FileNotFoundError where a synthesizer is missing."""
    if shutil.which("espeak-ng") is None or shutil.which("flite") is None:
        raise FileNotFoundError("synthesizing the speech clips needs espeak-ng and flite on PATH: "
                                "`apt-get install espeak-ng flite` (a GPU machine: tools/gpu/synthesizers.sh)")
    build_cache(tuple(splits))


def _transcripts(split: str) -> list[str]:
    return [utterance.text for utterance in plan(split)]


# train and dev as arrays, for zoo.training.arrays: the plan's texts need no audio; the clips, the cache
CLIPS = Clips(sample_rate=SAMPLE_RATE, transcripts=_transcripts, waveforms=lambda split: cached_clips(split)[0],
              build=_synthesize)


SPEECH_METRICS = {"wer": "wer", "cer": "cer"}
_ABOUT = ("Synthesized by `zoo/data/speech.py` from the committed texts `corpora/speech-texts.tsv.xz` (English "
          "side of the Bible (public domain) and LibreOffice help (MPL-2.0) corpora, Debian synopses, numbers by "
          "num2words) with Debian's espeak-ng (GPL-3+) and flite (BSD-like) voices; the test split's audio "
          "is committed as `corpora/speech-test.npz`. Test voices are never heard in training.")


def _dataset(name: str, references, summary: str, parts: tuple = (), clips: Clips | None = None) -> Dataset:
    return Dataset(name=name, references=references, metrics=SPEECH_METRICS, selection="wer", parts=parts,
                   summary=summary, about=_ABOUT, clips=clips)


def _group_references(group: str):
    def references(split: str) -> dict:
        return grouped(load_group(group)) if split == "test" else grouped(load(split))
    return references


DATASET = _dataset("speech", lambda split: grouped(load(split)), ", a WAV clip of English speech in, its words out",
                   parts=tuple(f"speech-{group}" for group in GROUPS), clips=CLIPS)
PARTS = tuple(_dataset(f"speech-{group}", _group_references(group),
                       f", a WAV clip in a voice never heard ({'espeak-ng' if group == 'espeak' else 'flite'}), "
                       "its words out") for group in GROUPS)


if __name__ == "__main__":
    import sys

    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "texts":
        print(build_texts())
    elif command == "test":
        print(build_test())
    elif command == "cache":
        print(*build_cache(), sep="\n")
    else:
        sys.exit("usage: python -m zoo.data.speech texts | test | cache")
