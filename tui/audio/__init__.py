"""Audio for rtui: sources of 24 kHz pcm16 wire chunks and sinks for the assistant's audio.

- Sources (`tui.audio.base.AudioSource`): `MicrophoneSource` (capture.py), `WavFileSource`,
  `ToneSource`, `SilenceSource` (generated.py); `make_source()` (options.py) builds one from
  `--input`.
- Sinks (`tui.audio.base.AudioSink`): `SpeakerSink` (playback.py), `WavFileSink`, `NullSink`
  (sinks.py); `make_sink()` builds one from `--output`.
- Devices: `list_devices()`, `resolve_device()` (devices.py). Levels: `AudioLevelMeter` (levels.py).
- Errors (errors.py): `AudioError` and its kinds `NoAudioError`, `DeviceNotFoundError`,
  `DeviceLostError`, `AudioFileError`; their messages are one sentence for the user.

Nothing here imports sounddevice until a device is used, so rtui runs without PortAudio.
"""
