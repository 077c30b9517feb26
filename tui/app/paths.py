"""Finding recordings from the `o` prompt: completing a typed path, and the latest recordings."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester

RECENT_SHOWN = 5


class PathSuggester(Suggester):
    """Completes the last part of a path to an entry that exists: a directory (with its `/`) or a
    `.jsonl` file, the first in name order."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)  # the disk changes; names are case-sensitive

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        typed = Path(value).expanduser()
        folder, stem = (typed, "") if value.endswith(os.sep) else (typed.parent, typed.name)
        try:
            names = sorted(entry.name + (os.sep if entry.is_dir() else "") for entry in os.scandir(folder))
        except OSError:
            return None
        for name in names:
            if name.startswith(stem) and name != stem and (name.endswith((os.sep, ".jsonl"))):
                return value[: len(value) - len(stem)] + name
        return None


def recent_recordings(directory: Path, count: int = RECENT_SHOWN) -> list[Path]:
    """The newest `.jsonl` files in `directory` (not its subfolders), newest first."""
    try:
        files = [entry for entry in os.scandir(directory) if entry.is_file() and entry.name.endswith(".jsonl")]
    except OSError:
        return []
    files.sort(key=lambda entry: entry.stat().st_mtime, reverse=True)
    return [Path(entry.path) for entry in files[:count]]
