"""Train a model from a recipe with Keras ``fit`` (TensorFlow data pipeline, any Keras backend).

A recipe is a JSON file (see ``recipes/``): dataset, family and model config, tokenizers, length
limits and optimisation settings. ``train`` builds the vocabularies from the training split (saved
in the work folder so a resumed run reuses them; a ``"split": "sentencepiece"`` tokenizer trains its
SentencePiece model there too, ``build_tokenizer``), the tf.data pipelines and the model, then fits with:
SequenceMetrics (the dataset's metrics on dev, as ``zoo.data.dataset`` declares them), Perplexity,
AtomicCheckpoint (last + best weights by the dataset's selection metric, atomic), AtomicBackup (weights
and optimizer state after every epoch, restored before ``fit``: a killed run resumes from its last
finished epoch, and a finished one continues when asked for more epochs), a learning-rate schedule,
TensorBoard scalars, attention maps and predictions of a few dev examples (AttentionMapLogger), and a
CSV log.
"""
from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import pathlib

import keras
import tensorflow as tf

from zoo import data, models
from zoo.data.pipeline import make_dataset
from zoo.evaluation import evaluate_recipe
from zoo.hub import check_weights_dtype, load_tokenizer, round_weights, save_tokenizer, tokenizer_files
from zoo.predictor import DecodingConfig, Predictor
from zoo.text.subword import MODEL_TYPES, train_sentencepiece, vocabulary_of
from zoo.text.tokenizer import Tokenizer
from zoo.text.vocab import RESERVED, Vocabulary
from zoo.training.callbacks import (AtomicBackup, AtomicCheckpoint, AttentionMapLogger, Perplexity, SequenceMetrics,
                                   logdir_problem)
from zoo.training.distill import check_distill, teacher_pairs
from zoo.training.losses import compile_trainer
from zoo.training.pretrain import check_pretrain_source, pretrain_source
from zoo.training.prior import log_prior, set_output_prior
from zoo.training.schedule import check_plateau, lr_callback

log = logging.getLogger(__name__)

RECIPE_KEYS = {
    "name": str, "dataset": str, "family": str, "model": dict, "source_tokenizer": dict,
    "target_tokenizer": dict, "max_source_length": int, "max_target_length": int, "batch_size": int,
    "epochs": int, "learning_rate": float, "decay_from_epoch": int, "decay_rate": float,
    "clipnorm": float, "seed": int, "dev_examples": int,
}
OPTIONAL_RECIPE_KEYS = {"restarts": list, "init_from": str, "precision": str, "distill": dict, "plateau": dict,
                        "weights_dtype": str, "min_count": int, "frontend": dict, "label_smoothing": float,
                        "beam_size": int, "baseline_model": str, "pretrain_source": dict,
                        "truncate_source": bool, "output_prior": bool, "batch_tokens": int}
# A media recipe ("frontend": {"kind": "audio" | "image", ...}, see zoo.frontends) has no source tokenizer.
TEXT_SOURCE_KEYS = ("source_tokenizer", "max_source_length")
# Tokenizer keys of a recipe that train a subword model ("split": "sentencepiece" only, "vocab_size"
# required) and are no ``Tokenizer`` argument: ``tokenizer_settings`` leaves them out.
SUBWORD_KEYS = {"vocab_size": int, "model_type": str, "character_coverage": float}
RECIPES_DIR = pathlib.Path(__file__).resolve().parents[2] / "recipes"


