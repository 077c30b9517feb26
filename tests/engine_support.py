"""Running the engine against the in-process mock server in tests."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tui.engine.config import AudioSettings, Endpoint, EngineConfig
from tui.mock import MockConfig, MockServer


def speech_wav(path: Path, text: str, rate: int = 16_000, pad_s: float = 0.5) -> Path:
    """Spoken `text` (espeak-ng) at `rate`, with `pad_s` of silence on both ends."""
    assert shutil.which("espeak-ng") and shutil.which("sox"), "espeak-ng and sox are installed by scripts/test"
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(path), "pad", str(pad_s), str(pad_s)], check=True
    )
    raw.unlink()
    return path


def engine_config(url: str, tmp_path: Path, **overrides) -> EngineConfig:
    config = EngineConfig(
        endpoint=Endpoint(url=url, kind="live"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path / "sessions",
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


@asynccontextmanager
async def mock_server(**config) -> AsyncIterator[MockServer]:
    config.setdefault("realtime", False)
    async with MockServer(MockConfig(**config)) as server:
        yield server


async def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)
