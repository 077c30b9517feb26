#!/usr/bin/env python3
"""The peer of scripts/bench/client_cpu.py: the official openai SDK's realtime client streaming a
24 kHz WAV to a server in real time (20 ms appends), consuming every server event as typed models
(`async for event in connection`, the SDK's ordinary use), and closing 3 s after the audio ends.

    .venv/bin/python scripts/bench/sdk_client.py WS_BASE_URL FILE.wav
"""

from __future__ import annotations

import asyncio
import base64
import sys
import wave

import openai

CHUNK_MS = 20


async def main(base_url: str, path: str) -> None:
    with wave.open(path) as wav:
        assert wav.getframerate() == 24_000 and wav.getsampwidth() == 2 and wav.getnchannels() == 1
        pcm = wav.readframes(wav.getnframes())
    client = openai.AsyncOpenAI(api_key="sk-bench-" + "k" * 40, websocket_base_url=base_url)
    async with client.realtime.connect(
        model="gpt-realtime", websocket_connection_options={"proxy": None, "max_size": None}
    ) as conn:
        events = 0

        async def consume() -> None:
            nonlocal events
            async for _ in conn:
                events += 1

        consumer = asyncio.create_task(consume())
        loop = asyncio.get_running_loop()
        start = loop.time()
        step = 48 * CHUNK_MS
        for index, offset in enumerate(range(0, len(pcm), step)):
            await conn.input_audio_buffer.append(audio=base64.b64encode(pcm[offset : offset + step]).decode())
            await asyncio.sleep(max(0.0, start + (index + 1) * CHUNK_MS / 1000 - loop.time()))
        await asyncio.sleep(3)
        consumer.cancel()
    print(f"sdk: {len(pcm) // step} appends, {events} events")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