def load_recipe(recipe: str | os.PathLike | dict) -> dict:
    """A recipe path, a name in ``recipes/`` or a dict -> validated recipe dict."""
    if not isinstance(recipe, dict):
        path = pathlib.Path(recipe)
        if not path.is_file() and (RECIPES_DIR / f"{recipe}.json").is_file():
            path = RECIPES_DIR / f"{recipe}.json"
        if not path.is_file():
            raise FileNotFoundError(f"Recipe {str(recipe)!r} not found (neither a file nor a name in {RECIPES_DIR})")
        recipe = json.loads(path.read_text())
    required = set(RECIPE_KEYS) - (set(TEXT_SOURCE_KEYS) if "frontend" in recipe else set())
    missing = sorted(required - set(recipe))
    unknown = sorted(set(recipe) - set(RECIPE_KEYS) - set(OPTIONAL_RECIPE_KEYS) - {"comment"})
    if missing or unknown:
        raise ValueError(f"Recipe keys: missing {missing}, unknown {unknown}")
    for key, kind in {**RECIPE_KEYS, **OPTIONAL_RECIPE_KEYS}.items():
        if key in recipe and not isinstance(recipe[key], (int, float) if kind is float else kind):
            raise ValueError(f"Recipe key {key!r} must be {kind.__name__}, got {recipe[key]!r}")
    for key in ("source_tokenizer", "target_tokenizer"):
        if key in recipe:
            check_tokenizer_recipe(recipe[key], key)
    _check_restarts(recipe.get("restarts", []))
    if "distill" in recipe:
        check_distill(recipe["distill"])
    if "plateau" in recipe:
        check_plateau(recipe["plateau"])
    if "pretrain_source" in recipe:
        check_pretrain_source(recipe["pretrain_source"])
    if "weights_dtype" in recipe:
        check_weights_dtype(recipe["weights_dtype"], "Recipe key 'weights_dtype'")
    if recipe.get("precision", "float32") not in models.PRECISIONS:
        raise ValueError(f"Recipe key 'precision' must be one of {list(models.PRECISIONS)}, got {recipe['precision']!r}")
    return recipe


def check_tokenizer_recipe(config: dict, key: str = "tokenizer") -> None:
    """A recipe's tokenizer dict: ``SUBWORD_KEYS`` with ``"split": "sentencepiece"`` only, where
    ``vocab_size`` is required; a ``ValueError`` naming the recipe key otherwise."""
    subword = sorted(set(config) & set(SUBWORD_KEYS))
    if config.get("split") != "sentencepiece":
        if subword:
            raise ValueError(f"Recipe key {key!r}: {subword} are for \"split\": \"sentencepiece\" only")
        return
    size = config.get("vocab_size")
    if isinstance(size, bool) or not isinstance(size, int) or size <= len(RESERVED):
        raise ValueError(f"Recipe key {key!r}: \"split\": \"sentencepiece\" needs a \"vocab_size\", an integer "
                         f"above {len(RESERVED)} (the reserved tokens); got {size!r}")
    if config.get("model_type", "unigram") not in MODEL_TYPES:
        raise ValueError(f"Recipe key {key!r}: \"model_type\" must be one of {list(MODEL_TYPES)}, "
                         f"got {config['model_type']!r}")
    coverage = config.get("character_coverage", 1.0)
    if isinstance(coverage, bool) or not isinstance(coverage, (int, float)) or not 0 < coverage <= 1:
        raise ValueError(f"Recipe key {key!r}: \"character_coverage\" must be in (0, 1], got {coverage!r}")


def tokenizer_settings(config: dict) -> dict:
    """A recipe's tokenizer dict -> the ``Tokenizer`` arguments (``get_config()``'s keys): without the
    keys that only train a subword model (``SUBWORD_KEYS``)."""
    return {key: value for key, value in config.items() if key not in SUBWORD_KEYS}


def _check_restarts(restarts: list) -> None:
    previous = 1
    for i, restart in enumerate(restarts):
        ok = (isinstance(restart, dict) and set(restart) == {"epoch", "learning_rate", "decay_from_epoch"}
              and all(isinstance(restart[k], int) and not isinstance(restart[k], bool) for k in ("epoch", "decay_from_epoch"))
              and isinstance(restart["learning_rate"], (int, float)) and restart["learning_rate"] > 0
              and previous < restart["epoch"] <= restart["decay_from_epoch"])
        if not ok:
            raise ValueError(f"Recipe key 'restarts'[{i}] must be {{'epoch', 'learning_rate', 'decay_from_epoch'}} "
                             f"with a learning_rate > 0 and {previous} < epoch <= decay_from_epoch, epochs "
                             f"increasing; got {restart!r}")
        previous = restart["epoch"]


