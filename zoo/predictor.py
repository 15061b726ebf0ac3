"""Raw inputs in, strings out: a model family with its source frontend, target tokenizer and decoder."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from zoo import decoding
from zoo.models.base import Seq2Seq
from zoo.text.tokenizer import Tokenizer
from zoo.text.vocab import END_ID, PAD_ID, START_ID


@dataclasses.dataclass
class Hypothesis:
    """One decoded output: its text, tokens, score (sum of token log-probabilities, </s> included; after
    ``Predictor.rerank``, the combined score it was ranked by) and attention (len(tokens) + 1 for </s>, len(source_tokens)), when the family has attention."""

    text: str
    tokens: list[str]
    score: float
    source_tokens: list[str]
    attention: np.ndarray


@dataclasses.dataclass(frozen=True)
class DecodingConfig:
    """How a model decodes unless a call says otherwise: ``predict``, ``decode``, ``rerank``,
    ``zoo.evaluation.evaluate``, ``zoo.export.export`` and the CLI all start from it, so a pretrained
    model gives the same answers everywhere. A pretrained folder's is its config.json ``"beam"``: the
    beam size and the length penalty its evaluation chose on dev (the figures its card reports); a
    ``Predictor`` built without one decodes greedily. The longest output is ``Predictor.max_target_length``.

    beam_size: 1 is greedy search; n_best: hypotheses per input (<= beam_size); alpha: beam search's
    length penalty exponent; coverage_penalty: beam search's coverage penalty weight."""

    beam_size: int = 1
    n_best: int = 1
    alpha: float = 0.6
    coverage_penalty: float = 0.0

    def __post_init__(self):
        for name in ("beam_size", "n_best"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.n_best > self.beam_size:
            raise ValueError(f"n_best must be between 1 and beam_size ({self.beam_size}), got {self.n_best!r}")

    @classmethod
    def from_config(cls, config: dict) -> "DecodingConfig":
        """A pretrained folder's config.json -> its decoding (greedy when it names none)."""
        beam = config.get("beam") or {}
        return cls(**{key: beam[key] for key in ("beam_size", "n_best", "alpha", "coverage_penalty") if key in beam})

    def options(self, **given) -> dict:
        """``make_strategy``'s keyword arguments: ``given`` (a call's options; None means unset) over these
        defaults. A call that sets ``beam_size`` alone gets n_best 1 unless the default fits the beam."""
        given = {key: value for key, value in given.items() if value is not None}
        options = {"beam_size": self.beam_size, "n_best": self.n_best, "alpha": self.alpha,
                   "coverage_penalty": self.coverage_penalty, **given}
        if "n_best" not in given and not given.get("sample") and options["n_best"] > options["beam_size"]:
            options["n_best"] = 1
        return options


def make_strategy(beam_size: int = 1, n_best: int = 1, alpha: float = 0.6, coverage_penalty: float = 0.0,
                  sample: bool = False, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                  seed: int = 0):
    """Keyword arguments of ``predict`` -> a decoding strategy (greedy, beam search or sampling)."""
    if sample:
        return decoding.Sampling(temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, num_samples=n_best)
    if beam_size == 1 and n_best == 1:
        return decoding.Greedy()
    return decoding.BeamSearch(beam_size=beam_size, alpha=alpha, coverage_penalty=coverage_penalty, n_best=n_best)


def check_weight(weight, name: str) -> None:
    """A rescorer's weight must be a finite number >= 0 (a clear error naming it otherwise)."""
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight < float("inf"):
        raise ValueError(f"{name}: the weight must be a finite number >= 0, got {weight!r}")


def check_rerank_beam(beam_size) -> None:
    if not isinstance(beam_size, int) or beam_size < 2:
        raise ValueError(f"beam_size must be >= 2 to rerank (a 1-best list has no other candidate), got {beam_size!r}")


def length_sorted_batches(source_lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """(n,) source lengths -> row indices in batches of ``batch_size``, shortest sources first, so that
    a batch's sources (and, mostly, its outputs) have like lengths: little padding to encode and attend
    over, and a decode loop that stops as soon as its batch's longest output ends."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    order = np.argsort(np.asarray(source_lengths), kind="stable")  # (n,)
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def bucket_size(n: int) -> int:
    """The padded source length for XLA: n >= 1 up to the next multiple of 8 until 64, then to the next
    power of two, so a few compiled shapes serve every batch."""
    return 8 * -(-n // 8) if n <= 64 else 1 << (n - 1).bit_length()


def bucket_shape(batch: dict, variable_length: bool) -> dict:
    """A batch of the model's source inputs padded for XLA's fixed shapes: rows to the next power of
    two (copies of the last row, whose outputs the caller drops) and, for variable-length sources, the
    padded length axis to ``bucket_size`` (zeros: padding the masks already hide)."""
    rows = len(batch["source_length"])
    extra_rows = (1 << (rows - 1).bit_length()) - rows
    out = {}
    for key, value in batch.items():
        if extra_rows:
            value = np.concatenate([value, np.repeat(value[-1:], extra_rows, axis=0)])
        if variable_length and value.ndim > 1:
            widths = [(0, 0)] * value.ndim
            widths[1] = (0, bucket_size(value.shape[1]) - value.shape[1])
            value = np.pad(value, widths)
        out[key] = value
    return out


class Predictor:
    """Predicts with a seq2seq family.

    Args:
        model: a family following ``zoo.models.base.Seq2Seq``.
        source: the source ``zoo.frontends`` frontend, or a text ``Tokenizer`` (then with
            ``max_source_length``, the longest accepted input in tokens, and ``truncate_source``: a
            ``TextFrontend``).
        target_tokenizer: the in-graph target tokenizer with its vocabulary (and the detokenizer).
        max_target_length: decoding stops after this many output tokens (plus </s>).
        decoding: the ``DecodingConfig`` calls start from (default: greedy).
    """

    def __init__(self, model: Seq2Seq, source, target_tokenizer: Tokenizer, max_source_length: int | None = None,
                 max_target_length: int = 64, name: str | None = None, decoding: DecodingConfig | None = None,
                 truncate_source: bool = False, jit_compile: bool = False):
        from zoo.frontends import Frontend, TextFrontend

        if isinstance(source, Tokenizer):
            if max_source_length is None:
                raise ValueError("a source Tokenizer needs max_source_length (or pass a TextFrontend)")
            copy = getattr(model, "max_oov", 0)
            source = TextFrontend(source, max_source_length, copy_vocabulary=target_tokenizer if copy else None,
                                  max_oov=copy, truncate=truncate_source)
        elif truncate_source:
            raise ValueError("truncate_source applies to a source Tokenizer; a frontend brings its own "
                             "(TextFrontend(..., truncate=True))")
        if not isinstance(source, Frontend):
            raise TypeError(f"source must be a zoo.frontends Frontend or a Tokenizer, got {type(source).__name__}")
        self.model = model
        self.frontend = source
        self.target_tokenizer = target_tokenizer
        self.max_target_length = max_target_length
        self.name = name
        self.decoding = decoding or DecodingConfig()
        self.model_inputs = tuple(model.source_inputs())  # the frontend outputs the model reads
        self._decoders = {}
        self._graphs = {}  # tf.functions of the frontend and the detokenizer (``_graph``)
        self.jit_compile = jit_compile

    @property
    def jit_compile(self) -> bool:
        """Whether decoding runs XLA-compiled on TensorFlow (JAX always compiles with XLA): one input
        decodes about 1.7 times as fast on CPU (docs/speed.md), with the same outputs, but each new
        input shape compiles once (seconds), so batches are padded to a few shapes (``bucket_shape``).
        For a long-lived predictor that answers many calls; a one-off call is faster without."""
        return self._jit_compile

    @jit_compile.setter
    def jit_compile(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"jit_compile must be True or False, got {value!r}")
        self._jit_compile = value
        self._decoders = {}

    @property
    def source_tokenizer(self) -> Tokenizer:
        """The text frontend's tokenizer (text models only)."""
        if not hasattr(self.frontend, "tokenizer"):
            raise AttributeError(f"a {self.frontend.kind} model has no source tokenizer")
        return self.frontend.tokenizer

    @property
    def max_source_length(self) -> int:
        """The longest accepted text source, in tokens (text models only)."""
        return self.frontend.max_length

    def decoder(self, strategy):
        """The compiled decoding function for a strategy: the model's source inputs -> ``Decoded``.
        Beam searches that differ only in their length penalty share one compiled function (alpha is
        passed in), so trying several alphas traces the loop once."""
        import keras

        alpha = getattr(strategy, "alpha", 0.0)
        key = dataclasses.replace(strategy, alpha=0.0) if isinstance(strategy, decoding.BeamSearch) else strategy
        if key not in self._decoders:
            def decode_source(source, alpha):
                return decoding.search(self.model, source, key, max_length=self.max_target_length + 1, alpha=alpha)

            self._decoders[key] = decoding.compile_decoder(decode_source, self.model.trainer.variables,
                                                           jit_compile=self.jit_compile)
        compiled = self._decoders[key]
        return lambda source: compiled(source, keras.ops.convert_to_tensor(alpha, "float32"))

    def encode_inputs(self, inputs) -> dict:
        """Raw inputs -> the frontend's outputs as NumPy arrays (the model's source inputs, the source
        tokens of text); a ``TypeError``/``ValueError`` naming the first bad input and why."""
        import tensorflow as tf

        raw = self.frontend.prepare(inputs)
        if not raw:
            raw_tensor = tf.zeros([0], tf.string)
        else:
            raw_tensor = tf.constant(raw, tf.string)
        decode = self._graph("frontend", self.frontend.decode, self.frontend.input_signature)
        decoded = {key: value.numpy() for key, value in decode(raw_tensor).items()}
        for i, error in enumerate(decoded.pop("error")):
            if error:
                raise ValueError(self.frontend.error_message(i, raw[i], error.decode("utf-8")))
        return decoded

    def _graph(self, key: str, fn, *signature):
        """``fn`` as a ``tf.function`` traced once for ``signature`` and kept: the frontend and the
        detokenizer run as one graph call each instead of dozens of eager ops (most of a one-input
        ``predict``'s time before)."""
        import tensorflow as tf

        if key not in self._graphs:
            self._graphs[key] = tf.function(fn, input_signature=list(signature))
        return self._graphs[key]

    def detokenize_tokens(self, ids: np.ndarray, source_tokens=None, source_extended=None) -> list[list[bytes]]:
        """(rows, len) output ids [with a copy model's source tokens and extended ids (rows, src_len)] ->
        each row's tokens (``Tokenizer.detokenize_tokens``) as lists of UTF-8 bytes."""
        import tensorflow as tf

        ids_spec = tf.TensorSpec([None, None], tf.int32)
        if source_extended is None:
            detokenize = self._graph("detokenize", self.target_tokenizer.detokenize_tokens, ids_spec)
            return detokenize(ids.astype("int32")).to_list()
        detokenize = self._graph("detokenize_copy", self.target_tokenizer.detokenize_tokens, ids_spec,
                                 tf.TensorSpec([None, None], tf.string), ids_spec)
        return detokenize(ids.astype("int32"), source_tokens, source_extended.astype("int32")).to_list()

    def _batches(self, encoded: dict, batch_size: int, subset=None):
        """Yields (rows, the model's source inputs for those rows, trimmed to their longest source), over
        the rows in ``subset`` (indices into ``encoded``; default: all)."""
        subset = np.arange(len(encoded["source_length"])) if subset is None else np.asarray(subset, "int64")
        for in_subset in length_sorted_batches(encoded["source_length"][subset], batch_size):
            rows = subset[in_subset]
            batch = {key: encoded[key][rows] for key in self.model_inputs}
            if self.frontend.variable_length:  # drop the padding columns every row of the batch shares
                width = max(1, int(batch["source_length"].max()))
                batch = {key: value[:, :width] if value.ndim > 1 else value for key, value in batch.items()}
            yield rows, batch

    def decode(self, inputs, strategy=None, batch_size: int = 256, **options) -> list[list[Hypothesis]]:
        """Decodes each input -> its n-best ``Hypothesis`` list, best first.

        ``strategy`` is a ``zoo.decoding`` strategy; or pass ``predict``'s keyword options (those not
        given, or None, come from ``self.decoding``).
        """
        strategy = strategy or make_strategy(**self.decoding.options(**options))
        decode_source = self.decoder(strategy)
        encoded = self.encode_inputs(inputs)
        count = len(encoded["source_length"])
        labels = encoded.get("source_tokens")
        out: list[list[Hypothesis]] = [[] for _ in range(count)]
        blank = encoded.get("blank", np.zeros(count, bool))  # silence: nothing was said, nothing to decode
        for rows, batch in self._batches(encoded, batch_size, np.flatnonzero(~blank)):
            result = decode_source(bucket_shape(batch, self.frontend.variable_length) if self.jit_compile else batch)
            real = len(rows)  # a bucketed batch's extra rows are dropped
            ids, lengths = np.asarray(result.ids)[:real], np.asarray(result.lengths)[:real]  # (batch, n_best, L), (batch, n_best)
            scores, attention = np.asarray(result.scores)[:real], np.asarray(result.attention)[:real]
            memory_lengths = np.asarray(result.memory_lengths)[:real]  # (batch,)
            n_best = ids.shape[1]
            copy = ()
            if "source_extended" in batch:
                copy = (np.repeat(labels[rows][:, :batch["source_extended"].shape[1]], n_best, axis=0),
                        np.repeat(batch["source_extended"], n_best, axis=0))
            tokens = self.detokenize_tokens(ids.reshape(-1, ids.shape[2]), *copy)
            for row, index in enumerate(rows):
                source_labels = ([t.decode("utf-8") for t in labels[index][: encoded["source_length"][index]]]
                                 if labels is not None else [])
                width = len(source_labels) or int(memory_lengths[row])
                hypotheses = []
                for rank in range(n_best):
                    words = [t.decode("utf-8") for t in tokens[row * n_best + rank]]
                    steps = min(int(lengths[row, rank]) + 1, ids.shape[2])  # + </s>
                    hypotheses.append(Hypothesis(
                        text=self.target_tokenizer.join(words), tokens=words,
                        score=float(scores[row, rank]), source_tokens=source_labels,
                        attention=attention[row, rank, :steps, :width],
                    ))
                out[index] = hypotheses
        for index in np.flatnonzero(blank):
            out[index] = [Hypothesis(text="", tokens=[], score=0.0, source_tokens=[],
                                     attention=np.zeros((0, 0), "float32"))]
        return out

    def score(self, sources, targets: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Log-probability of each target given its source, by teacher forcing: (len(sources),) sums of
        token log-probabilities, </s> included, <pad> and <s> excluded from the softmax (what ``decode``
        reports as ``Hypothesis.score`` for the same output). Target tokens outside the vocabulary
        count as the unknown token (or, for a copy model, as the source word they copy)."""
        import keras
        import tensorflow as tf

        if isinstance(targets, (str, bytes)):
            raise TypeError(f"targets must be a list of strings, got a single {type(targets).__name__}")
        targets = list(targets)
        for i, target in enumerate(targets):
            if not isinstance(target, str):
                raise TypeError(f"targets[{i}] must be a str, got {type(target).__name__}: {target!r}")
        encoded = self.encode_inputs(sources)
        if len(encoded["source_length"]) != len(targets):
            raise ValueError(f"sources and targets differ in length: {len(encoded['source_length'])} and {len(targets)}")
        totals = np.zeros((len(targets),), "float32")
        for rows, batch in self._batches(encoded, batch_size):
            target_tokens = self.target_tokenizer.tokenize(tf.constant([targets[i] for i in rows]))
            if "source_extended" in batch:
                width = batch["source_extended"].shape[1]
                target = self.frontend.extend_targets(target_tokens, tf.constant(encoded["source_tokens"][rows][:, :width]),
                                                      tf.constant(batch["source_extended"]))
            else:
                target = self.target_tokenizer.lookup(target_tokens)
            column = [target.nrows(), 1]
            decoder_input = tf.concat([tf.fill(column, START_ID), target], axis=1).to_tensor(0).numpy()
            decoder_target = tf.concat([target, tf.fill(column, END_ID)], axis=1).to_tensor(0).numpy()
            log_probs = np.array(self.model.trainer({**batch, "decoder_input": decoder_input}, training=False))
            log_probs[..., [PAD_ID, START_ID]] = -1e9  # never emitted, as in decoding
            log_probs = np.asarray(keras.ops.log_softmax(np.maximum(log_probs, -1e9), axis=-1))  # (batch, tgt_len, vocab)
            picked = np.take_along_axis(log_probs, decoder_target[..., None], axis=-1)[..., 0]
            totals[rows] = (picked * (decoder_target != 0)).sum(axis=1)  # (batch,)
        return totals

    def rerank_beam_size(self, beam_size: int | None) -> int:
        """The beam to rerank: ``beam_size``, else the model's (``self.decoding``) when it is a beam, else 4."""
        if beam_size is not None:
            return beam_size
        return self.decoding.beam_size if self.decoding.beam_size > 1 else 4

    def rescore_beam(self, texts: Sequence[str], rescorers: Sequence["Predictor"], beam_size: int | None = None,
                     alpha: float | None = None, coverage_penalty: float | None = None,
                     batch_size: int = 256) -> tuple[list[list[Hypothesis]], np.ndarray]:
        """Beam search's ``beam_size``-best list of each text, and the scores of every candidate ->
        (candidates, scores): ``scores`` is (1 + len(rescorers), number of candidates), float64, in the
        candidates' order (text by text, best first); row 0 is the beam's own score, row 1 + i the
        log-probability under ``rescorers[i]``. ``rank`` weighs and adds them; ``rerank`` is one such
        call and one ``rank``, ``zoo.evaluation.tune_rescorers`` many ``rank``s over one call.
        Unset options: ``rerank_beam_size`` and ``self.decoding``."""
        beam_size = self.rerank_beam_size(beam_size)
        for i, rescorer in enumerate(rescorers):
            if not isinstance(rescorer, Predictor):
                raise TypeError(f"rescorers[{i}] must be a Predictor, got {rescorer!r}")
        check_rerank_beam(beam_size)
        texts = self.frontend.prepare(texts)
        candidates = self.decode(texts, batch_size=batch_size, beam_size=beam_size, n_best=beam_size, alpha=alpha,
                                 coverage_penalty=coverage_penalty)
        sources = [text for text, hypotheses in zip(texts, candidates) for _ in hypotheses]
        outputs = [h.text for hypotheses in candidates for h in hypotheses]
        scores = np.zeros((1 + len(rescorers), len(outputs)), "float64")
        scores[0] = [h.score for hypotheses in candidates for h in hypotheses]
        for i, rescorer in enumerate(rescorers):
            scores[1 + i] = rescorer.score(sources, outputs, batch_size=batch_size)
        return candidates, scores

    @staticmethod
    def rank(candidates: list[list[Hypothesis]], scores: np.ndarray, weights, n_best: int = 1) -> list[list[Hypothesis]]:
        """``rescore_beam``'s (candidates, scores) and one weight per rescorer -> each text's ``n_best``
        best by the beam's own score + Σ weight_i * rescorer_i's, with that sum as their ``score``."""
        combined = scores[0] + np.asarray(weights, "float64") @ scores[1:]  # (number of candidates,)
        ranked, start = [], 0
        for hypotheses in candidates:
            own = combined[start:start + len(hypotheses)]
            start += len(hypotheses)
            order = np.argsort(-own, kind="stable")[:n_best]
            ranked.append([dataclasses.replace(hypotheses[i], score=float(own[i])) for i in order])
        return ranked

    def rerank(self, texts: Sequence[str], rescorers: Sequence[tuple["Predictor", float]], beam_size: int | None = None,
               n_best: int = 1, alpha: float | None = None, coverage_penalty: float | None = None,
               batch_size: int = 256) -> list[list[Hypothesis]]:
        """Beam search's ``beam_size``-best list of each text, reranked: an ensemble of models that need
        not share a family or vocabularies. Each candidate gets its own score plus ``weight *``
        ``rescorer.score`` for each (rescorer, weight); returns the ``n_best`` best per text, their
        ``score`` the combined one. ``zoo.evaluation.tune_rescorers`` chooses the weights on a dev split."""
        rescorers = list(rescorers)
        for i, pair in enumerate(rescorers):
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[0], Predictor)):
                raise TypeError(f"rescorers[{i}] must be a (Predictor, weight) pair, got {pair!r}")
            check_weight(pair[1], f"rescorers[{i}]")
        beam_size = self.rerank_beam_size(beam_size)
        check_rerank_beam(beam_size)
        if not isinstance(n_best, int) or not 1 <= n_best <= beam_size:
            raise ValueError(f"n_best must be between 1 and beam_size ({beam_size}), got {n_best!r}")
        candidates, scores = self.rescore_beam(texts, [model for model, _ in rescorers], beam_size=beam_size,
                                               alpha=alpha, coverage_penalty=coverage_penalty, batch_size=batch_size)
        return self.rank(candidates, scores, [weight for _, weight in rescorers], n_best=n_best)

    def predict(self, texts: Sequence[str], beam_size: int | None = None, n_best: int | None = None, **options):
        """Texts -> predicted strings: one per text when ``n_best == 1``, else an n-best list per text.

        Options: ``beam_size``, ``n_best``, ``alpha`` (length penalty), ``coverage_penalty``,
        ``sample=True`` with ``temperature``, ``top_k``, ``top_p``, ``seed``; ``batch_size``;
        ``rescorers``: (Predictor, weight) pairs that rerank the beam (see ``rerank``). Decoding options
        not given (or None) are the model's (``self.decoding``): a pretrained model's card's beam search.
        """
        batch_size = options.pop("batch_size", 256)
        rescorers = options.pop("rescorers", None)
        if rescorers:
            if options.get("sample"):
                raise ValueError("rescorers rerank beam search's candidates: they do not work with sample=True")
            n_best = n_best or 1
            results = self.rerank(texts, rescorers, beam_size=beam_size, n_best=n_best, batch_size=batch_size, **options)
        else:
            options = self.decoding.options(beam_size=beam_size, n_best=n_best, **options)
            n_best = options["n_best"]
            results = self.decode(texts, batch_size=batch_size, **options)
        if n_best == 1:
            return [hypotheses[0].text for hypotheses in results]
        return [[h.text for h in hypotheses] for hypotheses in results]
