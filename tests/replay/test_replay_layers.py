"""The replay package's layering (tui/replay/__init__.py): no import cycle, no import from a lower layer."""

from __future__ import annotations

import ast
from pathlib import Path

import tui.replay

PACKAGE = Path(tui.replay.__file__).parent
LAYERS = [
    {"steps"},
    {"normalize"},
    {"report"},
    {"tape", "script"},
    {"timing"},
    {"audio_match", "causal", "diff"},
    {"player"},
    {"serve", "client", "full", "on_screen"},
]
LAYER = {module: rank for rank, modules in enumerate(LAYERS) for module in modules}


def imports(path: Path) -> set[str]:
    """The tui.replay modules `path` imports anywhere (top level, functions, TYPE_CHECKING blocks)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "tui.replay":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tui.replay."):
            found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[2] for a in node.names if a.name.startswith("tui.replay."))
    return found


def graph() -> dict[str, set[str]]:
    return {path.stem: imports(path) - {path.stem} for path in PACKAGE.glob("*.py") if path.stem != "__init__"}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(edges):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_the_replay_package_has_no_import_cycle() -> None:
    found = cycle(graph())
    assert found is None, "import cycle: " + " -> ".join(found or [])


def test_every_replay_module_has_a_layer_and_imports_only_from_its_own_or_those_above() -> None:
    edges = graph()
    assert set(edges) == set(LAYER), "place new modules in LAYERS and in tui/replay/__init__.py"
    upward = [
        f"{source} imports {target}" for source, targets in edges.items() for target in targets if LAYER[target] > LAYER[source]
    ]
    assert upward == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
