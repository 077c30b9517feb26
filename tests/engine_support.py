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


class ToolServer:
    """A minimal Realtime server on 127.0.0.1 whose every response to a user message calls the
    session's first tool (`calls` times in one response), in the GA event sequence of the SDK's types,
    and whose response after a `function_call_output` quotes the outputs. It stands in for the mock
    where a test needs exactly this loop and nothing else. `received` keeps the client's events."""

    def __init__(self, calls: int = 1) -> None:
        self.calls = calls
        self.received: list[dict] = []
        self.url = ""
        self._ids = 0

    def _id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}_{self._ids:04d}"

    async def __aenter__(self) -> ToolServer:
        from websockets.asyncio.server import serve

        self._server = await serve(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, ws) -> None:
        import orjson

        async def send(event: dict) -> None:
            await ws.send(orjson.dumps({"event_id": self._id("event"), **event}).decode())

        session: dict = {"type": "realtime", "tools": []}
        outputs: list[str] = []
        await send({"type": "session.created", "session": {"id": "sess_1", "object": "realtime.session", **session}})
        async for message in ws:
            event = orjson.loads(message)
            self.received.append(event)
            kind = event.get("type")
            if kind == "session.update":
                session.update(event["session"])
                await send({"type": "session.updated", "session": {"id": "sess_1", "object": "realtime.session", **session}})
            elif kind == "conversation.item.create":
                item = {"id": self._id("item"), "object": "realtime.item", "status": "completed", **event["item"]}
                if item["type"] == "function_call_output":
                    outputs.append(item["output"])
                await send({"type": "conversation.item.added", "previous_item_id": None, "item": item})
                await send({"type": "conversation.item.done", "previous_item_id": None, "item": item})
            elif kind == "response.create":
                await self._respond(send, session, outputs)
                outputs = []

    async def _respond(self, send, session: dict, outputs: list[str]) -> None:
        response_id = self._id("resp")
        response = {"id": response_id, "object": "realtime.response", "status": "in_progress", "output": []}
        await send({"type": "response.created", "response": response})
        items = []
        if outputs or not session.get("tools"):
            text = "The tool said: " + " | ".join(outputs)
            item = {"id": self._id("item"), "object": "realtime.item", "type": "message", "role": "assistant",
                    "status": "completed", "content": [{"type": "output_text", "text": text}]}
            await send({"type": "response.output_item.added", "response_id": response_id, "output_index": 0, "item": item})
            await send({"type": "response.output_text.done", "response_id": response_id, "item_id": item["id"],
                        "output_index": 0, "content_index": 0, "text": text})
            await send({"type": "response.output_item.done", "response_id": response_id, "output_index": 0, "item": item})
            items.append(item)
        else:
            tool = session["tools"][0]
            for index in range(self.calls):
                item_id, call_id = self._id("item"), self._id("call")
                arguments = '{"city": "Paris"}'
                item = {"id": item_id, "object": "realtime.item", "type": "function_call", "status": "in_progress",
                        "call_id": call_id, "name": tool["name"], "arguments": ""}
                await send(
                    {"type": "response.output_item.added", "response_id": response_id, "output_index": index, "item": item}
                )
                for piece in (arguments[:8], arguments[8:]):
                    await send(
                        {
                            "type": "response.function_call_arguments.delta",
                            "response_id": response_id,
                            "item_id": item_id,
                            "output_index": index,
                            "call_id": call_id,
                            "delta": piece,
                        }
                    )
                await send(
                    {
                        "type": "response.function_call_arguments.done",
                        "response_id": response_id,
                        "item_id": item_id,
                        "output_index": index,
                        "call_id": call_id,
                        "name": tool["name"],
                        "arguments": arguments,
                    }
                )
                done = {**item, "status": "completed", "arguments": arguments}
                await send({"type": "response.output_item.done", "response_id": response_id, "output_index": index, "item": done})
                items.append(done)
        await send({"type": "response.done", "response": {**response, "status": "completed", "output": items}})