def mirrored_strategy(devices=None):
    """``tf.distribute.MirroredStrategy`` over ``devices`` (default: every local GPU, else the CPU), for
    data-parallel training: ``with mirrored_strategy().scope(): train(...)``; a recipe's ``batch_size``
    is then the global batch, split across the replicas. TensorFlow backend only."""
    if keras.backend.backend() != "tensorflow":
        raise ValueError(f"mirrored training needs KERAS_BACKEND=tensorflow, not {keras.backend.backend()!r}")
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(devices)


def data_parallel(devices=None):
    """A context in which ``train`` runs data-parallel over ``devices`` (default: every local GPU, else
    the CPU), the recipe's ``batch_size`` being the global batch split across them:
    ``with data_parallel(): train(...)``. On TensorFlow, ``mirrored_strategy(devices).scope()``; on JAX,
    ``keras.distribution.DataParallel`` (``devices`` as ``keras.distribution.list_devices()`` names
    them), which needs ``batch_size`` to be a multiple of the device count."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return mirrored_strategy(devices).scope()
    if backend == "jax":
        return keras.distribution.DataParallel(devices=devices).scope()
    raise ValueError(f"data-parallel training needs KERAS_BACKEND=tensorflow or jax, not {backend!r}")


def replicas() -> int:
    """How many replicas train in sync: the current tf.distribute strategy's on TensorFlow, the
    devices of the current ``keras.distribution.DataParallel`` on JAX (1 outside either)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.distribute.get_strategy().num_replicas_in_sync
    distribution = keras.distribution.distribution()
    return distribution.device_mesh.devices.size if isinstance(distribution, keras.distribution.DataParallel) else 1


