"""How the tree shows the architecture: the core never imports Textual (only `tui.app` may; harlequin keeps its
core headless the same way), websockets is used through its public API, and one name means one idea."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import tui

ROOT = Path(__file__).resolve().parents[2]


def core_packages() -> list[str]:
    return sorted(f"tui.{info.name}" for info in pkgutil.iter_modules(tui.__path__) if info.ispkg and info.name != "app")


def core_modules() -> list[str]:
    """Every module under the core packages, so a Textual import deep inside one is caught too."""
    names = []
    for package in core_packages():
        path = ROOT / package.replace(".", "/")
        names.append(package)
        names.extend(info.name for info in pkgutil.walk_packages([str(path)], prefix=f"{package}."))
    return names


def test_core_packages_are_found() -> None:
    packages = core_packages()
    assert {"tui.wire", "tui.protocol", "tui.engine", "tui.mock", "tui.audio"} <= set(packages)
    assert "tui.app" not in packages


def test_core_never_imports_textual() -> None:
    modules = core_modules()
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"core modules imported Textual: {result.stdout.strip()}"


def test_the_check_would_catch_textual() -> None:
    """The subprocess check sees Textual when something does import it (here: the app itself)."""
    script = "import sys, tui.app; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True", result.stderr


# -- websockets is used through its public API only (tui.wire.pump drives its sans-I/O protocol) --


def websockets_names() -> tuple[set[str], set[str]]:
    """The methods of websockets' protocol and connection classes, and their private attributes."""
    import websockets.asyncio.client
    import websockets.asyncio.connection
    import websockets.asyncio.server
    from websockets.client import ClientProtocol
    from websockets.server import ServerProtocol

    classes = [
        ClientProtocol,
        ServerProtocol,
        websockets.asyncio.connection.Connection,
        websockets.asyncio.client.ClientConnection,
        websockets.asyncio.server.ServerConnection,
    ]
    names = {name for cls in classes for name in dir(cls)} | set(vars(ServerProtocol())) | set(vars(ClientProtocol(parse_uri())))
    methods = {n for cls in classes for n in dir(cls) if not n.startswith("__") and callable(getattr(cls, n, None))}
    private = {n for n in names if n.startswith("_") and not n.startswith("__")}
    return methods, private


# Internals websockets does not mark with an underscore but does not document either.
UNDOCUMENTED = {
    "writes",
    "events",
    "parser",
    "reader",
    "parser_exc",
    "current_size",
    "eof_sent",
    "expect_continuation_frame",
    "recv_frame",
    "send_frame",
    "send_eof",
    "send_in_progress",
    "send_context",
    "send_data",
    "process_event",
    "connection_lost_waiter",
    "close_deadline",
}


def parse_uri():  # a URI for constructing a ClientProtocol to list its attributes
    from websockets.uri import parse_uri as parse

    return parse("ws://127.0.0.1/")


def _is_protocol(node: ast.expr) -> bool:
    """`protocol` or `<anything>.protocol`: a websockets sans-I/O protocol object by rtui's naming."""
    return (isinstance(node, ast.Name) and node.id == "protocol") or (isinstance(node, ast.Attribute) and node.attr == "protocol")


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"  # an object of rtui's setting its own attribute


def websockets_misuse(source: str) -> list[str]:
    """What in `source` patches websockets or reaches into its private parts."""
    import importlib

    methods, private = websockets_names()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "websockets":
            public = getattr(importlib.import_module(node.module), "__all__", None)
            for alias in node.names:
                if alias.name.startswith("_") or (public is not None and alias.name not in public):
                    found.append(f"line {node.lineno}: imports {node.module}.{alias.name}, not in its public API")
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            function = isinstance(node.value, (ast.Name, ast.Attribute, ast.Lambda))  # not a call's result
            for target in targets:
                if not isinstance(target, ast.Attribute):
                    continue
                if _is_protocol(target.value):
                    found.append(f"line {node.lineno}: assigns {target.attr} on a websockets protocol")
                elif function and target.attr in methods and not _is_self(target.value):
                    found.append(f"line {node.lineno}: replaces the websockets method {target.attr}")
        elif isinstance(node, ast.Attribute) and (node.attr in private or node.attr in UNDOCUMENTED):
            found.append(f"line {node.lineno}: uses websockets' private {node.attr}")
    return sorted(found, key=lambda line: int(line.split(":")[0].split()[1]))


def tui_sources() -> dict[str, str]:
    return {str(path.relative_to(ROOT)): path.read_text() for path in sorted((ROOT / "tui").rglob("*.py"))}


