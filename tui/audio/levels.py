"""Audio levels in dBFS (0 dBFS = full scale sine peak 1.0), computed where the audio flows (device
callback, sender side) and read by any view at its own rate (a meter's peak hold and clip light are
the view's: tui.app.present.PeakHold)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np

SILENCE_DBFS = -120.0
CLIP_LEVEL = 0.999  # |sample| at or above this is counted as clipped


def dbfs(amplitude: float) -> float:
    """Linear amplitude to dBFS, with a floor instead of -inf."""
    if amplitude <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * math.log10(amplitude))


@dataclass(frozen=True, slots=True)
class LevelReading:
    """One reading: the last block's RMS and peak, clipped samples seen so far, and when."""

    rms_dbfs: float = SILENCE_DBFS
    peak_dbfs: float = SILENCE_DBFS
    clipped_samples: int = 0
    t_ns: int = 0


class AudioLevelMeter:
    """Thread-safe: `update()` from the audio thread, `read()` from anywhere. Costs one pass of numpy
    over each block; no allocation beyond numpy's temporaries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._levels = LevelReading()

    def update(self, samples: np.ndarray) -> None:
        """`samples`: float32 in [-1, 1], any shape."""
        if samples.size == 0:
            return
        flat = samples.reshape(-1)
        peak = float(np.max(np.abs(flat)))
        rms = float(np.sqrt(np.mean(np.square(flat, dtype=np.float64))))
        clipped = int(np.count_nonzero(np.abs(flat) >= CLIP_LEVEL)) if peak >= CLIP_LEVEL else 0
        with self._lock:
            self._levels = LevelReading(
                rms_dbfs=dbfs(rms),
                peak_dbfs=dbfs(peak),
                clipped_samples=self._levels.clipped_samples + clipped,
                t_ns=time.monotonic_ns(),
            )

    def update_silence(self) -> None:
        """Records a block of digital silence (an idle player) without touching any samples."""
        with self._lock:
            self._levels = LevelReading(clipped_samples=self._levels.clipped_samples, t_ns=time.monotonic_ns())

    def read(self) -> LevelReading:
        with self._lock:
            return self._levels
