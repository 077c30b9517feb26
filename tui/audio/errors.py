"""Audio errors: each one's message is a single sentence saying what happened and what to do."""

from __future__ import annotations

NO_AUDIO_FIX = "run with --input FILE.wav or text input, or start virtual devices with scripts/virtual-audio"
# What to do depends on what is missing: advice for a microphone does not help without a speaker.
FIX_BY_KIND = {
    "input": "run with --input FILE.wav or send text (t, --text), or start virtual devices with scripts/virtual-audio",
    "output": "run with --output FILE.wav (or --output null), or start virtual devices with scripts/virtual-audio",
}


class AudioError(Exception):
    """Base of every audio error; `str(error)` is ready to show to the user as is."""


class NoAudioError(AudioError):
    """Audio is unavailable: PortAudio is missing (`reason="no-portaudio"`) or there is no device
    of the wanted kind (`reason="no-device"`), as over SSH."""

    def __init__(self, detail: str, reason: str, kind: str | None = None) -> None:
        """`kind`, "input" or "output" when only one is missing, picks the advice."""
        super().__init__(f"No audio device: {detail}; {FIX_BY_KIND.get(kind or '', NO_AUDIO_FIX)}.")
        self.reason = reason


class DeviceNotFoundError(AudioError):
    """`--input-device` / `--output-device` names no device (or several)."""


class DeviceLostError(AudioError):
    """A device stopped mid-session (unplugged, sound server gone); counters are kept."""


class AudioFileError(AudioError):
    """A WAV file cannot be read or written."""
