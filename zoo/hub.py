"""Pretrained models: a registry of folders under ``pretrained/``, checksums, ``load``/``save``.

A pretrained folder holds ``config.json`` (family, model config, tokenizers, length limits),
``model.weights.h5`` (inference weights only), ``source_vocab.txt``, ``target_vocab.txt``,
``metrics.json``, a model card ``README.md`` and ``checksums.sha256`` (``sha256sum`` format) covering
every other file. Loading verifies every checksum first and never touches the network. A side whose
tokenizer splits into SentencePiece subwords (config ``"split": "sentencepiece"``) also has its model,
``source_spm.model`` / ``target_spm.model``, beside its vocabulary (the model's pieces in id order).

An ensemble folder (``"family": "ensemble"``) holds no weights or vocabularies: its ``config.json``
names its ``members`` (pretrained names) and their mixture ``weights``; loading it loads (and
verifies) each member. ``zoo.packaging.ensemble.package_ensemble`` writes one, with its evaluation and card.

A folder's ``model.weights.h5`` may hold its float32 weights rounded to float16, or its matrices as
int8 with a float32 scale per output channel (config ``"weights_dtype"``; ``save(...,
weights_dtype=...)``, ``round_weights``): see ``zoo.packaging.compression``.
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import tempfile

from zoo.io import atomic_path, private_folder_to_public, sha256_of

PRETRAINED_DIR = pathlib.Path(os.environ.get("ZOO_PRETRAINED_DIR", pathlib.Path(__file__).resolve().parents[1] / "pretrained"))
CHECKSUMS = "checksums.sha256"
FILES = ("config.json", "model.weights.h5", "source_vocab.txt", "target_vocab.txt", "metrics.json", "README.md")
ENSEMBLE_FILES = ("config.json", "metrics.json", "README.md")
SIDES = ("source", "target")
VOCABULARY_FILE = "{side}_vocab.txt"
SENTENCEPIECE_FILE = "{side}_spm.model"  # a subword tokenizer's SentencePiece model proto
WEIGHTS_DTYPES = ("float32", "float16", "int8")
INT8_SCALES = "int8_scales"  # the group of an int8 file that holds each matrix's scales, under the matrix's path


class ChecksumError(RuntimeError):
    """A pretrained file is missing, truncated or corrupted."""


def list_models() -> list[str]:
    """Names of the pretrained models shipped in ``pretrained/``."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / "config.json").is_file())


def resolve(name_or_path: str | os.PathLike) -> pathlib.Path:
    """A registered model name, or a path to a pretrained folder -> its folder."""
    path = pathlib.Path(name_or_path)
    if (path / "config.json").is_file():
        return path
    if isinstance(name_or_path, str) and (PRETRAINED_DIR / name_or_path / "config.json").is_file():
        return PRETRAINED_DIR / name_or_path
    raise KeyError(f"Unknown model {str(name_or_path)!r}: not a pretrained name ({', '.join(list_models()) or 'none'}) "
                   "nor a folder with a config.json")


def verify(folder: str | os.PathLike) -> None:
    """Checks every file listed in ``checksums.sha256``; raises ``ChecksumError`` naming the file."""
    folder = pathlib.Path(folder)
    listing = folder / CHECKSUMS
    if not listing.is_file():
        raise ChecksumError(f"{listing} is missing: cannot verify the model's files")
    for line in listing.read_text().splitlines():
        digest, _, filename = line.strip().partition("  ")
        path = folder / filename
        if not path.is_file():
            raise ChecksumError(f"{path} is missing (listed in {CHECKSUMS})")
        if sha256_of(path) != digest:
            raise ChecksumError(f"{path} is corrupted or truncated: its SHA-256 does not match {CHECKSUMS}")


def decoding_config(name: str | os.PathLike):
    """A pretrained model's ``zoo.predictor.DecodingConfig``: the beam search its card reports (config
    ``beam``), what ``predict``, ``evaluate``, ``export`` and the CLI use unless told otherwise."""
    from zoo.predictor import DecodingConfig

    return DecodingConfig.from_config(json.loads((resolve(name) / "config.json").read_text()))


