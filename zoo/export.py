"""SavedModel export for the stock TF Serving binary: strings in, n-best strings and scores out.

``export("g2p-luong", "exports")`` writes ``exports/g2p-luong/<version>/``: a SavedModel whose graph
holds the source tokenizer (tf.lookup + tensorflow-text ops), the encoder, the decoding loop
(``zoo.decoding.search``, a ``tf.while_loop``) and detokenization, plus
``assets.extra/tf_serving_warmup_requests``. The folder is written under a temporary name, its ops
are checked against the model server's (``check_serving_ops``), and only then renamed into place,
so a server polling the folder never sees half an export.

Signatures (every input and output named; the first axis is the batch). The input is what the
model's frontend reads (``zoo.frontends``): ``text`` strings for text models, ``audio`` WAV bytes,
``image`` PNG/JPEG bytes.

- ``serving_default``: ``text`` | ``audio`` | ``image`` string (batch,)
  -> ``outputs`` string (batch, n_best), best first;
     ``scores`` float32 (batch, n_best): sum of token log-probabilities, ``</s>`` included;
     ``lengths`` int32 (batch, n_best): output tokens before ``</s>``;
     ``error`` string (batch,): "" for an input the model read, else why it could not.
- ``attention``: the same input -> the best hypothesis, for plotting: ``output_tokens`` string
  (batch, out_len), padded with ""; ``output_tokens`` ends with ``"</s>"`` when the model emitted it;
  ``weights`` float32 (batch, out_len, S') over the memory; ``lengths`` int32 (batch,); text models
  add ``source_tokens`` string (batch, S').

Input rules: the frontend's, the same ``Predictor`` applies. Where ``Predictor`` raises a
``ValueError`` naming the input (empty or only whitespace, more tokens than ``max_source_length``,
not a WAV file, ...), the server answers that row with empty outputs, score 0, length 0 and the
reason in ``error``; the other rows of the batch are answered as usual. Invalid UTF-8 in text becomes
U+FFFD, an unknown character. A row the frontend marks ``blank`` (silent audio) is answered the same
way with no error: an empty transcript. A batch of 0 gives (0, n_best) outputs.

The variables are the family's raw ``tf.Variable``s, tracked on the module: Keras 3 variables
only wrap them, and TF Serving's session-based loader cannot restore the wrappers.
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import tempfile
from typing import Sequence

import tensorflow as tf

from zoo import decoding, hub
from zoo.io import private_folder_to_public
from zoo.text.vocab import PAD_ID

# The model server release the op check targets: tensorflow/serving 2.21.0 is built on TensorFlow
# 2.21.0 and links tensorflow-text's `ops_lib` (2.21 release branch), whose ops are listed below.
SERVING_RELEASE = "2.21.0"
SERVING_IMAGE = f"tensorflow/serving:{SERVING_RELEASE}"
TF_TEXT_OPS = frozenset({
    "CaseFoldUTF8", "ConstrainedSequence", "FastBertNormalize", "FastWordpieceTokenizeWithOffsets",
    "FindSourceOffsets", "MaxSpanningTree", "NormalizeUTF8", "NormalizeUTF8WithOffsetsMap", "PhraseTokenize",
    "RegexSplitWithOffsets", "SentenceFragments", "SentenceFragmentsV2", "SentencepieceDetokenizeOp",
    "SentencepieceIdToStringOp", "SentencepieceOp", "SentencepieceStringToIdOp", "SentencepieceTokenizeOp",
    "SentencepieceTokenizeWithOffsetsOp", "SentencepieceVocabSizeOp", "SplitMergeTokenizeWithOffsets",
    "TFText>BoiseTagsToOffsets", "TFText>ByteSplitByOffsets", "TFText>ByteSplitWithOffsets",
    "TFText>FastSentencepieceDetokenize", "TFText>FastSentencepieceTokenize", "TFText>FastWordpieceDetokenize",
    "TFText>NgramsStringJoin", "TFText>OffsetsToBoiseTags", "TFText>PhraseDetokenize",
    "TFText>RoundRobinGenerateMasks", "TFText>RoundRobinTrim", "TFText>Utf8Binarize",
    "TFText>WhitespaceTokenizeWithOffsetsV2", "TokenizerFromLogits", "UnicodeScriptTokenizeWithOffsets",
    "WhitespaceTokenizeWithOffsets", "WordpieceTokenizeWithOffsets",
})
PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})  # tf.py_function / numpy_function
WARMUP_FILE = "tf_serving_warmup_requests"
TEXT = tf.TensorSpec([None], tf.string, name="text")


class ServingModule(tf.Module):
    """Raw inputs -> n-best strings and scores, every step in the graph (see the module docstring).

    Args:
        predictor: a ``zoo.predictor.Predictor`` (family, frontend, target tokenizer, length limit).
        strategy: the ``zoo.decoding`` strategy baked into the graph (greedy or beam search).
    """

    def __init__(self, predictor, strategy):
        super().__init__(name="seq2seq_serving")
        self._family = predictor.model  # plain Python object: not tracked; its variables are, below
        self.model_variables = [_raw_variable(v) for v in predictor.model.trainer.weights]
        self.frontend = predictor.frontend  # tf.Modules: tracks their lookup tables
        self.target_tokenizer = predictor.target_tokenizer
        self.model_inputs = predictor.model_inputs
        self.max_length = predictor.max_target_length + 1  # + </s>, as in Predictor
        self.strategy = strategy
        # The signature accepts any shape and checks the rank in the graph: TF Serving's C++ session does
        # not check a request against the placeholder's shape, and a static [None] would let Grappler
        # fold a rank check away (a [1, 3] request then came back as 3 rows).
        self.input_name = predictor.frontend.input_signature.name
        spec = tf.TensorSpec(None, tf.string, name=self.input_name)
        self.serve = tf.function(self._serve, input_signature=[spec], autograph=False)
        self.attention = tf.function(self._attention, input_signature=[spec], autograph=False)

    def signatures(self) -> dict:
        """Traces both signatures (without cuDNN kernels) -> {signature name: concrete function}."""
        with _without_cudnn(self._family):
            return {"serving_default": self.serve.get_concrete_function(),
                    "attention": self.attention.get_concrete_function()}

    def _checked(self, raw):
        """raw of any shape -> raw (batch,); an InvalidArgument naming the input unless it is 1-D."""
        check = tf.debugging.assert_rank(raw, 1, message=(
            f"input {self.input_name} must be a 1-D string tensor of shape [batch], one "
            f"{self.frontend.kind} per element (in REST, instances must be a list of strings)"))
        with tf.control_dependencies([check]):
            return tf.reshape(raw, [-1])  # (batch,), after the check (EnsureShape would fail first, unnamed)

    def _decode(self, raw):
        """raw (batch,) -> (``zoo.decoding.Decoded`` with n-best axis, the frontend's outputs, bad (batch,) bool:
        rows answered with an empty output, those with an error and those blank by rule (silence))."""
        source = self.frontend.decode(self._checked(raw))
        inputs = {key: source[key] for key in self.model_inputs}
        decoded = decoding.search(self._family, inputs, self.strategy, max_length=self.max_length)
        bad = tf.not_equal(source["error"], "")
        return decoded, source, tf.logical_or(bad, source["blank"]) if "blank" in source else bad

    def _serve(self, raw):
        """raw (batch,) -> outputs, scores, lengths (batch, n_best), error (batch,); see the module docstring."""
        decoded, source, bad = self._decode(raw)
        shape = tf.shape(decoded.ids)  # (batch, n_best, max_length)
        flat = tf.reshape(decoded.ids, [-1, shape[2]])  # (batch * n_best, max_length)
        copy = {}
        if "source_extended" in source:  # each hypothesis reads copied words from its own source
            copy = {key: tf.repeat(source[key], shape[1], axis=0) for key in ("source_tokens", "source_extended")}
        outputs = tf.reshape(self.target_tokenizer.detokenize(flat, **copy), shape[:2])  # (batch, n_best)
        blank = bad[:, None]
        return {
            "outputs": tf.where(blank, "", outputs),
            "scores": tf.where(blank, 0.0, tf.cast(decoded.scores, tf.float32)),
            "lengths": tf.where(blank, 0, tf.cast(decoded.lengths, tf.int32)),
            "error": source["error"],
        }

    def _attention(self, raw):
        """raw (batch,) -> the best hypothesis's output_tokens (batch, max_length), weights
        (batch, max_length, S'), lengths (batch,) and, for text, source_tokens (batch, S')."""
        decoded, source, bad = self._decode(raw)
        ids = decoded.ids[:, 0]  # (batch, max_length), best hypothesis
        weights = tf.cast(decoded.attention[:, 0], tf.float32)  # (batch, max_length, S')
        copy = {}
        if "source_extended" in source:
            copy = {key: source[key] for key in ("source_tokens", "source_extended")}
        tokens = self.target_tokenizer.id_strings(ids, **copy)  # (batch, max_length): "</s>" where emitted
        blank = tf.logical_or(bad[:, None], tf.equal(ids, PAD_ID))  # (batch, max_length)
        out = {
            "output_tokens": tf.where(blank, "", tokens),
            "weights": tf.where(blank[:, :, None], 0.0, weights),
            "lengths": tf.where(bad, 0, tf.cast(decoded.lengths[:, 0], tf.int32)),
        }
        if "source_tokens" in source:
            out["source_tokens"] = _pad_to_width(source["source_tokens"], tf.shape(weights)[2], "")  # (batch, S')
        return out


def _raw_variable(variable) -> tf.Variable:
    """A Keras 3 variable (TF backend) -> the ``tf.Variable`` it wraps."""
    raw = getattr(variable, "value", variable)
    if not isinstance(raw, tf.Variable):
        raise TypeError(f"export needs the TensorFlow backend: variable {variable.name!r} holds a "
                        f"{type(raw).__name__}, not a tf.Variable")
    return raw


def _pad_to_width(x, width, value):
    """x (batch, n) -> (batch, max(n, width)), right-padded with ``value``."""
    return tf.pad(x, [[0, 0], [0, tf.maximum(width - tf.shape(x)[1], 0)]], constant_values=value)


@contextlib.contextmanager
def _without_cudnn(family):
    """Traces the family's RNN layers with ``use_cudnn=False``: cuDNN kernels are GPU-only."""
    layers = family.recurrent_layers()
    before = [layer.use_cudnn for layer in layers]
    for layer in layers:
        layer.use_cudnn = False
    try:
        yield
    finally:
        for layer, value in zip(layers, before):
            layer.use_cudnn = value


