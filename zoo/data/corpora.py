"""The committed corpus snapshots of ``corpora/``: where they are and the one check of their bytes.

Every snapshot is listed in ``corpora/SHA256SUMS`` (``sha256sum`` format) by the script that built
it; a loader reads a snapshot only through ``verified_path``, so a missing, truncated, corrupted or
unlisted file is a ``ChecksumError`` naming it (and the script that rebuilds it), never a parse error.
``ZOO_CORPORA_DIR`` points the loaders at another folder.

The text corpora are xz-compressed UTF-8 TSV (``write_tsv`` / ``read_tsv``): a header line, then one row
per line, its first field the split; no field is empty, holds a tab or a newline, or has surrounding
white space. Python's ``lzma`` (preset ``XZ_PRESET``, CRC64) makes the same bytes from the same rows.
"""
from __future__ import annotations

import hashlib
import lzma
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


XZ_PRESET = 9


def write_tsv(path: pathlib.Path, header: tuple[str, ...], rows) -> str:
    """Writes a TSV snapshot (``header``, then ``rows`` in their order) -> its SHA-256."""
    lines = ["\t".join(header)]
    for row in rows:
        for field in row:
            if not field or "\t" in field or "\n" in field or "\r" in field or field != field.strip():
                raise ValueError(f"bad field {field!r} in {row}")
        lines.append("\t".join(row))
    data = lzma.compress(("\n".join(lines) + "\n").encode("utf-8"), format=lzma.FORMAT_XZ,
                         check=lzma.CHECK_CRC64, preset=XZ_PRESET)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def read_tsv(path: pathlib.Path, header: tuple[str, ...], splits, kind: str) -> tuple[tuple[str, ...], ...]:
    """The rows of a (verified) TSV snapshot with this ``header``, each of its width with its first field
    in ``splits``; anything else is a ValueError naming the file, the line and ``kind`` of snapshot."""
    lines = lzma.decompress(path.read_bytes()).decode("utf-8").split("\n")
    if tuple(lines[0].split("\t")) != header or lines[-1]:
        raise ValueError(f"{path}: not a {kind} snapshot (header {lines[0][:40]!r})")
    rows = tuple(tuple(line.split("\t")) for line in lines[1:-1])
    bad = next((i for i, row in enumerate(rows, 2) if len(row) != len(header) or row[0] not in splits), None)
    if bad is not None:
        raise ValueError(f"{path}:{bad}: expected {'<TAB>'.join(header)!r}, got {lines[bad - 1][:80]!r}")
    return rows
