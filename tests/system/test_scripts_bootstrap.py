"""scripts/run and scripts/test install the package only when it is not installed as they need it:
run alternately, they never reinstall. The real scripts run from a copy of the checkout's scripts
and pyproject.toml, over a stand-in virtual environment whose python and rtui only note how they
were called (so pip "installs" in no time), with every system package reported installed."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CALLS = "calls.log"


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of what the scripts read (their own files and pyproject.toml), a stand-in venv in
    it, and a dpkg-query that says every package is installed."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    for name in ("bootstrap", "run", "test"):
        shutil.copy2(ROOT / "scripts" / name, root / "scripts" / name)
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    venv_bin = root / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    for name in ("python", "rtui"):
        executable(venv_bin / name, f'#!/bin/sh\necho "{name} $*" >>"{tmp_path / CALLS}"\n')
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    executable(fake_bin / "dpkg-query", "#!/bin/sh\nprintf 'install ok installed'\n")
    return root


def run_script(checkout: Path, name: str) -> list[str]:
    """Runs scripts/NAME; returns the calls it made to the venv's python and rtui."""
    calls = checkout.parent / CALLS
    calls.unlink(missing_ok=True)
    env = {
        k: v for k, v in os.environ.items() if k not in ("RTUI_VENV", "RTUI_EXTRAS", "RTUI_SYSTEM_PACKAGES", "RTUI_WEBSOCKETS")
    }
    env["PATH"] = f"{checkout.parent / 'bin'}{os.pathsep}{env['PATH']}"
    result = subprocess.run([str(checkout / "scripts" / name)], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return calls.read_text().splitlines()


def installs(calls: list[str]) -> list[str]:
    return [call for call in calls if " -m pip install " in call]


def test_run_and_test_alternated_install_once_each_way(checkout: Path) -> None:
    first = run_script(checkout, "test")
    assert installs(first) == [f"python -m pip install -q --disable-pip-version-check -e {checkout}[test]"]
    assert first[-1] == "python -m pytest"
    for name in ("run", "test", "run", "test"):
        calls = run_script(checkout, name)
        assert installs(calls) == [], f"scripts/{name} reinstalled: {calls}"
    assert run_script(checkout, "run") == ["rtui "]


def test_test_runs_the_checks_before_pytest(checkout: Path) -> None:
    calls = run_script(checkout, "test")
    assert calls[-3:] == [f"python -m ruff check --quiet {checkout}", "python -m mypy --no-error-summary", "python -m pytest"]


def test_run_first_then_test_adds_the_test_extras_once(checkout: Path) -> None:
    assert installs(run_script(checkout, "run")) == [f"python -m pip install -q --disable-pip-version-check -e {checkout}"]
    assert installs(run_script(checkout, "test")) == [f"python -m pip install -q --disable-pip-version-check -e {checkout}[test]"]
    for name in ("run", "test"):
        assert installs(run_script(checkout, name)) == []


def test_a_changed_pyproject_reinstalls_with_the_extras_already_there(checkout: Path) -> None:
    run_script(checkout, "test")
    with (checkout / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n# a new dependency\n")
    # scripts/run needs no extras, but the test extras stay installed for the next scripts/test.
    assert installs(run_script(checkout, "run")) == [f"python -m pip install -q --disable-pip-version-check -e {checkout}[test]"]
    assert installs(run_script(checkout, "test")) == []
