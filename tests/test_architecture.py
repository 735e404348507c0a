"""The shape of the code: feature packages depend on each other one way only.

Within `marketplace/`, a feature package (accounts, bookings, payments, ...) may use another's
models freely: the models are one schema, and their relationships cross features. Anything
else of another feature (its services, queries, schemas, pure helpers) is a dependency, and
those must form no cycle: if payments used bookings' services and bookings used payments', a
change to either could break the other in ways neither package shows. Blueprints (`routes.py`)
and the pages (`web/`) sit on top and may use any service. Models import models and the core
modules only, never a feature's operations.
"""

import ast
from itertools import pairwise
from pathlib import Path

import marketplace

PACKAGE = Path(marketplace.__file__).parent
TOP_LAYER_PACKAGES = {"web"}
TOP_LAYER_MODULES = {"routes"}
# The modules of marketplace/ itself that assemble the app (and may import anything); the
# others are the core every feature builds on, and import no feature but its models.
APP_MODULES = {"__init__", "api_docs", "cli", "demo", "health", "models"}
FEATURES = {
    "accounts",
    "admin",
    "availability",
    "bookings",
    "catalog",
    "notifications",
    "payments",
    "practitioners",
    "search",
}


def _features() -> set[str]:
    return {
        path.name
        for path in PACKAGE.iterdir()
        if path.is_dir() and (path / "__init__.py").exists() and path.name not in TOP_LAYER_PACKAGES
    }


def _imported_modules(path: Path) -> set[str]:
    """Every `marketplace...` module a file imports, at any depth (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from marketplace.x import y` may name a module y or a name in x: take both.
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("marketplace.")}


def _feature_modules():
    """(feature, module name, path) of each module of a feature package below the top layer."""
    for feature in sorted(_features()):
        for path in sorted((PACKAGE / feature).rglob("*.py")):
            module = path.relative_to(PACKAGE).with_suffix("").as_posix().replace("/", ".")
            if path.stem not in TOP_LAYER_MODULES:
                yield feature, f"marketplace.{module}", path


def _dependencies() -> dict[str, dict[str, set[str]]]:
    """feature -> feature it depends on -> the imports that make it so."""
    features = _features()
    graph: dict[str, dict[str, set[str]]] = {}
    for feature, module, path in _feature_modules():
        for imported in _imported_modules(path):
            parts = imported.split(".")
            if len(parts) < 3 or parts[1] not in features or parts[1] == feature:
                continue
            if parts[2] == "models":
                continue
            graph.setdefault(feature, {}).setdefault(parts[1], set()).add(
                f"{module} imports {imported}"
            )
    return graph


def _cycle(graph: dict[str, dict[str, set[str]]]) -> list[str] | None:
    """One cycle of the graph, as the features along it, or None."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for neighbour in sorted(graph.get(node, {})):
            found = visit(neighbour)
            if found:
                return found
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        found = visit(node)
        if found:
            return found
    return None


def test_the_check_sees_every_feature_and_their_dependencies():
    """The checks below must not pass for want of anything to check."""
    assert _features() == FEATURES
    graph = _dependencies()
    assert "payments" in graph["bookings"]  # bookings refunds through payments
    assert "bookings" not in graph.get("payments", {})


def test_feature_packages_depend_on_each_other_one_way_only():
    graph = _dependencies()
    cycle = _cycle(graph)
    if cycle:
        steps = [f"{a} -> {b}: {'; '.join(sorted(graph[a][b]))}" for a, b in pairwise(cycle)]
        raise AssertionError("import cycle between feature packages:\n" + "\n".join(steps))


def test_models_import_no_feature_operations():
    features = _features()
    offending = []
    for _feature, module, path in _feature_modules():
        if path.stem != "models":
            continue
        for imported in _imported_modules(path):
            parts = imported.split(".")
            if len(parts) >= 3 and parts[1] in features and parts[2] != "models":
                offending.append(f"{module} imports {imported}")
    assert not offending, offending


def test_only_the_top_layer_uses_blueprints_and_pages():
    offending = []
    core = [
        (f"marketplace.{path.stem}", path)
        for path in sorted(PACKAGE.glob("*.py"))
        if path.stem not in APP_MODULES
    ]
    for module, path in [(m, p) for _f, m, p in _feature_modules()] + core:
        for imported in _imported_modules(path):
            parts = imported.split(".")
            if parts[1] in TOP_LAYER_PACKAGES or (len(parts) > 2 and parts[2] in TOP_LAYER_MODULES):
                offending.append(f"{module} imports {imported}")
    assert not offending, offending


def test_core_modules_use_no_feature_but_its_models():
    features = _features() | TOP_LAYER_PACKAGES
    offending = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem in APP_MODULES:
            continue
        for imported in _imported_modules(path):
            parts = imported.split(".")
            if len(parts) >= 3 and parts[1] in features and parts[2] != "models":
                offending.append(f"marketplace.{path.stem} imports {imported}")
    assert not offending, offending


def test_the_cycle_finder_finds_a_cycle():
    """The check above must be able to fail."""
    graph = {"payments": {"bookings": {"x"}}, "bookings": {"payments": {"y"}}, "web": {}}
    assert _cycle(graph) == ["bookings", "payments", "bookings"]
    assert _cycle({"a": {"b": {"x"}}, "b": {}}) is None
