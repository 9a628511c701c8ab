"""The code's floors: no import cycle between files, no import from a lower layer to a higher one, and no
test module importing another.

Every module of the four packages is parsed with :mod:`ast` (nothing is imported, so a module that
fails to import still shows up). An import inside a function counts like one at the top: a lazy
import hides a cycle from the interpreter, not from a reader.

The layers, lowest first (ARCHITECTURE.md draws the same picture). A module may import its own
layer and any layer below it; within a layer, the files must still form no cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("collectors", "classifiers", "alerts", "monitor")

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("collectors", "classifiers")),
    ("kernel", ("monitor.kernel", "alerts.config", "alerts.sla")),
    ("domain", ("monitor.domain",)),
    ("store", ("monitor.store",)),
    ("alerts", ("alerts",)),
    ("stages", ("monitor.stages",)),
    ("reports", ("monitor.reports",)),
    ("web", ("monitor.web",)),
    ("shell", ("monitor",)),
)
"""Layer name and the module prefixes it holds; the longest matching prefix wins. ``alerts.config``
(alerts' own settings) and ``alerts.sla`` (the pure LAPOR! deadline calendar its settings build) are
leaves that the kernel's ``AppConfig`` composes, so they sit with the kernel."""


def module_name(path: Path, root: Path = ROOT) -> str:
    """Dotted module name of a file below ``root`` (a package's ``__init__`` is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, name: str, is_package: bool, known: set[str]) -> set[str]:
    """The known modules a module's source imports (relative imports resolved against ``name``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            submodules = {f"{target}.{alias.name}" for alias in node.names} & known
            found.update(submodules)
            # `from pkg import sub` runs pkg too, but only names that are not submodules depend on pkg itself.
            if len(submodules) < len(node.names):
                found.add(target)
    return {module for module in found if module in known}


def import_graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """Module -> the modules of ``packages`` it imports."""
    files = {module_name(path, root): path for package in packages for path in (root / package).rglob("*.py")}
    known = set(files)
    return {
        name: imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", known) - {name}
        for name, path in files.items()
    }


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import each other in a circle (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:
        # Iterative: the module graph is deep enough that recursion would be fragile.
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str, layers: tuple[tuple[str, tuple[str, ...]], ...] = LAYERS) -> int:
    """Rank of the module's layer (0 = lowest), by the longest matching prefix."""
    best, rank = -1, -1
    for position, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), position
    if rank < 0:
        raise ValueError(f"{module} is in no layer")
    return rank


def upward_imports(
    graph: Mapping[str, set[str]], layers: tuple[tuple[str, tuple[str, ...]], ...] = LAYERS
) -> list[str]:
    """Every import from a lower layer to a higher one, as ``a (layer) -> b (layer)``."""
    names = [name for name, _ in layers]
    found = []
    for module in sorted(graph):
        for target in sorted(graph[module]):
            low, high = layer_of(module, layers), layer_of(target, layers)
            if high > low:
                found.append(f"{module} ({names[low]}) -> {target} ({names[high]})")
    return found


@cache
def project_graph() -> Mapping[str, set[str]]:
    """The project's import graph, parsed once per test process for the three checks that read it (~1.5 s each)."""
    return import_graph()


def test_no_import_cycle_between_files() -> None:
    assert cycles(project_graph()) == []


def test_no_import_from_a_lower_layer_to_a_higher_one() -> None:
    assert upward_imports(project_graph()) == []


def test_every_module_is_in_a_layer() -> None:
    graph = project_graph()
    assert len(graph) > 100  # the walk found the code, not an empty folder
    for module in graph:
        layer_of(module)


def test_a_cycle_and_an_upward_import_are_found(tmp_path: Path) -> None:
    """The checks can fail: a synthetic package with a circle and a kernel module reaching up into the web."""
    package = tmp_path / "monitor"
    (package / "kernel").mkdir(parents=True)
    (package / "web").mkdir()
    for init in (package / "__init__.py", package / "kernel" / "__init__.py", package / "web" / "__init__.py"):
        init.write_text("")
    (package / "kernel" / "clock.py").write_text("from monitor.web import app\n")
    (package / "web" / "app.py").write_text("from monitor.web.routes import router\n")
    (package / "web" / "routes.py").write_text("def handler():\n    from . import app\n")
    graph = import_graph(tmp_path, ("monitor",))
    assert graph["monitor.kernel.clock"] == {"monitor.web.app"}
    assert cycles(graph) == [["monitor.web.app", "monitor.web.routes"]]
    assert upward_imports(graph) == ["monitor.kernel.clock (kernel) -> monitor.web.app (web)"]


def test_same_layer_and_downward_imports_pass() -> None:
    graph = {"monitor.web.app": {"monitor.store.models", "monitor.web.deps"}, "monitor.web.deps": set()}
    assert cycles(graph) == []
    assert upward_imports(graph) == []


def test_alerts_reads_the_deployment_through_its_directory() -> None:
    """alerts/ knows agencies, routing and its own settings through ``alerts.directory``, not ``AppConfig``."""
    offenders = []
    for path in (ROOT / "alerts").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and any(alias.name == "AppConfig" for alias in node.names):
                offenders.append(module_name(path))
    assert offenders == []


def imports_of_test_modules(graph: Mapping[str, set[str]]) -> list[str]:
    """Every import of a test module (``test_*.py``) by another module, as ``a -> b``.

    Helpers shared by tests live in ``tests/*_support.py`` (or conftest.py): a test module imported by
    another runs twice over, and its fixtures and tests are registered wherever their names are imported.
    """
    return [
        f"{module} -> {target}"
        for module in sorted(graph)
        for target in sorted(graph[module])
        if target.rsplit(".", 1)[-1].startswith("test_")
    ]


def test_no_test_module_imports_another() -> None:
    graph = import_graph(ROOT, ("tests",))
    assert "tests.conftest" in graph and "tests.web_support" in graph  # the walk found the suite
    assert imports_of_test_modules(graph) == []


def test_an_import_of_a_test_module_is_found(tmp_path: Path) -> None:
    """The check can fail: each way of writing the import, from a test module and from conftest."""
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "__init__.py").write_text("")
    (tests / "web_support.py").write_text("NOW = 1\n")
    (tests / "test_a.py").write_text("from tests.web_support import NOW\nHELPER = NOW\n")
    (tests / "test_b.py").write_text("from tests.test_a import HELPER\n")
    (tests / "test_c.py").write_text("def test_c():\n    from . import test_a\n")
    (tests / "conftest.py").write_text("import tests.test_b\n")
    graph = import_graph(tmp_path, ("tests",))
    assert imports_of_test_modules(graph) == [
        "tests.conftest -> tests.test_b",
        "tests.test_b -> tests.test_a",
        "tests.test_c -> tests.test_a",
    ]
