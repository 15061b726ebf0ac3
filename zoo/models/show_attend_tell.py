"""Xu et al. 2015, "Show, Attend and Tell: Neural Image Caption Generation with Visual Attention".

Encoder: a CNN trained from scratch (the image source front, ``zoo.layers.fronts.ImageFront``) whose
feature grid *is* the memory: one annotation vector a_i per cell (optionally projected), no RNN over
the cells. The LSTM's first state comes from their mean: h_0 = tanh(W_h ā + b_h), c_0 = W_c ā + b_c
(``Bridge``), or with ``init_pool="max"`` from each feature's largest value over the cells (below).
Each step attends from the *previous* state, e_ti = vᵀ tanh(W h_{t-1} + U a_i),
α_t = softmax(e_t) over the real cells, gates the context with β_t = σ(w·h_{t-1} + b) (soft
attention's "gating scalar"), ẑ_t = β_t Σ_i α_ti a_i, feeds [E y_{t-1}; ẑ_t] to the LSTM
(``BahdanauDecoderCell`` with ``gate``), and predicts y_t with the deep output
L_o dropout(tanh(E y_{t-1} + L_h h_t + L_z ẑ_t)) (the paper's eq. 7 with the tanh of its authors' code).

Training adds the doubly stochastic attention penalty λ Σ_i (1 - Σ_t α_ti)² (``AttentionPenalty``,
through ``add_loss``, so ``fit`` adds it on every backend and ``encode`` / ``step`` stay the contract).
With ``attention=False`` the family is the no-attention baseline: ẑ_t is the mean-pooled grid at
every step, same CNN, initial state, gate and decoder, and all-zero attention maps.

Why ``init_pool="max"``: the paper's CNN came pretrained; ours starts from scratch, and its only teacher
is the caption loss, which reaches it through the first state and an attention that starts uniform,
i.e. through means over the cells. Where the objects are small (a few of 144 cells hold a digit) a
mean hides them: a CNN taught "which digits are in this grid" through the mean of its cells stayed at
chance (70 % of labels right, 64 % by answering "no"), through their max it learned them (97 %) in the
same 940 steps. The max gives the CNN a teacher until the attention learns where to look.
Backend-agnostic: ``keras.layers`` and ``keras.ops`` only.
"""
from __future__ import annotations

import keras
from keras import ops

from zoo.layers.attention import masked_max, masked_mean
from zoo.layers.cells import BahdanauDecoderCell
from zoo.layers.encoders import Bridge, check_dropout, check_positive
from zoo.models.base import Seq2Seq
from zoo.text.vocab import PAD_ID


INIT_POOLS = {"mean": masked_mean, "max": masked_max}  # init_pool -> cells (batch, cells, m), mask -> (batch, m)


