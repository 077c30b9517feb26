"""An app's ephemeral key end to end with rtui itself: `rtui --key ek_…` connects with a key minted
from the mock, and an expired one is refused (exit 3) and named by `rtui diagnose` on the recording."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import openai

from cli_support import rtui
from tui.mock import MockConfig, MockServer

BACKEND_KEY = "sk-only-the-backend-has-this-0123"  # in tests/fake_keys.py


async def minted_key(server: MockServer) -> str:
    client = openai.AsyncOpenAI(
        api_key=BACKEND_KEY,
        base_url=f"http://127.0.0.1:{server.port}/v1",
        http_client=openai.DefaultAsyncHttpxClient(trust_env=False),
        max_retries=0,
    )
    return (await client.realtime.client_secrets.create(session={"type": "realtime", "instructions": "Be brief."})).value


async def headless_hello(url: str, key: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`rtui --headless --text Hello --url URL --key KEY`, recording under cwd/rec."""
    argv = ["--headless", "--input", "none", "--output", "null", "--text", "Hello", "--url", url, "--key", key]
    return await asyncio.to_thread(rtui, *argv, "--record-dir", "rec", cwd=cwd)


async def test_rtui_connects_with_an_ephemeral_key_given_with_key(tmp_path):
    async with MockServer(MockConfig(realtime=False, require_key=BACKEND_KEY)) as server:
        key = await minted_key(server)
        run = await headless_hello(server.url, key, tmp_path)
    assert run.returncode == 0, run.stderr
    assert "response.done" in run.stdout and key not in run.stdout + run.stderr
    (recording,) = (tmp_path / "rec").glob("*.jsonl")
    text = recording.read_text()
    assert key not in text and "Bearer ek_[redacted]" in text
    assert "Be brief." in text  # session.created carried the minted session


async def test_an_expired_ephemeral_key_is_refused_and_diagnosed(tmp_path):
    async with MockServer(MockConfig(realtime=False, key_lifetime=0)) as server:
        key = await minted_key(server)
        run = await headless_hello(server.url, key, tmp_path)
    assert run.returncode == 3, run.stderr
    assert "session ended: The server refused" in run.stdout and "expired or unknown ephemeral key" in run.stdout
    (recording,) = (tmp_path / "rec").glob("*.jsonl")
    result = rtui("diagnose", "--json", str(recording), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["id"] == "handshake-refused" and finding["details"]["ephemeral_key"] is True
    assert "expired or unknown ephemeral key" in finding["message"]
    assert "has expired" in finding["details"]["body"]  # the mock's answer, quoted
    text = rtui("diagnose", str(recording), cwd=tmp_path).stdout
    assert "ephemeral key" in text and key not in text + recording.read_text()
