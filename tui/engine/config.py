"""Engine settings and where they come from: arguments first, then the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tui.audio.latency import DEFAULT_OUTPUT_LATENCY_MS
from tui.engine.state import EndpointKind, TurnMode
from tui.engine.tools import ToolBook
from tui.wire.client import is_azure

GA_URL = "wss://api.openai.com/v1/realtime"
DEFAULT_MODEL = "gpt-realtime"


@dataclass
class Endpoint:
    url: str  # None-free: for the embedded mock it is filled in once the server listens
    kind: EndpointKind
    api_key: str | None = None
    api_key_header: str = "Authorization"


def with_model(url: str, model: str) -> str:
    """Adds `model=` unless the URL already says what to talk to (model, intent or call_id)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k in ("model", "intent", "call_id") for k, _ in query):
        return url
    return urlunsplit(parts._replace(query=urlencode([*query, ("model", model)])))


def resolve_endpoint(
    url: str | None, model: str, *, force_mock: bool = False, env: Mapping[str, str] = os.environ, key: str | None = None
) -> Endpoint:
    """The live API when a key is given or set, else the embedded mock (its URL is known once it listens).
    `key` (`--key`) wins over the environment; an ephemeral `ek_` key goes as a Bearer token, like an API
    key (Azure too, where API keys go in `api-key`)."""
    if force_mock:
        return Endpoint(url="", kind="mock")
    if url is not None:
        if is_azure(url):  # an OpenAI key never goes to Azure
            azure_key = key or env.get("AZURE_OPENAI_API_KEY") or None
            header = "Authorization" if azure_key is not None and azure_key.startswith("ek_") else "api-key"
            return Endpoint(with_model(url, model), "live", azure_key, header)
        return Endpoint(with_model(url, model), "live", key or env.get("OPENAI_API_KEY") or None)
    key = key or env.get("OPENAI_API_KEY")
    if key:
        return Endpoint(with_model(GA_URL, model), "live", key)
    return Endpoint(url="", kind="mock")


@dataclass
class AudioSettings:
    input: str = "mic"  # "mic", "none", "silence", "tone[:HZ]", or a WAV path
    output: str = "speaker"  # "speaker", "null", or a WAV path
    input_device: str | None = None
    output_device: str | None = None
    chunk_ms: int = 20
    jitter_ms: int = 100
    output_latency_ms: int = DEFAULT_OUTPUT_LATENCY_MS
    echo_gate: bool = True
    # Ask for real-time scheduling while a microphone or speaker is open (the CLI does by default).
    realtime: bool = False


@dataclass
class EngineConfig:
    endpoint: Endpoint
    model: str = DEFAULT_MODEL
    audio: AudioSettings = field(default_factory=AudioSettings)
    turn_mode: TurnMode = "server_vad"
    record_dir: Path | None = Path("sessions")  # None: --no-record
    instructions: str | None = None
    voice: str | None = None
    transcribe_model: str | None = None  # input transcription (`audio.input.transcription.model`)
    session: dict[str, Any] | None = None  # `--session FILE.json`: the app's session object, flags over it
    tools: ToolBook = field(default_factory=ToolBook)  # `--tools FILE.json`: tools and rtui's answers to them
    log_capacity: int = 5_000  # log entries held for a view to drain (the recording keeps everything)
    # Under a view, a closed session stays on screen (its card) until the user reconnects or quits;
    # headless runs end with the session.
    stay_after_close: bool = False
    # Headless: what to do once the input is exhausted (a WAV file ends, --text was sent).
    finish_when_input_ends: bool = False
    trailing_silence_ms: int = 1000
    response_timeout_s: float = 60.0
    max_size: int | None = 16 * 2**20
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    texts: list[str] = field(default_factory=list)  # sent as user messages once the session is configured
    mock_options: dict[str, Any] = field(default_factory=dict)
