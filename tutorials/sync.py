"""Writes each tutorial's ``.ipynb`` from its jupytext percent-format ``.py``, outputs stripped.

    python tutorials/sync.py           # (re)write every NN_*.ipynb from NN_*.py
    python tutorials/sync.py --check   # exit 1, naming them, if an .ipynb is not what its .py gives

The ``.py`` is the source of truth (it diffs and reviews like code); the ``.ipynb`` is generated for
people who open notebooks. Cell ids are derived from the cell's text, not random, so regenerating
an unchanged notebook gives the same bytes and an edited cell changes only its own lines.
"""
from __future__ import annotations

import argparse
import hashlib
import pathlib
import sys

import jupytext

HERE = pathlib.Path(__file__).resolve().parent


def tutorials() -> list[pathlib.Path]:
    """The tutorial sources: ``NN_name.py`` files next to this script."""
    return sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))


def notebook_text(source: pathlib.Path) -> str:
    """The ``.ipynb`` text a tutorial's ``.py`` gives: no outputs, no execution counts, stable ids."""
    notebook = jupytext.read(source)
    seen = set()
    for cell in notebook.cells:
        digest = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode("utf-8")).hexdigest()[:8]
        while digest in seen:  # two identical cells: keep ids unique
            digest = hashlib.sha1(digest.encode()).hexdigest()[:8]
        seen.add(digest)
        cell.id = digest
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return jupytext.writes(notebook, fmt="ipynb")


def stale() -> list[pathlib.Path]:
    """Tutorials whose ``.ipynb`` is missing or differs from what their ``.py`` gives."""
    out = []
    for source in tutorials():
        target = source.with_suffix(".ipynb")
        if not target.is_file() or target.read_text(encoding="utf-8") != notebook_text(source):
            out.append(source)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if a notebook is stale")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        for source in bad:
            print(f"{source.with_suffix('.ipynb').name} is stale: run python tutorials/sync.py", file=sys.stderr)
        return 1 if bad else 0
    for source in tutorials():
        source.with_suffix(".ipynb").write_text(notebook_text(source), encoding="utf-8")
        print(f"{source.name} -> {source.with_suffix('.ipynb').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
