"""The core never imports Textual: only `tui.app` may (harlequin keeps its core headless the same way)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import tui

ROOT = Path(__file__).parent.parent


def core_packages() -> list[str]:
    return sorted(
        f"tui.{info.name}" for info in pkgutil.iter_modules(tui.__path__) if info.ispkg and info.name != "app"
    )


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
