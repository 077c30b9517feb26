"""What the frame inspector shows: a record in full, as pretty JSON, with audio payloads abbreviated."""

from __future__ import annotations

import json
from typing import Any

from tui.app.log_model import LogRow
from tui.protocol.summary import ARGUMENT_DELTA, AUDIO_EVENTS, PCM_BYTES_PER_SECOND, b64_audio_bytes, format_ms, frame_event

# Fields that carry base64 audio in Realtime events.
_AUDIO_FIELDS = {"input_audio_buffer.append": "audio"} | {
    name: "delta" for name in AUDIO_EVENTS if name != "input_audio_buffer.append"
}


def abbreviate_audio(value: str) -> str:
    size = b64_audio_bytes(value)
    if size < 0:
        return f"<{len(value)} characters, not valid base64>"
    return f"<base64 audio: {len(value)} characters = {size} bytes = {format_ms(size / PCM_BYTES_PER_SECOND)} of pcm 24 kHz>"


def parsed_arguments(value: Any) -> Any:
    """A call's `arguments` (a JSON string on the wire) as the JSON it holds, so the inspector shows
    it formatted; anything that is not a JSON object or array stays as sent."""
    if not isinstance(value, str):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed if isinstance(parsed, (dict, list)) else value


def formatted_arguments(arguments: str) -> str:
    """A call's arguments as indented JSON (as sent when they are not JSON)."""
    parsed = parsed_arguments(arguments)
    return arguments if parsed is arguments else json.dumps(parsed, indent=2, ensure_ascii=False)


def _with_parsed_arguments(item: Any) -> Any:
    if isinstance(item, dict) and "arguments" in item:
        return {**item, "arguments": parsed_arguments(item["arguments"])}
    return item


def readable_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its audio payload replaced by a description of its length and duration, and
    function call arguments parsed (the frame itself, as sent, is what `y` copies)."""
    field = _AUDIO_FIELDS.get(str(event.get("type")))
    if field and isinstance(event.get(field), str):
        return {**event, field: abbreviate_audio(event[field])}
    shown = _with_parsed_arguments(event)
    if isinstance(event.get("item"), dict):
        shown = {**shown, "item": _with_parsed_arguments(event["item"])}
    response = event.get("response")
    if isinstance(response, dict) and isinstance(response.get("output"), list):
        shown = {**shown, "response": {**response, "output": [_with_parsed_arguments(item) for item in response["output"]]}}
    return shown


def readable_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record for display: a frame's payload decoded into its JSON event (audio abbreviated)."""
    shown = dict(record)
    if record.get("kind") == "frame":
        event = frame_event(record)
        if event is not None:
            shown.pop("text", None)
            if record.get("opcode") == "binary":
                shown["data_b64"] = f"<{len(record.get('data_b64', ''))} base64 characters, decoded below>"
            shown["event"] = readable_event(event)
        elif "data_b64" in shown and len(shown["data_b64"]) > 120:
            shown["data_b64"] = shown["data_b64"][:120] + f"… <{len(record['data_b64'])} characters>"
    return shown


def inspector_title(row: LogRow) -> str:
    line = row.line
    direction = {"c2s": "client → server", "s2c": "server → client", "local": "local"}.get(line.direction, line.direction)
    title = f"#{line.seq}  {line.label}  {direction}  +{line.t_ns / 1e9:.3f}s  conn {line.conn}"
    if line.count > 1:
        wall = (line.end_t_ns - line.t_ns) / 1e9
        title += f"  (run of {line.count} over {format_ms(wall)}"
        title += f", {format_ms(line.audio_seconds)} of audio)" if line.audio_bytes else ")"
    return title


def inspector_text(row: LogRow) -> str:
    """Pretty JSON of the row's record; for a run, its first and latest records."""
    if row.last_record is None:
        return json.dumps(readable_record(row.record), indent=2, ensure_ascii=False)
    first = json.dumps(readable_record(row.record), indent=2, ensure_ascii=False)
    last = json.dumps(readable_record(row.last_record), indent=2, ensure_ascii=False)
    text = f"// first of {row.line.count}\n{first}\n\n// latest\n{last}"
    if row.line.label == ARGUMENT_DELTA:  # the call's arguments as the deltas spell them out
        text = f"// arguments, the {row.line.count} deltas joined\n{formatted_arguments(row.line.text)}\n\n{text}"
    return text
