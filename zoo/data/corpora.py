"""The committed corpus snapshots of ``corpora/``: where they are and the one check of their bytes.

Every snapshot is listed in ``corpora/SHA256SUMS`` (``sha256sum`` format) by the script that built
it; a loader reads a snapshot only through ``verified_path``, so a missing, truncated, corrupted or
unlisted file is a ``ChecksumError`` naming it (and the script that rebuilds it), never a parse error.
``ZOO_CORPORA_DIR`` points the loaders at another folder.
"""
from __future__ import annotations

import os
import pathlib

from zoo.io import sha256_of

CORPORA_DIR = pathlib.Path(os.environ.get("ZOO_CORPORA_DIR", pathlib.Path(__file__).resolve().parents[2] / "corpora"))
CHECKSUMS = "SHA256SUMS"


class ChecksumError(RuntimeError):
    """A snapshot is missing, truncated or corrupted, or not listed in ``SHA256SUMS``."""


def listed(listing: pathlib.Path) -> dict[str, str]:
    """A ``SHA256SUMS`` file -> {file name: hex digest} (empty when there is no such file)."""
    if not listing.is_file():
        return {}
    return {name: digest for digest, _, name in (line.strip().partition("  ")
                                                 for line in listing.read_text().splitlines()) if name}


def verified_path(name: str, rebuilt_by: str, folder: str | os.PathLike | None = None) -> pathlib.Path:
    """The path of snapshot ``name`` in ``corpora/`` (or ``folder``) once its SHA-256 matches
    ``SHA256SUMS``; ``rebuilt_by`` names the script that rebuilds it, for the error."""
    folder = pathlib.Path(CORPORA_DIR if folder is None else folder)
    path, listing = folder / name, folder / CHECKSUMS
    if not listing.is_file():
        raise ChecksumError(f"{listing} is missing: cannot verify {name}")
    wanted = listed(listing)
    if name not in wanted:
        raise ChecksumError(f"{name} is not listed in {listing}")
    if not path.is_file():
        raise ChecksumError(f"{path} is missing (listed in {CHECKSUMS}); {rebuilt_by} rebuilds it")
    if sha256_of(path) != wanted[name]:
        raise ChecksumError(f"{path} is corrupted or truncated: its SHA-256 does not match {listing}")
    return path


def update_checksums(listing: pathlib.Path, sums: dict[str, str]) -> None:
    """Adds or replaces ``sums``' lines ({file name: hex digest}) in a ``SHA256SUMS`` file, keeping the
    other scripts' lines, sorted by file name (what each ``corpora/build_*.py`` writes)."""
    entries = {**listed(listing), **sums}
    listing.write_text("".join(f"{digest}  {name}\n" for name, digest in sorted(entries.items())))