def join_processes(coordinator: str, count: int, index: int) -> None:
    """Joins this process to ``count`` processes that train one run together (on JAX): process
    ``index`` of them, ``coordinator`` ("host:port") being where process 0 listens. Then
    ``with data_parallel(): train(...)`` trains on every device of every process, the recipe's
    ``batch_size`` the global batch: each process feeds its own share of each batch, and process
    ``index`` > 0 keeps its copy of the run in ``WORKDIR/process-{index}``. Launch one per host (or
    per GPU) with the same arguments but ``index``: ``zoo train --coordinator``."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 2:
        raise ValueError(f"--processes must be an integer >= 2, got {count!r}")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
        raise ValueError(f"--process-id must be an integer in [0, {count - 1}], got {index!r}")
    host, _, port = coordinator.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--coordinator must be HOST:PORT (process 0's address), got {coordinator!r}")
    if keras.backend.backend() != "jax":
        raise ValueError(f"training in several processes needs KERAS_BACKEND=jax, not {keras.backend.backend()!r}")
    keras.distribution.initialize(coordinator, count, index)


def processes() -> tuple[int, int]:
    """(this process's index, how many processes train together): more than one after
    ``join_processes`` (``zoo train --coordinator``), else (0, 1)."""
    if keras.backend.backend() != "jax":
        return 0, 1
    import jax

    return jax.process_index(), jax.process_count()


def _check_all_devices() -> None:
    """Training in several processes runs inside ``data_parallel()`` over every process's devices."""
    import jax

    if replicas() != jax.device_count():
        raise ValueError(f"training in {jax.process_count()} processes runs inside data_parallel() over all "
                         f"{jax.device_count()} devices of them, not {replicas()}")


@contextlib.contextmanager
def _undistributed():
    """No distribution inside: a model built here lives on this process's own device."""
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(previous)


def build_tokenizer(texts, tokenizer_config: dict, min_count: int = 1) -> Tokenizer:
    """The ``Tokenizer`` a recipe's tokenizer dict makes of ``texts`` (one side's training texts): for
    ``"split": "sentencepiece"`` a SentencePiece model trained on them
    (``zoo.text.subword.train_sentencepiece`` with the dict's ``vocab_size``, ``model_type``,
    ``character_coverage`` and ``lowercase``; ``min_count`` does not apply) and its pieces as the
    vocabulary; else ``build_vocabulary``."""
    settings = tokenizer_settings(tokenizer_config)
    if settings.get("split") != "sentencepiece":
        return Tokenizer(build_vocabulary(texts, settings, min_count), **settings)
    check_tokenizer_recipe(tokenizer_config)
    options = {key: tokenizer_config[key] for key in SUBWORD_KEYS if key in tokenizer_config}
    model = train_sentencepiece(texts, lowercase=settings.get("lowercase", False), **options)
    return Tokenizer(vocabulary_of(model), **settings, model=model)


def build_vocabulary(texts, tokenizer_config: dict, min_count: int = 1) -> Vocabulary:
    """Vocabulary of every token the tokenizer's split rule finds in ``texts`` at least ``min_count`` times
    (a ``"sentencepiece"`` tokenizer's: its trained model's pieces, ``build_tokenizer``)."""
    import tensorflow as tf

    if tokenizer_config.get("split") == "sentencepiece":
        return build_tokenizer(texts, tokenizer_config).vocabulary
    splitter = Tokenizer(Vocabulary([]), **tokenizer_config)
    tokens = splitter.tokenize(tf.constant(list(texts))).to_list()
    return Vocabulary.build(([t.decode("utf-8") for t in row] for row in tokens), min_count=min_count)


def _saved_tokenizer(recipe: dict, workdir: pathlib.Path, side: str) -> Tokenizer | None:
    """The tokenizer of one side a run saved in ``workdir`` (vocabulary, SentencePiece model), or None."""
    config = recipe[f"{side}_tokenizer"]
    if all((workdir / name).is_file() for name in tokenizer_files(side, config)):
        return load_tokenizer(workdir, side, tokenizer_settings(config))
    return None


def run_tokenizers(recipe: dict, workdir: pathlib.Path, train_pairs, init=None) -> tuple[Tokenizer | None, Tokenizer]:
    """The run's (source, target) tokenizers over their vocabularies (and SentencePiece models), saved in
    ``workdir`` (``zoo.hub.save_tokenizer``); a media source has none (None), and only ``train_pairs``'
    targets are read."""
    if "frontend" in recipe:
        target = _saved_tokenizer(recipe, workdir, "target")
        if target is None:
            target = build_tokenizer([text for _, text in train_pairs], recipe["target_tokenizer"],
                                     recipe.get("min_count", 1))
            save_tokenizer(target, workdir, "target")
        return None, target
    saved = [_saved_tokenizer(recipe, workdir, side) for side in ("source", "target")]
    if all(tokenizer is not None for tokenizer in saved):  # a resumed run must keep the ids it trained with
        return tuple(saved)
    if init is not None:  # fine-tuning keeps the ids (vocabularies, models) the initial weights were trained with
        tokenizers = [Tokenizer(tokenizer.vocabulary, **tokenizer_settings(recipe[f"{side}_tokenizer"]),
                                **({} if tokenizer.model is None else {"model": tokenizer.model}))
                      for side, tokenizer in (("source", init.source_tokenizer), ("target", init.target_tokenizer))]
    else:
        # Ids follow the dataset's own training pairs even when a teacher's outputs replace its targets,
        # so every model trained on one dataset numbers its tokens alike (ensembles need that); tokens
        # only the training pairs hold (a transfer set's characters, say) come after them (not for a
        # SentencePiece model, whose pieces are the vocabulary: its training is the dataset's alone).
        dataset_pairs = data.load(recipe["dataset"], "train") if "distill" in recipe else train_pairs
        tokenizers = []
        for side, config in enumerate((recipe["source_tokenizer"], recipe["target_tokenizer"])):
            # recipe "min_count": rarer tokens stay out (<unk>; a copy model copies them from the source)
            tokenizer = build_tokenizer([pair[side] for pair in dataset_pairs], config, recipe.get("min_count", 1))
            if dataset_pairs is not train_pairs and tokenizer.model is None:
                tokens = list(tokenizer.vocabulary.tokens)
                known = set(tokens)
                tokens += [t for t in build_vocabulary([pair[side] for pair in train_pairs], config).tokens if t not in known]
                tokenizer = Tokenizer(Vocabulary(tokens), **config)
            tokenizers.append(tokenizer)
    for tokenizer, side in zip(tokenizers, ("source", "target")):
        save_tokenizer(tokenizer, workdir, side)
    return tuple(tokenizers)


def training_data(recipe: dict, workdir: pathlib.Path, init=None):
    """What a run trains on -> (train pairs, the distillation summary or None, source tokenizer, target
    tokenizer): the dataset's pairs, or with ``distill`` the teacher's outputs (``zoo.training.distill``), and
    tokenizers over the run's vocabularies (``workdir``'s, ``init``'s, or built). ``train`` and
    ``zoo.training.arrays.write`` share it."""
    distilled = None
    if "distill" in recipe:  # the teacher's outputs replace the training targets
        train_pairs, distilled = teacher_pairs(recipe, workdir)
    else:
        train_pairs = data.load(recipe["dataset"], "train")
    source_tokenizer, target_tokenizer = run_tokenizers(recipe, workdir, train_pairs, init)
    return train_pairs, distilled, source_tokenizer, target_tokenizer


def source_frontend(recipe: dict, source_tokenizer: Tokenizer | None, target_tokenizer: Tokenizer):
    """The recipe's source frontend: its ``frontend`` (audio, image), else text with the source
    tokenizer and ``max_source_length`` (and, for a copy model, the target side for extended ids)."""
    from zoo import frontends

    if "frontend" in recipe:
        return frontends.from_config(recipe["frontend"])
    max_oov = recipe["model"].get("max_oov", 0)
    return frontends.TextFrontend(source_tokenizer, recipe["max_source_length"],
                                  copy_vocabulary=target_tokenizer if max_oov else None, max_oov=max_oov,
                                  truncate=recipe.get("truncate_source", False))


def model_config(recipe: dict, source_tokenizer: Tokenizer | None, target_tokenizer: Tokenizer) -> dict:
    """The recipe's model config with the vocabulary sizes (no source vocabulary for a media source)."""
    return {**recipe["model"], "target_vocab_size": len(target_tokenizer.vocabulary),
            "source_vocab_size": None if source_tokenizer is None else len(source_tokenizer.vocabulary)}


def load_initial_model(recipe: dict):
    """The pretrained model named by the recipe's ``init_from`` (a name or folder), checked against the
    recipe: same family, tokenizers and model config except ``dropout`` (keys the recipe leaves out
    take the family's defaults), so the weights fit the recipe's model."""
    from zoo import hub

    source = recipe["init_from"]
    try:
        init = hub.load(source)
    except KeyError:
        raise ValueError(f"Recipe key 'init_from': {source!r} is neither a pretrained model name "
                         f"({', '.join(hub.list_models()) or 'none'}) nor a folder with a config.json") from None
    config = init.model.get_config()
    defaults = {name: parameter.default for name, parameter in
                inspect.signature(models.FAMILIES[recipe["family"]].__init__).parameters.items()
                if parameter.default is not inspect.Parameter.empty} if recipe["family"] in models.FAMILIES else {}
    wanted = {**defaults, **recipe["model"], "source_vocab_size": config["source_vocab_size"],
              "target_vocab_size": config["target_vocab_size"]}
    differences = sorted(k for k in set(config) | set(wanted) if k != "dropout" and config.get(k) != wanted.get(k))
    if init.model.family != recipe["family"]:
        differences.insert(0, "family")
    sides = ("target_tokenizer",) if "frontend" in recipe else ("source_tokenizer", "target_tokenizer")
    if "frontend" in recipe and init.frontend.get_config() != {**init.frontend.get_config(), **recipe["frontend"]}:
        differences.append("frontend")
    for side in sides:  # a media model has no source tokenizer: its frontend is compared above
        tokenizer = getattr(init, side)
        if tokenizer.get_config() != {**tokenizer.get_config(), **tokenizer_settings(recipe[side])}:
            differences.append(side)
    if differences:
        raise ValueError(f"Recipe key 'init_from': {source!r} differs from the recipe in {differences}; "
                         "only 'dropout' may change when fine-tuning")
    return init


def train(recipe, workdir: str | os.PathLike, epochs: int | None = None, output: str | os.PathLike | None = None,
          verbose: int | str = "auto", logdir: str | os.PathLike | None = None, attention_examples: int = 4,
          attention_beam_size: int = 4, resume: bool = True, init_from: str | None = None,
          precision: str | None = None) -> tuple[Predictor, dict]:
    """Trains (or resumes) a recipe in ``workdir``; returns the predictor (best dev weights) and metrics.

    ``epochs`` is the total epoch count (a resumed run trains only the missing ones; a finished run
    with the same count only re-evaluates). With ``output``, also writes a pretrained folder (weights,
    vocabularies, config, metrics, card). With ``resume=False`` a workdir that already holds a run is
    an error instead of being continued. TensorBoard logs go to ``logdir`` (default
    ``workdir/logs``), with the attention maps of ``attention_examples`` dev examples (0: none),
    decoded with beam search of ``attention_beam_size``, in ``logdir/attention``.

    A recipe with ``init_from`` (a pretrained name or folder) fine-tunes: training starts from that
    model's weights and vocabularies (a fresh optimizer), e.g. on your own data or with more dropout.
    The ``init_from`` argument sets (or replaces) that key.

    A recipe with ``distill`` ({"teacher", optional "extra_sources", "max_extra_sources",
    "beam_size", "alpha"}) trains on the teacher's outputs instead of the dataset's targets (``zoo.training.distill``).

    The recipe's ``precision`` (or the ``precision`` argument, which replaces it) is the dtype policy
    training computes in: "float32" (default), or "mixed_float16" (with dynamic loss scaling) or
    "mixed_bfloat16" for GPUs with tensor cores; weights stay float32, and the final evaluation and the
    pretrained folder use a float32 model, as ``zoo.load`` does. A run resumes in its own precision.

    Called inside ``data_parallel()`` (``zoo train --mirrored``; on TensorFlow any tf.distribute
    strategy's scope, e.g. ``mirrored_strategy``), it trains data-parallel: every device gets a slice
    of each batch. After ``join_processes`` (JAX), likewise over every device of several processes:
    each builds the same batches and feeds its share of them, all keep the same weights, and process
    ``i`` > 0 keeps its copy of the run in ``workdir/process-{i}`` and writes no ``output``.
    """
    overrides = {"init_from": None if init_from is None else str(init_from), "precision": precision}
    recipe = load_recipe({**load_recipe(recipe), **{k: v for k, v in overrides.items() if v is not None}})
    precision = recipe.get("precision", "float32")
    keras.utils.set_random_seed(recipe["seed"])
    init = load_initial_model(recipe) if "init_from" in recipe else None
    workdir = pathlib.Path(workdir)
    process = processes()
    if process[1] > 1:
        _check_all_devices()
        # each process feeds its own share of every batch (make_dataset), not Keras' auto-shard
        keras.distribution.distribution().auto_shard_dataset = False
        if process[0] > 0:  # every process keeps the whole run (the same weights); process 0 packages it
            workdir, output = workdir / f"process-{process[0]}", None
    done = _epochs_done(workdir)
    if done and not resume:
        raise ValueError(f"--workdir {str(workdir)!r} already holds a run ({done} epochs done): "
                         "pass --resume to continue it, or choose another --workdir")
    stored = workdir / "recipe.json"
    trained_in = json.loads(stored.read_text()).get("precision", "float32") if done and stored.is_file() else precision
    if trained_in != precision:  # the backup's optimizer state (loss scale) belongs to one precision
        raise ValueError(f"precision {precision!r}: --workdir {str(workdir)!r} holds a run trained in "
                         f"{trained_in!r}; resume it in {trained_in!r} or choose another --workdir")
    # JAX shards every batch evenly across the devices; tf.distribute splits uneven batches itself.
    multiple = replicas() if keras.backend.backend() == "jax" else 1
    if recipe["batch_size"] % multiple:
        raise ValueError(f"Recipe key 'batch_size': {recipe['batch_size']} must be a multiple of the "
                         f"{multiple} devices training data-parallel")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "recipe.json").write_text(json.dumps(recipe, indent=2))
    epochs = recipe["epochs"] if epochs is None else epochs

    train_pairs, distilled, source_tokenizer, target_tokenizer = training_data(recipe, workdir, init)
    dev_pairs = data.load(recipe["dataset"], "dev")
    limits = dict(max_source_length=recipe.get("max_source_length"), max_target_length=recipe["max_target_length"])
    frontend = source_frontend(recipe, source_tokenizer, target_tokenizer)
    # JAX compiles a step per batch shape: batches padded to their bucket's width, a few shapes in all.
    shapes = dict(batch_multiple=multiple, process=process, fixed_widths=keras.backend.backend() == "jax")
    train_data = make_dataset(train_pairs, frontend, target_tokenizer, recipe["batch_size"], seed=recipe["seed"],
                              batch_tokens=recipe.get("batch_tokens"), **shapes, **limits)
    dev_data = make_dataset(dev_pairs, frontend, target_tokenizer, recipe["batch_size"], shuffle=False,
                            **shapes, **limits)

    model = models.build(recipe["family"], model_config(recipe, source_tokenizer, target_tokenizer), precision)
    if init is not None:  # a resumed run's backup replaces these before fit
        model.trainer.set_weights(init.model.trainer.get_weights())
    elif recipe.get("output_prior") and not done:
        # The targets alone, tokenized (no source decoded again: a speech split is gigabytes of waveforms),
        # those the length limit keeps; a copy model's source words outside the vocabulary count as <unk>.
        targets = target_tokenizer.encode(tf.constant([target for _, target in train_pairs]))
        targets = tf.ragged.boolean_mask(targets, targets.row_lengths() <= recipe["max_target_length"])
        set_output_prior(model, log_prior(targets.flat_values.numpy(), int(targets.nrows()),
                                          len(target_tokenizer.vocabulary)))
    if "pretrain_source" in recipe and not done and epochs > 0:
        _pretrain_source(model, recipe, workdir, train_data, dev_data, len(target_tokenizer.vocabulary), verbose)
    def predictor_of(model) -> Predictor:
        return Predictor(model, frontend, target_tokenizer, name=recipe["name"],
                         max_target_length=recipe["max_target_length"])

    predictor = predictor_of(model)
    compile_trainer(model, recipe)
    checkpoints = workdir / "checkpoints"
    dev_references = data.references(recipe["dataset"], "dev")
    declared = data.get(recipe["dataset"])  # its metrics are logged; its selection metric picks the checkpoint
    backup = AtomicBackup(str(workdir / "backup"))
    callbacks = [
        SequenceMetrics(predictor, dev_references, max_examples=recipe["dev_examples"], metrics=declared.metrics),
        Perplexity(),
        AtomicCheckpoint(str(checkpoints), model, monitor=declared.monitor.name, mode=declared.monitor.mode),
        backup,
        lr_callback(recipe, declared.monitor),
        *tensorboard_callbacks(predictor, dev_references, workdir / "logs" if logdir is None else logdir,
                               attention_examples, attention_beam_size),
        keras.callbacks.CSVLogger(str(workdir / "history.csv"), append=True),
    ]
    log.info("training %s: %d parameters, %d epochs, %s, %d replica(s)", recipe["name"], model.count_params(),
             epochs, precision, replicas())
    if epochs > 0:
        initial_epoch = backup.restore(model.trainer)  # epochs already done (weights, optimizer state); 0 if none
        model.trainer.fit(train_data, validation_data=dev_data, epochs=epochs, initial_epoch=initial_epoch,
                          callbacks=callbacks, verbose=verbose, shuffle=False)  # the pipeline shuffles before bucketing

    # After training in several processes, each evaluates by itself (process 0 packages): models built
    # from here live on their process's own device.
    with _undistributed() if process[1] > 1 else contextlib.nullcontext():
        if not (checkpoints / "best.weights.h5").is_file():
            raise FileNotFoundError(f"{checkpoints / 'best.weights.h5'} does not exist: train at least one epoch first")
        if precision != "float32" or process[1] > 1:  # evaluate and ship the float32 model that zoo.load builds
            model = models.build(recipe["family"], model.get_config())
            predictor = predictor_of(model)
        model.load_weights(str(checkpoints / "best.weights.h5"))
        weights_dtype = recipe.get("weights_dtype", "float32")
        round_weights(model, weights_dtype)  # evaluate what the folder will store
        metrics = evaluate_recipe(predictor, recipe, epochs=_epochs_done(workdir))
        predictor.decoding = DecodingConfig.from_config({"beam": metrics["beam"]["strategy"]})  # as the folder's
        if distilled is not None:
            metrics["distillation"] = distilled
        if weights_dtype != "float32":
            metrics["weights_dtype"] = weights_dtype
        (workdir / "metrics.json").write_text(json.dumps(metrics, indent=2))
        if output is not None:
            from zoo import hub
            from zoo.packaging.card import model_card

            hub.save(predictor, output, metrics, model_card(recipe, metrics),
                     extra_config={"name": recipe["name"], "dataset": recipe["dataset"],
                                   "recipe": f"recipes/{recipe['name']}.json",
                                   "beam": metrics["beam"]["strategy"]},
                     weights_dtype=weights_dtype)
        return predictor, metrics


