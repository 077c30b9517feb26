"""Listing audio devices and choosing one by index or by (part of) its name."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from tui.audio.errors import DeviceNotFoundError, NoAudioError
from tui.audio.portaudio import load_sounddevice

Kind = Literal["input", "output"]


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One PortAudio device as rtui sees it."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: int
    is_default_input: bool
    is_default_output: bool

    def channels(self, kind: Kind) -> int:
        return self.max_input_channels if kind == "input" else self.max_output_channels


def list_devices() -> list[DeviceInfo]:
    """Every device PortAudio knows, with the defaults marked. Raises `NoAudioError` without PortAudio."""
    sd = load_sounddevice()
    hostapis = [api["name"] for api in sd.query_hostapis()]
    default_in, default_out = _default_indices(sd)
    devices = []
    for raw in sd.query_devices():
        devices.append(
            DeviceInfo(
                index=raw["index"],
                name=raw["name"],
                hostapi=hostapis[raw["hostapi"]],
                max_input_channels=raw["max_input_channels"],
                max_output_channels=raw["max_output_channels"],
                default_samplerate=int(raw["default_samplerate"]),
                is_default_input=raw["index"] == default_in,
                is_default_output=raw["index"] == default_out,
            )
        )
    return devices


def resolve_device(spec: int | str | None, kind: Kind) -> DeviceInfo:
    """The device rtui uses for `kind`: `spec` is None (the default device), an index (int or digits)
    or a case-insensitive part of the name (an exact name wins over partial matches).

    Raises `NoAudioError` when there is no device of that kind at all, `DeviceNotFoundError` when
    `spec` names none or several."""
    candidates = [d for d in list_devices() if d.channels(kind) > 0]
    if not candidates:
        raise NoAudioError(f"PortAudio sees no {kind} device (typical over SSH)", reason="no-device", kind=kind)
    if spec is None or spec == "":
        for device in candidates:
            if device.is_default_input if kind == "input" else device.is_default_output:
                return device
        return candidates[0]
    text = str(spec).strip()
    if text.isdigit():
        for device in candidates:
            if device.index == int(text):
                return device
        raise DeviceNotFoundError(f"There is no {kind} device with index {text}; run `rtui devices` to list them.")
    exact = [d for d in candidates if d.name.lower() == text.lower()]
    if len(exact) == 1:
        return exact[0]
    partial = [d for d in candidates if text.lower() in d.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise DeviceNotFoundError(f"No {kind} device matches {text!r}; run `rtui devices` to list them.")
    names = ", ".join(f"{d.index} {d.name!r}" for d in partial)
    raise DeviceNotFoundError(f"Several {kind} devices match {text!r} ({names}); give the index instead.")


def _default_indices(sd: ModuleType) -> tuple[int, int]:
    default = sd.default.device
    try:
        return int(default[0]), int(default[1])
    except (TypeError, ValueError):
        # A name set by the user in sd.default: let PortAudio resolve it.
        return (sd.query_devices(kind="input")["index"], sd.query_devices(kind="output")["index"])