def write_checksums(folder: str | os.PathLike) -> None:
    """(Re)writes ``checksums.sha256`` for every file of a pretrained folder (after editing its card)."""
    folder = pathlib.Path(folder)
    config = json.loads((folder / "config.json").read_text())
    files = ENSEMBLE_FILES if config.get("family") == "ensemble" else FILES
    if "frontend" in config:  # a media source (audio, image) has no source vocabulary
        files = tuple(f for f in files if f != "source_vocab.txt")
    for side in SIDES:  # a subword tokenizer's SentencePiece model follows its vocabulary
        vocabulary = VOCABULARY_FILE.format(side=side)
        if vocabulary in files:
            at = files.index(vocabulary)
            files = (*files[:at], *tokenizer_files(side, config.get(f"{side}_tokenizer", {})), *files[at + 1:])
    (folder / CHECKSUMS).write_text("".join(f"{sha256_of(folder / f)}  {f}\n" for f in files))


def load(name: str | os.PathLike, verify_checksums: bool = True, jit_compile: bool = False):
    """Loads a pretrained model by name (see ``list_models()``) or folder -> a ``Predictor``;
    ``jit_compile=True`` for one that answers many calls (``Predictor.jit_compile``)."""
    predictor = _load(name, verify_checksums)
    predictor.jit_compile = jit_compile
    return predictor


def _load(name: str | os.PathLike, verify_checksums: bool):
    from zoo import frontends, models
    from zoo.predictor import DecodingConfig, Predictor

    folder = resolve(name)
    if verify_checksums:
        verify(folder)
    config = json.loads((folder / "config.json").read_text())
    if config.get("family") == "ensemble":
        return ensemble(config["members"], config.get("weights"), name=config.get("name", folder.name),
                        verify_checksums=verify_checksums, decoding=DecodingConfig.from_config(config))
    target = load_tokenizer(folder, "target", config["target_tokenizer"])
    if "frontend" in config:  # audio or image
        source = frontends.from_config(config["frontend"])
    else:
        source = load_tokenizer(folder, "source", config["source_tokenizer"])
    model = models.build(config["family"], config["model"])
    try:
        with readable_weights(folder / "model.weights.h5", config.get("weights_dtype", "float32")) as path:
            model.load_weights(str(path))
    except Exception as error:  # h5py / Keras errors on a damaged or mismatched file
        raise ChecksumError(f"{folder / 'model.weights.h5'} could not be loaded: {error}") from None
    return Predictor(model, source, target,
                     max_source_length=config.get("max_source_length"), max_target_length=config["max_target_length"],
                     name=config.get("name", folder.name), decoding=DecodingConfig.from_config(config),
                     truncate_source=config.get("truncate_source", False))


def load_tokenizer(folder: str | os.PathLike, side: str, config: dict):
    """The ``Tokenizer`` of one side (``"source"`` or ``"target"``) of a folder (a pretrained one, or a
    training run's work folder): its config (``Tokenizer.get_config()``), its vocabulary file and, for
    ``"split": "sentencepiece"``, its SentencePiece model file."""
    from zoo.text.tokenizer import Tokenizer
    from zoo.text.vocab import Vocabulary

    folder = pathlib.Path(folder)
    vocabulary = Vocabulary.load(folder / VOCABULARY_FILE.format(side=side))
    if config.get("split") == "sentencepiece":
        return Tokenizer(vocabulary, **config, model=(folder / SENTENCEPIECE_FILE.format(side=side)).read_bytes())
    return Tokenizer(vocabulary, **config)


def tokenizer_files(side: str, config: dict) -> list[str]:
    """The files ``save_tokenizer`` writes for one side with this tokenizer config."""
    return [VOCABULARY_FILE.format(side=side)] + ([SENTENCEPIECE_FILE.format(side=side)]
                                                 if config.get("split") == "sentencepiece" else [])


def save_tokenizer(tokenizer, folder: str | os.PathLike, side: str) -> None:
    """Writes one side's vocabulary and, for a subword tokenizer, its SentencePiece model into ``folder``
    (atomically, file by file): what ``load_tokenizer`` reads back with ``tokenizer.get_config()``."""
    folder = pathlib.Path(folder)
    tokenizer.vocabulary.save(folder / VOCABULARY_FILE.format(side=side))
    if tokenizer.model is not None:
        with atomic_path(folder / SENTENCEPIECE_FILE.format(side=side)) as tmp:
            pathlib.Path(tmp).write_bytes(tokenizer.model)


