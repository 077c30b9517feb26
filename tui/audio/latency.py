"""How much audio the output device keeps buffered ahead of the speaker (no numpy here: the
command line reads this before anything heavy is imported)."""

# The device buffer PortAudio keeps ahead of the speaker. PortAudio's "low" (about 9 ms through
# PulseAudio) leaves a Python callback no slack on a busy machine: in scripts/bench/audio_latency.py
# it underran 2 to 393 times a minute, while 60 ms gave none in every run. Speech barely notices
# 60 ms more output delay; a click every few seconds it does.
DEFAULT_OUTPUT_LATENCY_MS = 60