def _pretrain_source(model, recipe: dict, workdir: pathlib.Path, train_data, dev_data, vocab_size: int,
                     verbose) -> None:
    """A fresh run's ``pretrain_source`` (``zoo.training.pretrain``) on the training batches' sources and the
    words of their targets; its last epoch's figures go to ``workdir/pretrain_source.json``."""
    import tensorflow as tf

    def tags(inputs, target, weights):  # target (batch, tgt_len) ids, 0 on padding
        present = tf.reduce_max(tf.one_hot(target, vocab_size), axis=1)[:, len(RESERVED):]  # (batch, words)
        return {"source": inputs["source"], "source_length": inputs["source_length"]}, present

    config = recipe["pretrain_source"]
    figures = pretrain_source(model, train_data.map(tags), dev_data.map(tags), vocab_size - len(RESERVED),
                              config["epochs"], config.get("learning_rate", recipe["learning_rate"]), verbose)
    log.info("pretrained the source front: %s", figures)
    (workdir / "pretrain_source.json").write_text(json.dumps({**config, **figures}, indent=2))


def tensorboard_callbacks(predictor: Predictor, references: dict[str, list[str]], logdir, examples: int,
                          beam_size: int) -> list[keras.callbacks.Callback]:
    """TensorBoard scalars in ``logdir``, attention maps and predictions of ``examples`` dev sources
    in ``logdir/attention``; none (with a warning, training goes on) when ``logdir`` is unwritable."""
    problem = logdir_problem(logdir)
    if problem:
        log.warning("%s: training goes on without TensorBoard logs", problem)
        return []
    callbacks = [keras.callbacks.TensorBoard(str(logdir))]
    if examples:
        callbacks.append(AttentionMapLogger(predictor, pick_examples(predictor, references, examples),
                                            os.path.join(str(logdir), "attention"), beam_size=beam_size,
                                            references=references))
    return callbacks


