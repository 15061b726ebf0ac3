"""Vocabularies (plain Python) and in-graph tokenizers (TensorFlow)."""
from zoo.text.vocab import END_ID, PAD_ID, RESERVED, START_ID, UNK_ID, Vocabulary

__all__ = ["Vocabulary", "RESERVED", "PAD_ID", "START_ID", "END_ID", "UNK_ID"]
