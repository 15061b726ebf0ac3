"""Model families behind one contract (see ``zoo.models.base``)."""
from zoo.models.base import Seq2Seq
from zoo.models.luong import Luong

FAMILIES = {cls.family: cls for cls in (Luong,)}


def build(family: str, config: dict) -> Seq2Seq:
    """Builds a family from its name and constructor config."""
    if family not in FAMILIES:
        raise ValueError(f"Unknown model family {family!r}; known: {sorted(FAMILIES)}")
    return FAMILIES[family].from_config(config)


__all__ = ["Seq2Seq", "Luong", "FAMILIES", "build"]
