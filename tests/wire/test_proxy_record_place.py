"""`rtui proxy` refuses, at start, a recording place it could never write to."""

import subprocess
import sys


def proxy(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", "proxy", "--listen", "127.0.0.1:0", "--upstream", "ws://127.0.0.1:9/v1/realtime", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=cwd,
    )


def test_a_file_in_the_way_is_refused_before_listening(tmp_path):
    (tmp_path / "blocker").write_text("")
    for record in ("blocker/session.jsonl", "blocker/"):
        result = proxy("--record", record, cwd=tmp_path)
        assert result.returncode == 2
        assert "listening on" not in result.stdout
        assert result.stderr.strip().endswith("blocker is a file, not a directory; choose another --record")


def test_an_unwritable_directory_is_refused(tmp_path):
    result = proxy("--record", "/proc/rtui-cannot-write-here/", cwd=tmp_path)
    assert result.returncode == 2 and "cannot record to /proc/rtui-cannot-write-here" in result.stderr
