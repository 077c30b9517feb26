"""Whatever rtui cites ships with it: every docs/ path named by its code, scripts, README or docs
exists, every section cited exists, and nothing points at a file the repository does not have."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DOC_PATH = re.compile(r"\bdocs/[A-Za-z0-9_.-]+\.md\b")
SECTION = re.compile(r"\b(docs/[A-Za-z0-9_.-]+\.md),? sections? (\d+)")
MARKDOWN_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
# The background notes the project was started from are not part of it (a bare PROTOCOL.md, DESIGN.md).
NOT_SHIPPED = re.compile(r"(?<![\w/])(PROTOCOL|DESIGN)\.md")


def shipped_texts() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "sessions").rglob("*.md"))]
    files += sorted((ROOT / "tui").rglob("*.py")) + sorted((ROOT / "tui").rglob("*.tcss"))
    files += [path for path in sorted((ROOT / "scripts").iterdir()) if path.is_file()]
    return files


def test_the_scan_sees_the_citing_files():
    names = {path.relative_to(ROOT).as_posix() for path in shipped_texts()}
    assert {"README.md", "tui/diagnose/rules.py", "tui/cli/diagnose.py", "sessions/examples/README.md"} <= names


def test_every_cited_docs_path_exists():
    missing = []
    for path in shipped_texts():
        for cited in DOC_PATH.findall(path.read_text(errors="replace")):
            if not (ROOT / cited).is_file():
                missing.append(f"{path.relative_to(ROOT)}: {cited}")
    assert missing == []


def test_every_cited_section_exists():
    missing = []
    for path in shipped_texts():
        for cited, number in SECTION.findall(path.read_text(errors="replace")):
            target = ROOT / cited
            if not target.is_file() or not re.search(rf"^## {number}\. ", target.read_text(), re.MULTILINE):
                missing.append(f"{path.relative_to(ROOT)}: {cited} section {number}")
    assert missing == []


def test_relative_links_in_markdown_resolve():
    broken = []
    for path in shipped_texts():
        if path.suffix != ".md":
            continue
        for link in MARKDOWN_LINK.findall(path.read_text()):
            if "://" in link or link.startswith("mailto:"):
                continue
            if not (path.parent / link).exists():
                broken.append(f"{path.relative_to(ROOT)}: {link}")
    assert broken == []


def test_nothing_cites_files_outside_the_repository():
    cited = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in shipped_texts()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if NOT_SHIPPED.search(line)
    ]
    assert cited == []
