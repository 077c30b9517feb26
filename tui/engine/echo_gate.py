"""An echo gate for speakers without headphones: the model must not hear itself."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class EchoGate:
    """Attenuates the microphone while the assistant is audible, unless the user is clearly louder.

    "Clearly louder" means the microphone's level is `margin_db` above the speaker's, which is what
    a person talking over the assistant (a barge-in) looks like, while the speaker's own echo in
    the microphone stays well below the speaker level.
    """

    enabled: bool = True
    attenuation_db: float = -40.0
    margin_db: float = 6.0
    audible_dbfs: float = -50.0
    engaged: bool = False

    def apply(self, pcm: bytes, mic_dbfs: float, speaker_dbfs: float) -> bytes:
        self.engaged = self.enabled and speaker_dbfs > self.audible_dbfs and mic_dbfs < speaker_dbfs + self.margin_db
        if not self.engaged:
            return pcm
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        samples *= 10 ** (self.attenuation_db / 20)
        return samples.astype("<i2").tobytes()