def warmup_requests(texts: Sequence, model_name: str, input_name: str = "text") -> list[bytes]:
    """Serialized ``PredictionLog``s: one ``serving_default`` request per text, one for all of them
    and one ``attention`` request (TF Serving replays them when it loads the model)."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    def log(batch, signature):
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature))
        request.inputs[input_name].CopyFrom(tf.make_tensor_proto(list(batch), dtype=tf.string))
        return prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)).SerializeToString()

    batches = [[text] for text in texts] + [list(texts)]
    return [log(batch, "serving_default") for batch in batches] + [log(texts, "attention")]


def default_examples(folder: pathlib.Path, count: int = 3) -> list[str]:
    """The first ``count`` test sources of the model's dataset (its config's ``dataset``)."""
    from zoo import data

    dataset = json.loads((folder / "config.json").read_text()).get("dataset")
    if dataset is None:
        raise ValueError(f"{folder / 'config.json'} names no 'dataset': pass examples= for the warmup requests")
    return list(data.references(dataset, "test"))[:count]


def next_version(model_dir: str | os.PathLike) -> int:
    """1 + the largest numeric version folder in ``model_dir`` (1 when there is none)."""
    model_dir = pathlib.Path(model_dir)
    if not model_dir.is_dir():
        return 1
    return max((int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit()), default=0) + 1


def export(name: str | os.PathLike, directory: str | os.PathLike, beam_size: int | None = None,
           n_best: int | None = None, alpha: float | None = None, version: int | None = None,
           examples: Sequence[str] | None = None) -> pathlib.Path:
    """Exports a pretrained model (name or folder) to ``directory/<model name>/<version>/`` and writes
    ``directory/models.config`` for every model there (``zoo.serving_config``).

    beam_size, n_best, alpha: the decoding baked into the graph (beam 1 and n_best 1: greedy); those
    not given are the model's ``DecodingConfig`` (its card's beam search), as ``predict`` uses them.
    version: a positive integer; default 1 + the largest existing version.
    examples: texts for the warmup requests; default the first test sources of the model's dataset.
    Returns the version folder. Raises ``ValueError`` if that version exists, or (naming the offending
    ops) if the graph holds an op the model server lacks; a failed export leaves no version folder.
    """
    from zoo import serving_config
    from zoo.predictor import make_strategy

    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise ValueError(f"version must be a positive integer, got {version!r}")
    folder = hub.resolve(name)
    model_name = json.loads((folder / "config.json").read_text()).get("name", folder.name)
    model_dir = pathlib.Path(directory) / model_name
    target = model_dir / str(version or next_version(model_dir))
    if target.exists():
        raise ValueError(f"version {target.name} exists ({target}): pick another version, or none for the next")
    examples = list(examples) if examples is not None else default_examples(folder)
    predictor = hub.load(folder)
    strategy = make_strategy(**predictor.decoding.options(beam_size=beam_size, n_best=n_best, alpha=alpha))
    if not examples:
        raise ValueError("examples must hold at least one input for the warmup requests")
    examples = predictor.frontend.prepare(examples)
    predictor.encode_inputs(examples)  # a ValueError naming a bad example, before anything is written
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(dir=model_dir, prefix=f".tmp-{target.name}-"))  # not a version name
    try:
        module = ServingModule(predictor, strategy)
        tf.saved_model.save(module, str(tmp), signatures=module.signatures())
        (tmp / "assets.extra").mkdir()
        with tf.io.TFRecordWriter(str(tmp / "assets.extra" / WARMUP_FILE)) as writer:
            for record in warmup_requests(examples, model_name, predictor.frontend.input_signature.name):
                writer.write(record)
        check_serving_ops(tmp)
        private_folder_to_public(tmp)  # mkdtemp's 0700 would hide the model from a server's user
        os.rename(tmp, target)  # fails rather than replace a version that appeared meanwhile
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    serving_config.write_model_config(directory)
    return target


def graph_ops(path: str | os.PathLike) -> set[str]:
    """Op types in a SavedModel's graphs and in every function of their libraries."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel.FromString((pathlib.Path(path) / "saved_model.pb").read_bytes())
    ops = set()
    for meta_graph in saved_model.meta_graphs:
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return ops


