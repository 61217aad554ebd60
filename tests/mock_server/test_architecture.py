"""Architecture rules for the mock's package, checked statically: its sources are parsed with ``ast``, never imported.

* No import cycles between the package's modules, and no module importing itself.
* No hand-written file over ``MAX_FILE_LINES`` lines, no class body over ``MAX_CLASS_LINES`` lines.
* At most ``MAX_TOP_MODULES`` modules directly under the package; the rest in folders named for their layer, and each
  layer imports only the layers ``LAYER_RULES`` allows it (each folder's docstring says the same in words).

How the import graph is built (``build_import_graph``):

* Nodes are the package's modules, one per ``.py`` file under it: ``dashscope_mock.http.app``,
  ``dashscope_mock.media.fetch``; a package's ``__init__.py`` is the package module (``dashscope_mock.media``).
* Every ``import`` / ``from ... import`` statement counts wherever it stands: at module level, inside functions and
  methods, inside ``try`` blocks. A deferred import inside a function does not break a cycle, it only hides it from
  the interpreter at start-up, so it is an edge like any other.
* Imports under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``) are ignored; the ``else:`` branch of such an
  ``if`` runs at run time and counts. Counting them too would be the stricter rule for a refactor aiming at a clean
  graph, but they never execute, and ``from __future__ import annotations`` makes them the standard way to name a
  type without an import at run time. Pass ``include_type_checking=True`` to see the stricter graph.
* Relative imports are resolved against the importing module (``from . import x``, ``from ..errors import y``,
  ``from .media import z``). ``from pkg import name`` is an edge to ``pkg.name`` when that submodule exists, otherwise
  an edge to ``pkg`` itself. Absolute imports of ``dashscope_mock...`` are resolved the same way; imports of anything
  outside the package are not nodes and are dropped.
* Importing ``a.b.c`` also runs the ``__init__`` of ``a`` and ``a.b``; that implied edge to the parent packages is
  deliberately NOT added (only the edge to ``a.b.c`` is), which keeps the graph to what the source says.
* Dynamic imports (``importlib.import_module("...")``, ``__import__``) are strings, not statements, and are not seen.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "mock_server" / "dashscope_mock"
MAX_FILE_LINES = 500
MAX_CLASS_LINES = 250

Graph = Mapping[str, AbstractSet[str]]


# --- modules and the import graph ---------------------------------------------------------------------------------


def discover_modules(package_dir: Path) -> dict[str, Path]:
    """Every ``.py`` file under ``package_dir`` by dotted module name, the package named after its directory."""
    modules: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking_guard(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``<anything>.TYPE_CHECKING`` (``typing.TYPE_CHECKING``, ``t.TYPE_CHECKING``)."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def iter_imports(node: ast.AST, include_type_checking: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, at any depth; the body of ``if TYPE_CHECKING:`` only if asked."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
        return
    if isinstance(node, ast.If) and not include_type_checking and _is_type_checking_guard(node.test):
        children: list[ast.AST] = list(node.orelse)  # the else branch does run
    else:
        children = list(ast.iter_child_nodes(node))
    for child in children:
        yield from iter_imports(child, include_type_checking)


def _existing(name: str, modules: AbstractSet[str]) -> str | None:
    """``name`` if it is a module of the package, else its longest dotted prefix that is, else ``None``."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _in_package(name: str, root: str) -> bool:
    return name == root or name.startswith(root + ".")


def resolve_import(
    node: ast.Import | ast.ImportFrom, importer: str, importer_is_package: bool, modules: AbstractSet[str], root: str
) -> set[str]:
    """The package modules one import statement in module ``importer`` is an edge to."""
    targets: set[str] = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            if _in_package(alias.name, root) and (found := _existing(alias.name, modules)) is not None:
                targets.add(found)
        return targets

    if node.level:
        base = importer.split(".") if importer_is_package else importer.split(".")[:-1]
        if node.level - 1 >= len(base):
            return targets  # climbs above the top-level package: not an import of ours (and an ImportError anyway)
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, *node.module.split(".")] if node.module else base)
    else:
        source = node.module or ""
    if not _in_package(source, root):
        return targets
    for alias in node.names:
        submodule = f"{source}.{alias.name}"
        if alias.name != "*" and submodule in modules:
            targets.add(submodule)
        elif (found := _existing(source, modules)) is not None:
            targets.add(found)
    return targets


