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
            # Only the names that could complete are looked at: a folder may hold thousands of recordings.
            with os.scandir(folder) as entries:
                names = sorted(
                    entry.name + (os.sep if entry.is_dir() else "") for entry in entries if entry.name.startswith(stem)
                )
        except OSError:
            return None
        for name in names:
            if name != stem and name.endswith((os.sep, ".jsonl")):
                return value[: len(value) - len(stem)] + name
        return None


def recent_recordings(directory: Path, count: int = RECENT_SHOWN) -> list[Path]:
    """The newest `.jsonl` files in `directory` (not its subfolders), newest first."""
    found: list[tuple[float, str]] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.endswith(".jsonl") and entry.is_file():
                    try:
                        found.append((entry.stat().st_mtime, entry.path))
                    except OSError:  # removed since it was listed
                        continue
    except OSError:
        return []
    found.sort(reverse=True)
    return [Path(path) for _, path in found[:count]]