@keras.saving.register_keras_serializable(package="zoo")
class AttentionPenalty(keras.layers.Layer):
    """Xu et al.'s doubly stochastic attention regularisation, added with ``add_loss``; passes the
    log-probabilities through unchanged (so that it sits on the trainer's path to its output).

    P = Σ_i (1 - Σ_t α_ti)² per example, over the real cells i and the real target steps t; the loss
    added is λ · mean over the batch of P / tgt_len. Keras divides the summed token cross-entropy by
    batch · tgt_len (padding included), so the total is (Σ_t -log p(y_t) + λ P) / tgt_len averaged
    over the batch: the paper's per-caption objective, scaled as the token loss is, and λ means
    what it means in the paper. Computed in float32 whatever the dtype policy.

    Call: ``penalty(log_probs, weights, target_mask, memory_mask)`` with log_probs (batch, tgt_len, V),
    weights (batch, tgt_len, cells), target_mask (batch, tgt_len) bool (the real steps),
    memory_mask (batch, cells) bool -> log_probs.
    """

    def __init__(self, strength: float, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.strength = float(strength)

    @staticmethod
    def per_example(weights, target_mask, memory_mask):
        """P (batch,) float32: Σ_i (1 - Σ_t α_ti)² over real cells i and real steps t."""
        steps = ops.cast(target_mask, "float32")[:, :, None]  # (batch, tgt_len, 1)
        attended = ops.sum(ops.cast(weights, "float32") * steps, axis=1)  # Σ_t α_ti (batch, cells)
        shortfall = ops.square(1.0 - attended) * ops.cast(memory_mask, "float32")  # (batch, cells)
        return ops.sum(shortfall, axis=-1)  # (batch,)

    def call(self, log_probs, weights, target_mask, memory_mask):
        steps = ops.cast(ops.shape(target_mask)[1], "float32")  # tgt_len, padding included
        penalty = ops.mean(self.per_example(weights, target_mask, memory_mask)) / steps  # ()
        self.add_loss(self.strength * penalty)
        return log_probs

    def compute_output_spec(self, log_probs, weights, target_mask, memory_mask):
        return keras.KerasTensor(log_probs.shape, dtype=log_probs.dtype)

    def get_config(self):
        return {**super().get_config(), "strength": self.strength}


class ShowAttendTell(Seq2Seq):
    """CNN feature grid, LSTM decoder with gated soft attention, deep output (image sources only).

    Args:
        source_vocab_size: None (the source is an image).
        target_vocab_size: vocabulary size, reserved ids included.
        source: the image source front, {"kind": "image", height, width, filters, ...} (``ImageFront``).
        embedding_dim: size of the word embedding E (and of the deep output layer).
        units: LSTM size.
        attention_units: hidden size of the attention score (default: units).
        memory_units: project each cell's features to this size (None: the grid's own channels).
        gate: the gating scalar β_t (Xu et al. 2015, section 4.2.1); False for the ablation.
        attention: False for the no-attention baseline (the mean-pooled grid at every step).
        init_pool: "mean" (the paper) or "max": how the cells make the LSTM's first state.
        attention_penalty: λ of the doubly stochastic regularisation (0: off; needs attention).
        dropout: rate on the grid's features, the word embeddings and before the output projection.
    """

    family = "show_attend_tell"

    def __init__(self, source_vocab_size: None, target_vocab_size: int, source: dict | None = None,
                 embedding_dim: int = 64, units: int = 256, attention_units: int | None = None,
                 memory_units: int | None = None, gate: bool = True, attention: bool = True,
                 attention_penalty: float = 1.0, dropout: float = 0.0, init_pool: str = "mean"):
        if source_vocab_size is not None or not isinstance(source, dict) or source.get("kind") != "image":
            raise ValueError("show_attend_tell reads images: it needs source={'kind': 'image', ...} and "
                             f"source_vocab_size None, got source={source!r}, source_vocab_size={source_vocab_size!r}")
        check_positive(target_vocab_size=target_vocab_size, embedding_dim=embedding_dim, units=units)
        for name, value in (("attention_units", attention_units), ("memory_units", memory_units)):
            if value is not None:
                check_positive(**{name: value})
        check_dropout(dropout)
        if isinstance(attention_penalty, bool) or not isinstance(attention_penalty, (int, float)) \
                or attention_penalty < 0:
            raise ValueError(f"attention_penalty must be a number >= 0, got {attention_penalty!r}")
        if init_pool not in INIT_POOLS:
            raise ValueError(f"init_pool must be one of {sorted(INIT_POOLS)}, got {init_pool!r}")
        if attention_penalty and not attention:
            raise ValueError("attention_penalty regularises attention weights: set it to 0 with attention=False")
        self.config = dict(source_vocab_size=None, target_vocab_size=target_vocab_size, source=source,
                           embedding_dim=embedding_dim, units=units, attention_units=attention_units,
                           memory_units=memory_units, gate=gate, attention=attention,
                           attention_penalty=attention_penalty, dropout=dropout, init_pool=init_pool)
        self.has_attention = bool(attention)

        # Layers, shared by the three graphs below.
        self._make_source_side(source, None, embedding_dim)
        grid_units = self.source_front.output_units
        self.memory_projection = keras.layers.Dense(memory_units, name="memory_projection") if memory_units else None
        memory_units = memory_units or grid_units
        self.target_embedding = keras.layers.Embedding(target_vocab_size, embedding_dim, name="target_embedding")
        self.embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
        self.bridge = Bridge(units, memory_units, 2, "dense", name="bridge")  # f_init,h and f_init,c
        self.cell = BahdanauDecoderCell(units, memory_units, attention_units or units, "lstm", gate=gate,
                                        attend=attention, name="decoder_cell")
        self.readout = keras.layers.Dense(embedding_dim, name="readout")  # [L_h L_z] on [h_t; ẑ_t]
        self.penalty = AttentionPenalty(attention_penalty, name="attention_penalty") if attention_penalty else None

        self._build_graphs()

    def _regularise(self, log_probs, weights, memory_mask, decoder_input):
        """With a penalty, ``AttentionPenalty`` on the trainer's output: weights (batch, tgt_len, cells) over
        the real target steps (decoder_input not padding) and the real cells."""
        if self.penalty is None:
            return log_probs
        return self.penalty(log_probs, weights, ops.not_equal(decoder_input, PAD_ID), memory_mask)

    def _encode(self, source, source_length, training=None):
        """images (batch, height, width, 3) uint8 -> memory (batch, cells, m_units), memory_mask
        (batch, cells), [h_0, c_0] (batch, units) each from the mean (or max) of the real cells."""
        memory, memory_mask = self._embed_source(source, source_length, training)  # (batch, cells, C)
        if self.memory_projection is not None:
            memory = self.memory_projection(memory)  # (batch, cells, memory_units)
        pooled = INIT_POOLS[self.config["init_pool"]](memory, memory_mask)  # ā (batch, m_units)
        return memory, memory_mask, self.bridge([pooled, pooled])

    def _readout(self, outputs, embedded):
        """[h_t; ẑ_t] (..., units + m_units) and E y_{t-1} (..., emb) -> tanh(E y_{t-1} + L_h h_t + L_z ẑ_t)
        (..., emb), L_o's input."""
        return ops.tanh(embedded + self.readout(outputs))

    def recurrent_layers(self) -> list:
        """None: the decoder's LSTM is a cell stepped by ``RecurrentDecoder``, never a cuDNN layer."""
        return []
