"""TF Serving's model config for what was exported: ``EXPORT_ROOT/models.config``.

TF Serving's file-system source polls every configured model's base path; one missing base path (or
one without a version folder) stops the poll, no model gets a version, and the server never opens its
ports. So the config is written from what is on disk, never by hand: ``zoo export`` rewrites it after
each export, and ``zoo serving-config EXPORT_ROOT`` does so on demand (e.g. to pin a version).

A model is listed when ``EXPORT_ROOT/<name>/`` holds at least one version: a folder named by a
positive integer holding ``saved_model.pb`` (``zoo export``'s temporary ``.tmp-*`` folders are not
versions). Its base path is ``<base_path>/<name>``: where the container sees ``EXPORT_ROOT``
(``/models`` in ``serving/docker-compose.yml``).

Each model's version policy is ``latest { num_versions: 1 }`` (the newest version serves; a new one
hot-swaps in) unless pinned: ``specific { versions: N }`` serves version N only (a rollback). Pins
survive rewrites: they are read back from the existing file until ``unpin``; a pin whose version is
gone is an error, never a config the server would stall on.
"""
from __future__ import annotations

import os
import pathlib
import tempfile

CONFIG_FILE = "models.config"
BASE_PATH = "/models"
HEADER = """\
# TF Serving model config (--model_config_file), written by `zoo export` / `zoo serving-config` from
# the models under this folder: edits are lost at the next export; pin a version with
# `zoo serving-config EXPORT_ROOT --pin NAME=VERSION` (and `--unpin NAME` to follow the newest again).
"""


def versions(model_dir: str | os.PathLike) -> list[int]:
    """The versions under a model's base folder, ascending: positive integer folders holding saved_model.pb."""
    model_dir = pathlib.Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir()
                  if p.name.isdigit() and int(p.name) > 0 and (p / "saved_model.pb").is_file())


def exported_models(root: str | os.PathLike) -> dict[str, list[int]]:
    """{model name: its versions} for every model under an export root that holds a version, by name."""
    root = pathlib.Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"export root {str(root)!r} is not a folder")
    found = {p.name: versions(p) for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")}
    return {name: found_versions for name, found_versions in found.items() if found_versions}


def read_pins(path: str | os.PathLike) -> dict[str, int]:
    """{model name: pinned version} from an existing models.config ({} when there is no file)."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    path = pathlib.Path(path)
    if not path.is_file():
        return {}
    try:
        config = text_format.Parse(path.read_text(), model_server_config_pb2.ModelServerConfig())
    except text_format.ParseError as error:
        raise ValueError(f"{path} is not a TF Serving model config ({error}): delete it to write a new one") from None
    pins = {}
    for model in config.model_config_list.config:
        policy = model.model_version_policy
        if policy.WhichOneof("policy_choice") == "specific" and policy.specific.versions:
            pins[model.name] = policy.specific.versions[0]
    return pins


def model_server_config(models: dict[str, list[int]], pins: dict[str, int] | None = None,
                        base_path: str = BASE_PATH):
    """{name: versions} (and pins) -> a ``ModelServerConfig`` proto listing each model."""
    from tensorflow_serving.config import model_server_config_pb2

    pins = dict(pins or {})
    for name, version in pins.items():
        if name not in models:
            raise ValueError(f"cannot pin {name!r}: no exported model of that name (found: {', '.join(models) or 'none'})")
        if version not in models[name]:
            raise ValueError(f"cannot pin {name!r} to version {version}: its versions are {models[name]}")
    config = model_server_config_pb2.ModelServerConfig()
    for name in sorted(models):
        model = config.model_config_list.config.add(name=name, base_path=f"{base_path.rstrip('/')}/{name}",
                                                    model_platform="tensorflow")
        if name in pins:
            model.model_version_policy.specific.versions.append(pins[name])
        else:
            model.model_version_policy.latest.num_versions = 1
    return config


def write_model_config(root: str | os.PathLike, base_path: str = BASE_PATH, pin: dict[str, int] | None = None,
                       unpin=()) -> pathlib.Path:
    """(Re)writes ``root/models.config`` for the models under ``root`` -> its path.

    pin: {name: version} to serve only that version; unpin: names to serve the newest again; other
    models keep the policy the file gave them. Written atomically (a server polling it never reads
    half a file). Raises ``ValueError`` when no model is exported under ``root`` or a pin names a
    model or version that is not there."""
    root = pathlib.Path(root)
    models = exported_models(root)
    if not models:
        raise ValueError(f"no exported model under {str(root)!r} (expected NAME/VERSION/saved_model.pb): "
                         f"run `zoo export NAME {root}` first")
    path = root / CONFIG_FILE
    pins = {name: version for name, version in read_pins(path).items() if name not in set(unpin)}
    pins = {name: version for name, version in pins.items() if name in models}  # models removed since
    pins.update(pin or {})
    from google.protobuf import text_format

    text = HEADER + text_format.MessageToString(model_server_config(models, pins, base_path))
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".tmp-models-", suffix=".config")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
