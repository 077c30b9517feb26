"""From `--input`/`--output` and device options to the engine's source and sink."""

from __future__ import annotations

from dataclasses import dataclass

from tui.audio.base import AudioSink, AudioSource
from tui.audio.errors import AudioError
from tui.audio.options import make_sink, make_source
from tui.engine.config import AudioSettings


class MediaError(Exception):
    """A bad `--input`/`--output` value: the user must fix the command line."""


@dataclass
class Media:
    source: AudioSource | None
    sink: AudioSink | None


def _device(spec: str | None) -> int | str | None:
    return int(spec) if spec is not None and spec.isdigit() else spec


def open_media(settings: AudioSettings) -> Media:
    """Builds (not yet opens) the source and sink. Files are checked now; devices are opened by the
    engine, which carries on without them when there is no audio (see Engine._start_media)."""
    try:
        source = None
        if settings.input != "none":
            source = make_source(settings.input, device=_device(settings.input_device), chunk_ms=settings.chunk_ms)
        sink = make_sink(
            settings.output,
            device=_device(settings.output_device),
            preroll_ms=settings.jitter_ms,
            latency_ms=settings.output_latency_ms,
        )
    except AudioError as exc:
        raise MediaError(str(exc)) from exc
    return Media(source, sink)


async def close_media(media: Media) -> None:
    for part in (media.source, media.sink):
        if part is not None:
            await part.aclose()