@contextlib.contextmanager
def writing_folder(folder: pathlib.Path):
    """Yields a temp folder beside ``folder``; on success checksums it and renames it into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".tmp-{folder.name}-"))
    try:
        yield tmp
        write_checksums(tmp)
        private_folder_to_public(tmp)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def save(predictor, folder: str | os.PathLike, metrics: dict, card: str, extra_config: dict | None = None,
         weights_dtype: str = "float32") -> pathlib.Path:
    """Writes a pretrained folder (built in a temp folder, then renamed into place). The config's
    ``name`` is the folder's unless ``extra_config`` gives one. ``weights_dtype`` "float16" stores the
    weights rounded to float16 (``round_weights`` the model first, so ``metrics`` measure it)."""
    folder = pathlib.Path(folder)
    check_weights_dtype(weights_dtype)
    with writing_folder(folder) as tmp:
        text = predictor.frontend.kind == "text"
        source = ({"source_tokenizer": predictor.source_tokenizer.get_config(),
                   "max_source_length": predictor.max_source_length} if text
                  else {"frontend": predictor.frontend.get_config()})
        config = {
            "name": folder.name,
            "family": predictor.model.family,
            "model": predictor.model.get_config(),
            **{key: value for key, value in source.items() if key != "max_source_length"},
            "target_tokenizer": predictor.target_tokenizer.get_config(),
            **({"max_source_length": predictor.max_source_length} if text else {}),
            **({"truncate_source": True} if text and predictor.frontend.truncate else {}),
            "max_target_length": predictor.max_target_length,
            **(extra_config or {}),
            **({"weights_dtype": weights_dtype} if weights_dtype != "float32" else {}),
        }
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        predictor.model.save_weights(str(tmp / "model.weights.h5"))
        store_weights_as(tmp / "model.weights.h5", weights_dtype)
        if text:
            save_tokenizer(predictor.source_tokenizer, tmp, "source")
        save_tokenizer(predictor.target_tokenizer, tmp, "target")
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        (tmp / "README.md").write_text(card)
    return folder


def ensemble(members, weights=None, name: str | None = None, verify_checksums: bool = True, decoding=None):
    """Pretrained models (names or folders) -> one ``Predictor`` decoding with their step-wise mixture
    (``zoo.models.ensemble.Ensemble``; ``weights``: one > 0 per member, default equal; ``decoding``:
    its ``DecodingConfig``, default greedy).

    The members must share their tokenizers and vocabularies; the ensemble accepts inputs up to the
    shortest member limit and decodes up to the longest."""
    from zoo.models.ensemble import Ensemble, check_ensemble_weights
    from zoo.predictor import Predictor

    if isinstance(members, (str, bytes, os.PathLike)) or not members:
        raise ValueError(f"members must be a list of at least one pretrained model name, got {members!r}")
    members = list(members)
    check_ensemble_weights(weights, len(members))
    predictors = [load(member, verify_checksums=verify_checksums) for member in members]
    first = predictors[0]
    for member, predictor in zip(members, predictors):
        if predictor.model.family == "ensemble":
            raise ValueError(f"ensemble member {member!r} is itself an ensemble: list its members instead")
        side = differing_tokenizer(predictor, first)
        if side:
            raise ValueError(f"ensemble member {member!r}: its {side} (settings or vocabulary) differs from "
                             f"{members[0]!r}'s; members must share both vocabularies")
    frontend = first.frontend
    if frontend.kind == "text":  # inputs up to the shortest member limit, cut to it where every member cuts
        frontend = type(frontend)(first.source_tokenizer, min(p.max_source_length for p in predictors),
                                  truncate=all(p.frontend.truncate for p in predictors))
    return Predictor(Ensemble([p.model for p in predictors], weights), frontend, first.target_tokenizer,
                     max_target_length=max(p.max_target_length for p in predictors),
                     name=name or "+".join(str(m) for m in members), decoding=decoding)


def differing_tokenizer(predictor, other) -> str | None:
    """``"source_tokenizer"`` or ``"target_tokenizer"``: the first whose settings or vocabulary differ
    between two Predictors, else None. Models that decode together or share weights need both equal."""
    if predictor.frontend.kind != other.frontend.kind:
        return "source frontend"
    sides = ("source_tokenizer", "target_tokenizer") if predictor.frontend.kind == "text" else ("target_tokenizer",)
    if "source_tokenizer" not in sides and predictor.frontend.get_config() != other.frontend.get_config():
        return "source frontend"
    for side in sides:
        ours, theirs = getattr(predictor, side), getattr(other, side)
        if (ours.get_config() != theirs.get_config() or ours.vocabulary.tokens != theirs.vocabulary.tokens
                or ours.model != theirs.model):  # a subword tokenizer's SentencePiece model (else None)
            return side
    return None


def check_weights_dtype(weights_dtype, what: str = "weights_dtype") -> str:
    if weights_dtype not in WEIGHTS_DTYPES:
        raise ValueError(f"{what} must be one of {list(WEIGHTS_DTYPES)}, got {weights_dtype!r}")
    return weights_dtype


def round_weights(model, weights_dtype: str) -> None:
    """Rounds a family's (``zoo.models``) float32 weights in place to what storing them in
    ``weights_dtype`` keeps, so evaluating it measures the stored model. "float32": no change."""
    check_weights_dtype(weights_dtype)
    if weights_dtype == "float32":
        return
    model.trainer.set_weights([stored_value(w, weights_dtype) for w in model.trainer.get_weights()])


def stored_value(values, weights_dtype: str):
    """What storing a weight array in ``weights_dtype`` gives back (``storage_form`` multiplied back
    into float32); arrays that are not float32 as they are."""
    import numpy as np

    stored, scales = storage_form(values, weights_dtype)
    if stored is values:
        return values
    restored = stored.astype(np.float32)
    return restored if scales is None else restored * scales


def storage_form(values, weights_dtype: str):
    """The one rule of weight storage: (array as stored, its int8 scales or None). A float32 array is
    rounded to float16, or for "int8" a matrix (2 or more axes) is quantized per output channel
    (``quantize_int8``) and a vector rounded to float16; anything else is stored as it is."""
    import numpy as np

    if weights_dtype == "float32" or not (isinstance(values, np.ndarray) and values.dtype == np.float32):
        return values, None
    if weights_dtype == "int8" and values.ndim >= 2:
        return quantize_int8(values)
    return values.astype(np.float16), None


def quantize_int8(values):
    """(..., channels) float32 -> (int8 array of the same shape, float32 scales (channels,)): symmetric,
    one scale per channel of the last axis (a kernel's output unit, an embedding's dimension), so that
    the channel's largest magnitude maps to 127; a weight moves by at most half its channel's scale."""
    import numpy as np

    scales = np.abs(values).max(axis=tuple(range(values.ndim - 1))) / 127.0
    scales = np.where(scales > 0, scales, 1.0).astype(np.float32)
    return np.clip(np.rint(values / scales), -127, 127).astype(np.int8), scales


def store_weights_as(path: str | os.PathLike, weights_dtype: str) -> None:
    """Rewrites a Keras ``.weights.h5`` file with every float32 array in ``weights_dtype`` (groups,
    attributes and other arrays copied as they are). "int8" stores each float32 matrix as int8 and its
    scales under ``INT8_SCALES`` + the matrix's path, vectors as float16 (``storage_form``). HDF5 does
    not give back the space of a replaced array, so the file is written anew (``zoo.io.atomic_path``)
    and renamed over ``path``."""
    check_weights_dtype(weights_dtype)
    if weights_dtype == "float32":
        return

    def convert(name, values, target):
        stored, scales = storage_form(values, weights_dtype)
        if scales is not None:
            target.file.create_dataset(f"{INT8_SCALES}/{name}", data=scales)
        return stored

    _rewrite_weights(path, path, convert)


@contextlib.contextmanager
def readable_weights(path: str | os.PathLike, weights_dtype: str):
    """Yields a weights file Keras loads: ``path`` itself, or for an "int8" folder a temporary copy
    with every int8 matrix multiplied back by its scales (float32)."""
    import h5py
    import numpy as np

    if weights_dtype != "int8":
        yield path
        return
    with tempfile.TemporaryDirectory() as tmp, h5py.File(path, "r") as stored:
        def convert(name, values, target):
            scales = stored.get(f"{INT8_SCALES}/{name}")
            return values if scales is None else values.astype(np.float32) * scales[()]

        readable = pathlib.Path(tmp) / "model.weights.h5"
        _rewrite_weights(path, readable, convert, skip=INT8_SCALES)
        yield readable


def _rewrite_weights(path, target_path, convert, skip: str | None = None) -> None:
    """Copies the HDF5 file ``path`` to ``target_path`` (atomically; the same path rewrites it), each
    dataset's values through ``convert(name, values, target_file)``; the top-level group ``skip`` left out."""
    import h5py

    def copy(source, target) -> None:
        target.attrs.update(dict(source.attrs))
        for name, item in source.items():
            if isinstance(item, h5py.Group):
                if item.name.lstrip("/") != skip:
                    copy(item, target.create_group(name))
            else:
                values = convert(item.name.lstrip("/"), item[()], target)
                target.create_dataset(name, data=values).attrs.update(dict(item.attrs))

    with atomic_path(target_path) as tmp, h5py.File(path, "r") as source, h5py.File(tmp, "w") as target:
        copy(source, target)