def test_no_module_patches_websockets_or_uses_its_private_api() -> None:
    misuse = {name: websockets_misuse(source) for name, source in tui_sources().items()}
    assert {name: found for name, found in misuse.items() if found} == {}


def test_the_websockets_check_catches_each_kind_of_misuse() -> None:
    source = (
        "from websockets.frames import CLOSE\n"
        "from websockets.protocol import _private\n"
        "def f(connection, frame):\n"
        "    connection.protocol.state = 1\n"
        "    connection.protocol.recv_frame = print\n"
        "    tap.send_frame = print\n"
        "    connection.protocol.writes[:] = []\n"
        "    connection.protocol._state\n"
    )
    found = websockets_misuse(source)
    assert sorted({int(line.split(":")[0].split()[1]) for line in found}) == [1, 2, 4, 5, 6, 7, 8], found


def names_defined_twice(source: str) -> list[str]:
    """Top-level functions and classes a module defines more than once: in a test module the first
    is silently replaced and never runs (ruff's F811 is off for tests, whose fixtures are imported)."""
    seen: set[str] = set()
    twice = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name in seen:
                twice.append(node.name)
            seen.add(node.name)
    return twice


def test_no_test_is_defined_twice() -> None:
    twice = {
        str(path.relative_to(ROOT)): names
        for path in (ROOT / "tests").rglob("test_*.py")
        if (names := names_defined_twice(path.read_text()))
    }
    assert twice == {}
    assert names_defined_twice("def test_a():\n    pass\nasync def test_a():\n    pass\ndef test_b():\n    pass\n") == ["test_a"]


def test_tests_mirror_the_packages() -> None:
    """The test of a module is found without grepping: tests/<package>/ for each tui package, and
    tests/system/ for suites that cross packages (reliability, fuzzing, tmux, the README)."""
    packages = {info.name for info in pkgutil.iter_modules(tui.__path__) if info.ispkg}
    folders = {path.parent.name for path in (ROOT / "tests").glob("*/test_*.py")}
    assert folders <= packages | {"system"}, folders - packages
    assert not list((ROOT / "tests").glob("test_*.py")), "a test file at the top of tests/ belongs in a package folder"


# -- one name per idea: no two public classes or type aliases share a name, and no module is named
# like a top-level package (tui/replay/engine.py beside tui/engine/ read as a second engine) --------


def top_level_names(source: str) -> list[str]:
    """The public classes and type aliases a module defines at its top level (`Record = dict[str, Any]`,
    `Phase = Literal[...]`, `type X = ...`); constants (ALL_CAPS) and private names are not concepts."""
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            names.append(node.targets[0].id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
        elif sys.version_info >= (3, 12) and isinstance(node, ast.TypeAlias):
            names.append(node.name.id)
    return [name for name in names if name[0].isupper() and not name.isupper() and not name.startswith("_")]


def shared_names(sources: dict[str, str]) -> dict[str, list[str]]:
    defined: dict[str, list[str]] = {}
    for path, source in sources.items():
        for name in top_level_names(source):
            defined.setdefault(name, []).append(path)
    return {name: paths for name, paths in defined.items() if len(paths) > 1}


def modules_named_like_packages(paths: list[str], packages: set[str]) -> list[str]:
    """Modules named after another top-level package. The CLI's modules are named after their
    commands (`rtui replay` is tui/cli/replay.py) and a package may hold a module of its own name."""
    found = []
    for path in paths:
        parts = Path(path).with_suffix("").parts  # ("tui", package, ..., module)
        if len(parts) > 2 and parts[1] != "cli" and parts[-1] in packages - {parts[1]}:
            found.append(path)
    return found


def test_no_two_classes_or_aliases_share_a_name() -> None:
    assert shared_names(tui_sources()) == {}


def test_no_module_is_named_like_a_top_level_package() -> None:
    packages = {info.name for info in pkgutil.iter_modules(tui.__path__) if info.ispkg}
    assert modules_named_like_packages(list(tui_sources()), packages) == []


def test_the_name_checks_catch_a_collision() -> None:
    sources = {
        "tui/replay/normalize.py": "class Item:\n    pass\nMAX = 3\n",
        "tui/diagnose/items.py": "from typing import Any\nItem = dict[str, Any]\n_Private = int\n",
        "tui/wire/reader.py": "class _Private:\n    pass\n",
    }
    assert shared_names(sources) == {"Item": ["tui/replay/normalize.py", "tui/diagnose/items.py"]}
    paths = ["tui/replay/engine.py", "tui/app/app.py", "tui/cli/replay.py", "tui/mock/session.py", "tui/engine/view.py"]
    assert modules_named_like_packages(paths, {"app", "cli", "engine", "mock", "replay"}) == ["tui/replay/engine.py"]
