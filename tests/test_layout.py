"""The package layout: imports between zoo's modules run one way, down the layers below, and never in
a cycle. The graph is read from the source with ``ast`` (nothing is imported), every ``import``
statement counted, those inside functions too."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "zoo"

# Top to bottom, by name under zoo/: a module may import from its own layer and the layers below it,
# never from one above. ``zoo`` itself (zoo/__init__.py, the public surface) is above them all.
LAYERS = (
    ("commands, training, packaging", ("cli", "doctor", "training", "packaging")),
    ("pretrained folders, evaluation, export", ("hub", "evaluation", "export", "serving_config", "plot")),
    ("prediction, decoding, data", ("predictor", "decoding", "data")),
    ("frontends, families", ("frontends", "models")),
    ("layers, text, files", ("layers", "text", "io")),
)


def modules(package: pathlib.Path = PACKAGE) -> dict[str, pathlib.Path]:
    """{dotted module name: its file} of every module of the package, packages under their own name."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = (package.name, *path.relative_to(package).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph(package: pathlib.Path = PACKAGE) -> dict[str, set[str]]:
    """{module: the package's modules it imports}. ``import a.b.c`` and ``from a.b import c`` count as
    importing the module they name (``a.b.c`` when it is one, else the closest package above)."""
    known = modules(package)
    root = package.name

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in known.items():
        here = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from . import x, from ..y import z
                    parts = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                targets += [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                            for alias in node.names]
        graph[module] = {resolved for target in targets if target.split(".")[0] == root
                         for resolved in [resolve(target)] if resolved and resolved != module}
    return graph


def layer_of(module: str) -> int:
    """The index of a module's layer in ``LAYERS``; -1 for the package itself (above every layer)."""
    parts = module.split(".")
    if len(parts) == 1:
        return -1
    for index, (_, names) in enumerate(LAYERS):
        if parts[1] in names:
            return index
    raise KeyError(f"{module} is in no layer: add zoo/{parts[1]} to LAYERS in tests/test_layout.py")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of a graph, each as a path that returns to its start: one per edge that
    closes a loop in a depth-first search (none means the graph is acyclic)."""
    found, state, path = [], {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                found.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


GRAPH = import_graph()


def test_the_graph_sees_every_import_statement():
    # hub imports the predictor inside ``load``, the CLI everything inside its commands: function-level
    # imports are edges too, or a cycle through them would go unseen.
    assert "zoo.predictor" in GRAPH["zoo.hub"]
    assert {"zoo.training.train", "zoo.packaging.ensemble", "zoo.export"} <= GRAPH["zoo.cli"]
    assert "zoo.data.scorers" in GRAPH["zoo.data.dataset"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_every_module_is_in_a_layer():
    names = [name for _, names in LAYERS for name in names]
    assert len(names) == len(set(names)), "a name is in two layers"
    for module in GRAPH:
        layer_of(module)


def test_no_import_cycles():
    found = cycles(GRAPH)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def test_imports_run_down_the_layers():
    upward = [f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
              for module, targets in sorted(GRAPH.items()) for target in sorted(targets)
              if layer_of(target) < layer_of(module)]
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


@pytest.mark.parametrize("old", ["train", "callbacks", "schedule", "distill", "arrays", "metrics", "scorers",
                                 "evaluation.py", "card", "averaging", "compression"])
def test_the_flat_modules_are_gone(old):
    # No module of the old flat layout comes back as a shim that re-exports the new one.
    assert not (PACKAGE / (old if old.endswith(".py") else f"{old}.py")).exists()
