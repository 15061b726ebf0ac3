"""Frontends: raw inputs (strings, WAV bytes, image bytes) -> model input, validated in one place."""
from __future__ import annotations

import importlib

from zoo.frontends.base import Frontend
from zoo.frontends.text import TextFrontend

# kind -> "module:class" of the media frontends, which a pretrained folder's config names ("frontend");
# a text model's frontend is rebuilt from its source tokenizer instead.
MEDIA = {"audio": "zoo.frontends.audio:AudioFrontend", "image": "zoo.frontends.image:ImageFrontend"}


def from_config(config: dict) -> Frontend:
    """A media frontend's ``get_config()`` -> the frontend."""
    config = dict(config)
    kind = config.pop("kind", None)
    if kind not in MEDIA:
        raise ValueError(f"frontend kind must be one of {sorted(MEDIA)}, got {kind!r}")
    module, name = MEDIA[kind].split(":")
    return getattr(importlib.import_module(module), name)(**config)


__all__ = ["Frontend", "TextFrontend", "from_config", "MEDIA"]