def pick_examples(predictor: Predictor, sources, count: int) -> list:
    """``count`` sources spread from the shortest to the longest, among those the model accepts (for
    pictures and clips, the first ``count`` the frontend reads: their order is the dataset's, already mixed)."""
    import numpy as np
    import tensorflow as tf

    if predictor.frontend.kind != "text":  # pictures, clips: the first ``count`` the frontend reads
        sources = [s for s in sources if isinstance(s, bytes)]
        if not sources:
            return []
        errors = predictor.frontend.decode(tf.constant(sources[: 4 * count]))["error"].numpy()
        return [s for s, error in zip(sources, errors) if not error][:count]
    sources = [s for s in sources if s.strip()]
    if not sources:
        return []
    lengths = predictor.source_tokenizer.tokenize(tf.constant(sources)).row_lengths().numpy()
    fitting = sorted((int(n), s) for n, s in zip(lengths, sources) if 0 < n <= predictor.max_source_length)
    if not fitting:
        return []
    positions = np.linspace(0, len(fitting) - 1, count).round().astype(int)
    return [fitting[i][1] for i in sorted(set(positions))]


def _epochs_done(workdir: pathlib.Path) -> int:
    state = workdir / "checkpoints" / "state.json"
    return json.loads(state.read_text())["epoch"] if state.is_file() else 0
