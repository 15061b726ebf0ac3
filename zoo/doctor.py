"""``zoo doctor``: checks the environment and the pretrained models, and says exactly what is wrong."""
from __future__ import annotations

import importlib.metadata
import pathlib
import sys
from typing import Callable, NamedTuple

PINNED = {"tensorflow": "2.21.0", "tensorflow-text": "2.21.1", "keras": "3.15.1",
          "tensorboard": "2.21.0"}
LOCK = pathlib.Path(__file__).resolve().parents[1] / "requirements.lock"


class Check(NamedTuple):
    name: str
    ok: bool
    detail: str


def _pins() -> dict[str, str]:
    """Exact pins from requirements.lock when the checkout has it, else the stack's core pins."""
    if not LOCK.is_file():
        return dict(PINNED)
    pins = {}
    for line in LOCK.read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and not name.startswith("#"):
            pins[name.lower()] = version
    return pins


def check_python() -> Check:
    ok = sys.version_info[:2] >= (3, 11)
    return Check("python", ok, f"{sys.version.split()[0]}" + ("" if ok else " (3.11 or newer is required)"))


def check_versions() -> Check:
    wrong = []
    for name, version in sorted(_pins().items()):
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{name} is not installed (want {version})")
            continue
        if installed != version:
            wrong.append(f"{name} {installed} is installed, the lock pins {version}")
    detail = "; ".join(wrong) + " -> run `make install` (or pip install -r requirements.lock)" if wrong else \
        f"{len(_pins())} pinned packages match"
    return Check("package versions", not wrong, detail)


def check_text_ops() -> Check:
    try:
        import tensorflow as tf
        import tensorflow_text as tf_text

        folded = tf_text.case_fold_utf8(tf.constant(["ÄB"])).numpy()[0].decode()
        ok = folded == "äb"
        return Check("tensorflow-text ops", ok, "CaseFoldUTF8 runs" if ok else f"CaseFoldUTF8 gave {folded!r}")
    except Exception as error:  # a missing or ABI-incompatible tensorflow-text shows up here
        return Check("tensorflow-text ops", False, f"{type(error).__name__}: {error} -> reinstall tensorflow-text "
                                                    f"{PINNED['tensorflow-text']} matching tensorflow {PINNED['tensorflow']}")


def check_pretrained() -> list[Check]:
    from zoo import hub

    names = hub.list_models()
    if not names:
        return [Check("pretrained models", False, f"none found in {hub.PRETRAINED_DIR}")]
    checks = []
    for name in names:
        try:
            hub.verify(hub.resolve(name))
            checks.append(Check(f"pretrained {name}", True, "checksums match"))
        except hub.ChecksumError as error:
            checks.append(Check(f"pretrained {name}", False, str(error)))
    return checks


def run(print_line: Callable[[str], None] = print) -> bool:
    """Runs every check, prints one line each; returns True when all pass."""
    checks = [check_python(), check_versions(), check_text_ops(), *check_pretrained()]
    for check in checks:
        print_line(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    failed = [c for c in checks if not c.ok]
    print_line("all checks passed" if not failed else f"{len(failed)} check(s) failed")
    return not failed