def serving_ops() -> frozenset[str]:
    """Ops registered in tensorflow/serving ``SERVING_RELEASE``: TensorFlow's core ops (those of
    the installed TensorFlow, which must be that release) and tensorflow-text's ``TF_TEXT_OPS``."""
    if not tf.__version__.startswith(SERVING_RELEASE.rsplit(".", 1)[0] + "."):
        raise RuntimeError(f"The op check targets {SERVING_IMAGE} (TensorFlow {SERVING_RELEASE}), but this is "
                           f"TensorFlow {tf.__version__}: update SERVING_RELEASE and TF_TEXT_OPS in zoo/export.py")
    core = {name for name in dir(tf.raw_ops) if not name.startswith("__")}
    return frozenset(core - PYTHON_OPS) | TF_TEXT_OPS


def check_serving_ops(path: str | os.PathLike) -> list[str]:
    """Checks that the stock model server can run a SavedModel -> its op types, sorted.

    Raises ``ValueError`` listing every offender: Python ops (PyFunc, EagerPyFunc: never in the
    server), cuDNN RNN ops (GPU only) and ops outside ``serving_ops()``.
    """
    ops = graph_ops(path)
    allowed = serving_ops()
    offenders = {}
    for op in sorted(ops):
        if op in PYTHON_OPS:
            offenders[op] = "runs Python (tf.py_function / numpy_function): the model server has no Python"
        elif op.startswith("Cudnn"):
            offenders[op] = "cuDNN kernel, GPU only: trace RNNs with use_cudnn=False"
        elif op not in allowed:
            offenders[op] = f"not registered in {SERVING_IMAGE} (TensorFlow core + tensorflow-text ops)"
    if offenders:
        lines = "\n".join(f"  {op}: {why}" for op, why in offenders.items())
        raise ValueError(f"{path} uses ops the stock model server cannot run:\n{lines}")
    return sorted(ops)
