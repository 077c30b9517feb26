"""A streaming WAV reader for what people actually have: PCM 8/16/24/32-bit, IEEE float 32/64, plain
or WAVE_FORMAT_EXTENSIBLE, any rate and channel count (the stdlib `wave` module of Python 3.11 reads
only plain integer PCM)."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

from tui.audio.errors import AudioFileError

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


class WavReader:
    """`read(frames)` returns float32 samples shaped (n, channels), fewer at the end, empty after it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._file: BinaryIO = open(self.path, "rb")
        except OSError as error:
            raise AudioFileError(f"Cannot open {self.path}: {error.strerror}; check the path.") from None
        try:
            self._parse_header()
        except Exception:
            self._file.close()
            raise

    def _bad(self, what: str) -> AudioFileError:
        return AudioFileError(f"{self.path} is not a usable WAV file ({what}); convert it with `sox {self.path} -b 16 out.wav`.")

    def _parse_header(self) -> None:
        riff = self._file.read(12)
        if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            raise self._bad("no RIFF/WAVE header")
        fmt = None
        while True:
            head = self._file.read(8)
            if len(head) < 8:
                raise self._bad("no data chunk")
            chunk_id, size = head[:4], struct.unpack("<I", head[4:])[0]
            if chunk_id == b"fmt ":
                fmt = self._file.read(size + (size & 1))
            elif chunk_id == b"data":
                if fmt is None:
                    raise self._bad("data before the fmt chunk")
                # Files written to a pipe carry 0xFFFFFFFF; truncated ones claim more than they hold.
                remaining = os.fstat(self._file.fileno()).st_size - self._file.tell()
                self._data_left = remaining if size == 0xFFFFFFFF else min(size, remaining)
                break
            else:
                self._file.seek(size + (size & 1), 1)
        if len(fmt) < 16:
            raise self._bad("short fmt chunk")
        tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
        if tag == _EXTENSIBLE and len(fmt) >= 26:
            tag = struct.unpack("<H", fmt[24:26])[0]
        if channels < 1 or rate < 1 or block_align != channels * ((bits + 7) // 8):
            raise self._bad(f"inconsistent format: {channels} channels, {rate} Hz, {bits} bits")
        if tag == _PCM and bits in (8, 16, 24, 32):
            self._dtype = {8: "u1", 16: "<i2", 24: "V3", 32: "<i4"}[bits]
        elif tag == _FLOAT and bits in (32, 64):
            self._dtype = {32: "<f4", 64: "<f8"}[bits]
        else:
            raise self._bad(f"unsupported encoding (format tag {tag}, {bits} bits)")
        self.tag, self.channels, self.samplerate, self.bits = tag, channels, rate, bits
        self._block_align = block_align
        self.frames = self._data_left // block_align

    @property
    def duration_s(self) -> float:
        return self.frames / self.samplerate

    def read(self, frames: int) -> np.ndarray:
        want = min(frames * self._block_align, self._data_left)
        want -= want % self._block_align
        raw = self._file.read(want)
        raw = raw[: len(raw) - len(raw) % self._block_align]
        self._data_left -= len(raw)
        if not raw:
            self._data_left = 0
        return self._decode(raw).reshape(-1, self.channels)

    def _decode(self, raw: bytes) -> np.ndarray:
        if self.bits == 24:
            b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
            ints = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8  # sign-extend
            return (ints / 8388608.0).astype(np.float32)
        data = np.frombuffer(raw, dtype=self._dtype)
        if self.tag == _FLOAT:
            return data.astype(np.float32)
        if self.bits == 8:
            return ((data.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
        scale = 32768.0 if self.bits == 16 else 2147483648.0
        return (data.astype(np.float32) / scale).astype(np.float32)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> WavReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
