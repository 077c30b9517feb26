"""Every example command in the README runs as written, in a fresh copy of the repository, with the
installed `rtui` on PATH and no API key: each fenced `sh` block runs in order (tests/readme_support.py),
servers are started, checked and stopped with Ctrl-C, and every other command must exit 0 without a
traceback. The only commands not run are listed in SKIPPED, each with its reason; a skip whose
command is no longer in the README fails, so the list cannot hide anything."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from audio_support import VirtualAudio, virtual_audio  # noqa: F401  (fixture)
from readme_support import Outcome, sh_blocks

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SUPPORT = Path(__file__).resolve().parents[1] / "readme_support.py"

SKIPPED = {
    "scripts/run": "the interactive TUI",
    "scripts/test": "the whole test suite, which runs this test",
    "rtui": "the interactive TUI",
    "OPENAI_API_KEY=sk-... rtui": "the interactive TUI, with a real API key",
    "rtui --key ek_...": "the interactive TUI, with an ephemeral key a real backend minted",
    "rtui --url wss://RES.openai.azure.com/openai/v1/realtime --model DEPLOYMENT": (
        "the interactive TUI, with a real Azure resource and key"
    ),
    "rtui replay sessions/examples/story1-binary-append-close-1000.jsonl": (
        "the interactive TUI (tests/replay/test_replay_tui.py drives it)"
    ),
    'rtui --input-device 3 --output-device "USB Audio"': "the interactive TUI, on the reader's own devices",
}
# Blocks about sound devices run on a machine that has some: the tests' virtual PulseAudio.
NEEDS_DEVICES = ("rtui devices --input-device pulse",)

BLOCKS = sh_blocks(README.read_text())


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files a fresh clone has (git's tracked files, as they are in this working tree)."""
    root = tmp_path_factory.mktemp("clone")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return root


def namespace_prefix() -> list[str]:
    """`unshare` into a network namespace of our own, when the system allows it: the README's fixed
    ports (8765, 8766) are then free whatever else runs on this machine."""
    if shutil.which("unshare") is None:
        return []
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
    return ["unshare", "-rn"] if probe.returncode == 0 else []


def run(commands: list[str], cwd: Path, env: dict[str, str]) -> list[Outcome]:
    # A network namespace only for blocks that serve (PulseAudio refuses to run as the namespace's root).
    prefix = namespace_prefix() if any(c.startswith(("rtui mock", "rtui proxy")) for c in commands) else []
    job = json.dumps({"commands": commands, "skips": SKIPPED, "cwd": str(cwd), "env": env})
    args = [*prefix, sys.executable, str(SUPPORT), *(["--loopback-up"] if prefix else [])]
    result = subprocess.run(args, input=job, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    return [Outcome(**outcome) for outcome in json.loads(result.stdout)]


def reader_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "PULSE_SERVER", "RTUI_AUDIO_DIR")
    }
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}{os.pathsep}/usr/sbin{os.pathsep}/sbin"
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env["RTUI_AUDIO_DIR"] = str(tmp_path / "audio")  # scripts/virtual-audio's own, not the reader's
    return env


@pytest.mark.parametrize("block", BLOCKS, ids=[f"README.md:{block.line}" for block in BLOCKS])
def test_the_readme_commands_run_as_written(block, checkout: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    env = reader_env(tmp_path)
    if any(command in NEEDS_DEVICES for command in block.commands):
        env["PULSE_SERVER"] = request.getfixturevalue("virtual_audio").server
    outcomes = run(block.commands, checkout, env)
    failures = [f"{o.command}\n  {o.problem}\n  {o.output.strip()[-1500:]}" for o in outcomes if o.problem]
    assert not failures, "README commands that do not run as written:\n" + "\n".join(failures)
    assert set(block.commands) <= {o.command for o in outcomes}  # each one ran (or is a listed skip)


def test_every_skip_names_a_readme_command() -> None:
    commands = {command for block in BLOCKS for command in block.commands}
    assert not set(SKIPPED) - commands, "skips for commands the README no longer has"
    assert set(NEEDS_DEVICES) <= commands