def build_import_graph(package_dir: Path, include_type_checking: bool = False) -> dict[str, set[str]]:
    """Module -> the package modules it imports (see the module docstring for the rules)."""
    modules = discover_modules(package_dir)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in iter_imports(tree, include_type_checking):
            graph[name] |= resolve_import(node, name, is_package, graph.keys(), package_dir.name)
    return graph


# --- cycles -------------------------------------------------------------------------------------------------------


def strongly_connected_components(graph: Graph) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit); each component sorted, components in a stable order."""
    nodes = sorted(set(graph) | {target for targets in graph.values() for target in targets})
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = []
        index[start] = lowlink[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        work.append((start, iter(sorted(graph.get(start, ())))))
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = lowlink[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, ())))))
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowlink[parent] = min(lowlink[parent], lowlink[node])
                if lowlink[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def _shortest_path(graph: Graph, start: str, goal: str, allowed: AbstractSet[str]) -> list[str]:
    """Breadth-first ``start`` ... ``goal`` through ``allowed`` nodes; both ends must be connected within it."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            break
        for successor in sorted(graph.get(node, ())):
            if successor in allowed and successor not in previous:
                previous[successor] = node
                queue.append(successor)
    path = [goal]
    while (step := previous[path[-1]]) is not None:
        path.append(step)
    return path[::-1]


def find_cycles(graph: Graph) -> list[list[str]]:
    """Import cycles as closed chains ``[a, b, a]``: every self-import, and for every edge inside a strongly
    connected component the shortest cycle through that edge, so each edge that takes part in a cycle is shown.
    Rotations of the same cycle are reported once, starting from its smallest module name."""
    found: set[tuple[str, ...]] = set()
    for component in strongly_connected_components(graph):
        members = set(component)
        for source in component:
            for target in graph.get(source, ()):
                if target == source:
                    found.add((source,))
                elif len(members) > 1 and target in members:
                    cycle = [source, *_shortest_path(graph, target, source, members)[:-1]]
                    first = cycle.index(min(cycle))
                    found.add(tuple(cycle[first:] + cycle[:first]))
    return [[*cycle, cycle[0]] for cycle in sorted(found)]


def format_chain(chain: list[str]) -> str:
    return " -> ".join(chain)


# --- the rules over the real package ------------------------------------------------------------------------------


def test_no_import_cycles() -> None:
    """No two modules of the package import each other, directly or round a longer loop, and none imports itself.

    Imports inside functions count (deferring one does not remove the dependency); imports only under
    ``if TYPE_CHECKING:`` do not, as they never run; see the module docstring for the full rules."""
    graph = build_import_graph(PACKAGE_DIR)
    assert len(graph) > 1 and any(graph.values()), f"no modules or no imports found under {PACKAGE_DIR}"
    cycles = find_cycles(graph)
    assert not cycles, f"{len(cycles)} import cycle(s) in {PACKAGE_DIR.name}:\n" + "\n".join(
        f"  {format_chain(chain)}" for chain in cycles
    )


REPO = PACKAGE_DIR.parents[1]
REPO_PACKAGES = ("bench", "contract_tests", "tests", "scripts", "examples")


def build_repo_graph(roots: tuple[Path, ...]) -> dict[str, set[str]]:
    """The import graph over several top-level packages at once (cross-package edges included)."""
    modules: dict[str, Path] = {}
    for root in roots:
        modules.update(discover_modules(root))
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in iter_imports(tree, include_type_checking=False):
            for root in roots:
                graph[name] |= resolve_import(node, name, is_package, graph.keys(), root.name)
    return graph


def test_no_import_cycles_anywhere_in_the_repository() -> None:
    """The benchmarks, the tests, the contract tests, the scripts and the examples too (and across them)."""
    roots = (PACKAGE_DIR, *(REPO / name for name in REPO_PACKAGES if (REPO / name).is_dir()))
    cycles = find_cycles(build_repo_graph(roots))
    assert not cycles, f"{len(cycles)} import cycle(s):\n" + "\n".join(f"  {format_chain(c)}" for c in cycles)


def test_no_hand_written_file_is_too_big() -> None:
    """Every module stays within ``MAX_FILE_LINES`` lines and every class body within ``MAX_CLASS_LINES``."""
    offenders: list[str] = []
    files = sorted(PACKAGE_DIR.rglob("*.py"))
    assert files, f"no Python files under {PACKAGE_DIR}"
    for path in files:
        relative = path.relative_to(PACKAGE_DIR.parent).as_posix()
        source = path.read_text(encoding="utf-8")
        lines = len(source.splitlines())
        if lines > MAX_FILE_LINES:
            offenders.append(f"  {relative}: {lines} lines (limit {MAX_FILE_LINES})")
        for node in ast.walk(ast.parse(source, filename=str(path))):
            if isinstance(node, ast.ClassDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_CLASS_LINES:
                    offenders.append(
                        f"  {relative}:{node.lineno} class {node.name}: {size} lines (limit {MAX_CLASS_LINES})"
                    )
    assert not offenders, "too big:\n" + "\n".join(offenders)


# --- the layers ---------------------------------------------------------------------------------------------------

MAX_TOP_MODULES = 12
# The modules directly under the package, by layer: what a model module and the settings need (``models-api``), the
# composition root (``backend``), and the entry points (the CLI, the test harness and its pytest plugin).
TOP_LAYERS = {
    "plugins": "models-api",
    "seam": "models-api",
    "config": "models-api",
    "backend": "backend",
    "cli": "entry",
    "_entry": "entry",
    "_quiet_imports": "entry",
    "pytest_plugin": "entry",
    "testing": "entry",
    "verification": "entry",
}
# Layer -> the other layers its modules may import. A folder is a layer of its own name.
LAYER_RULES: Mapping[str, AbstractSet[str]] = {
    "domain": set(),
    "models-api": {"domain"},
    "store": {"domain"},
    "media": {"domain", "models-api", "store"},
    "models": {"domain", "models-api", "media"},
    "services": {"domain", "models-api", "store", "media"},
    "http": {"domain", "models-api", "store", "services", "backend"},
    "backend": {"domain", "models-api", "store", "media", "services", "realservice"},
    "realservice": {"domain", "models-api", "media", "services", "http"},
    "dashboard": set(),
    "entry": {"domain", "models-api", "store", "media", "services", "http", "backend", "realservice", "entry"},
}
# Edges across the rules, each for a reason.
LAYER_EXCEPTIONS = {
    # A submit asks the recordings first; replay's matching lives beside the recording format it reads.
    ("dashscope_mock.services.tasks", "dashscope_mock.realservice.replay"),
    # In process, Backend.add_fault / add_scenario check what a test scripts exactly as the control plane does.
    ("dashscope_mock.backend", "dashscope_mock.http.script_checks"),
    # The drift report replays requests on the in-process harness users test with.
    ("dashscope_mock.realservice.drift_compare", "dashscope_mock.testing"),
}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "entry"  # the package's __init__: the public names
    if len(parts) == 2 and parts[1] in TOP_LAYERS:
        return TOP_LAYERS[parts[1]]
    return parts[1]


def layer_violations(graph: Graph) -> list[str]:
    found = []
    for module, targets in sorted(graph.items()):
        mine = layer_of(module)
        allowed = LAYER_RULES.get(mine)
        if allowed is None:
            found.append(f"  {module}: layer {mine!r} has no rule in LAYER_RULES")
            continue
        for target in sorted(targets):
            theirs = layer_of(target)
            if theirs != mine and theirs not in allowed and (module, target) not in LAYER_EXCEPTIONS:
                found.append(f"  {module} ({mine}) imports {target} ({theirs})")
    return found


def test_at_most_a_dozen_modules_sit_directly_under_the_package() -> None:
    top = sorted(path.stem for path in PACKAGE_DIR.glob("*.py") if path.name != "__init__.py")
    assert len(top) <= MAX_TOP_MODULES, f"{len(top)} modules under {PACKAGE_DIR.name} (at most {MAX_TOP_MODULES})"
    assert set(top) <= set(TOP_LAYERS), f"a top module without a layer: {sorted(set(top) - set(TOP_LAYERS))}"


def test_each_layer_imports_only_what_its_rule_allows() -> None:
    graph = build_import_graph(PACKAGE_DIR)
    violations = layer_violations(graph)
    assert not violations, "imports across the layers' rules:\n" + "\n".join(violations)
    used = {(module, target) for module, targets in graph.items() for target in targets}
    stale = LAYER_EXCEPTIONS - used
    assert not stale, f"exceptions no longer needed: {sorted(stale)}"


def test_every_folder_says_what_it_may_import() -> None:
    for folder in sorted(p for p in PACKAGE_DIR.iterdir() if (p / "__init__.py").is_file()):
        doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8"))) or ""
        assert "May import" in doc, f"{folder.name}/__init__.py does not say what its modules may import"


# --- the checker itself can fail ----------------------------------------------------------------------------------


def test_cycle_finder_reports_a_cycle_and_passes_a_dag() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set(), "d": {"a"}}) == []
    assert find_cycles({"a": {"a", "b"}, "b": set()}) == [["a", "a"]]
    two_loops_one_component = {"app": {"fastpath", "handlers", "backend"}, "fastpath": {"app"}, "handlers": {"app"}}
    assert find_cycles(two_loops_one_component) == [["app", "fastpath", "app"], ["app", "handlers", "app"]]
    assert strongly_connected_components({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"], ["c"]]


def test_import_graph_resolves_relative_absolute_and_guarded_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    sources = {
        "__init__.py": "from .app import run\n",
        "app.py": "from . import util, VERSION\nfrom .sub import leaf, helper\n",
        "util.py": "def f() -> None:\n    from pkg.sub.leaf import x\n",
        "sub/__init__.py": "helper = 1\n",
        "sub/leaf.py": (
            "from typing import TYPE_CHECKING\nimport os\nfrom ..util import f\n"
            "if TYPE_CHECKING:\n    from ..app import run\nelse:\n    import pkg.sub\n"
        ),
    }
    for name, text in sources.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text, encoding="utf-8")

    graph = build_import_graph(package)
    assert graph == {
        "pkg": {"pkg.app"},
        "pkg.app": {"pkg", "pkg.util", "pkg.sub", "pkg.sub.leaf"},
        "pkg.util": {"pkg.sub.leaf"},
        "pkg.sub": set(),
        "pkg.sub.leaf": {"pkg.util", "pkg.sub"},
    }
    assert build_import_graph(package, include_type_checking=True)["pkg.sub.leaf"] == {"pkg.util", "pkg.sub", "pkg.app"}
    assert find_cycles(graph) == [
        ["pkg", "pkg.app", "pkg"],
        ["pkg.sub.leaf", "pkg.util", "pkg.sub.leaf"],
    ]


def test_the_layer_check_names_an_import_against_the_rules() -> None:
    graph = {"dashscope_mock.domain.records": {"dashscope_mock.http.views"}, "dashscope_mock.http.views": set()}
    assert layer_violations(graph) == [
        "  dashscope_mock.domain.records (domain) imports dashscope_mock.http.views (http)"
    ]
