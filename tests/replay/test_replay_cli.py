"""The commands: `rtui replay FILE --headless`, `rtui mock --serve FILE` with `rtui replay FILE --to URL`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.replay_support import end_of, example
from tui.cli.main import main


def run(capsys, *argv: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_headless_replay_reports_a_match(tmp_path, capsys):
    out_file = tmp_path / "new.jsonl"
    status, out = run(capsys, "replay", str(example("story2-beta-header-close-4000")), "--headless", "--output", str(out_file))
    assert status == 0, out
    assert "as fast as causality allows" in out
    assert 'server closed first with 4000 "invalid_request_error.beta_api_shape_disabled"' in out
    assert out.rstrip().endswith("MATCH: the replay reproduces the recording")
    assert end_of(out_file)["code"] == 4000


def test_replay_of_something_that_is_not_a_recording_says_so(tmp_path, capsys):
    bogus = tmp_path / "x.jsonl"
    bogus.write_text('{"kind": "header", "schema": "rtui.session/9"}\n')
    status, out = run(capsys, "replay", str(bogus), "--headless")
    assert status == 2
    assert "schema 'rtui.session/9' is not supported" in out


def test_replay_to_a_bad_url_or_a_closed_port_says_so(tmp_path, capsys):
    status, out = run(capsys, "replay", str(example("fault-delay")), "--to", "localhost:8765")
    assert status == 2 and "--to needs a ws:// or wss:// URL, not 'localhost:8765'" in out
    status, out = run(
        capsys,
        "replay",
        str(example("fault-delay")),
        "--to",
        "ws://127.0.0.1:9/v1/realtime",
        "--output",
        str(tmp_path / "x.jsonl"),
    )
    assert status == 1 and "cannot connect to ws://127.0.0.1:9/v1/realtime" in out and "is the server running?" in out


def test_replay_rejects_a_speed_that_is_not_positive(capsys):
    status, out = run(capsys, "replay", str(example("fault-delay")), "--headless", "--speed", "0")
    assert status == 2 and "--speed must be a positive number" in out


@contextmanager
def served(path, *extra: str) -> Iterator[str]:  # type: ignore[no-untyped-def]
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "mock", "--serve", str(path), "--port", "0", "--fast", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("listening on ws://127.0.0.1:"), line + process.stderr.read()
        yield line.split()[-1]
    finally:
        process.terminate()
        process.wait(10)


def test_mock_serve_and_client_replay_reproduce_the_session(tmp_path, capsys):
    path = example("fault-close-4001")
    with served(path) as url:
        status, out = run(capsys, "replay", str(path), "--to", url, "--output", str(tmp_path / "client.jsonl"))
    assert status == 0, out
    assert "MATCH" in out
    end = end_of(tmp_path / "client.jsonl")
    assert (end["closed_by"], end["code"], end["reason"]) == ("server", 4001, "bye")


def test_client_replay_against_another_recording_diverges_loudly(tmp_path, capsys):
    with served(example("story6-commit-empty")) as url:
        status, out = run(
            capsys,
            "replay",
            str(example("story3-beta-fields-client-closes")),
            "--to",
            url,
            "--output",
            str(tmp_path / "client.jsonl"),
            "--timeout",
            "3",
        )
    assert status == 1
    assert "MISMATCH" in out
    assert "the server closed the connection with 4900 rtui.replay.divergence" in out


def test_mock_serve_records_each_connection_in_replay_mode(tmp_path, capsys):
    path = example("story2-beta-header-close-4000")
    record_dir = tmp_path / "served"
    with served(path, "--record", str(record_dir)) as url:
        for _ in range(2):  # every connection gets the recording afresh
            status, out = run(capsys, "replay", str(path), "--to", url, "--output", str(tmp_path / f"c{_}.jsonl"))
            assert status == 0, out
    files = sorted(record_dir.glob("*.jsonl"))
    assert len(files) == 2
    for file in files:
        header = records_header(file)
        assert header["mode"] == "replay"
        end = end_of(file)
        assert (end["side"], end["closed_by"], end["code"]) == ("server", "server", 4000)


def records_header(path):  # type: ignore[no-untyped-def]
    from tui.wire.reader import SessionReader

    with SessionReader(path) as reader:
        return reader.header


def test_replay_to_an_output_that_exists_says_so(tmp_path, capsys):
    taken = tmp_path / "taken.jsonl"
    taken.write_text("mine\n")
    for extra in (["--headless"], ["--to", "ws://127.0.0.1:9/v1/realtime"]):
        status, out = run(capsys, "replay", str(example("fault-delay")), *extra, "--output", str(taken))
        assert status == 2 and f"cannot create recording {taken}: File exists" in out
    assert taken.read_text() == "mine\n"


def test_a_missing_recording_is_the_readers_clean_error(tmp_path):
    from tui.replay.script import load_script
    from tui.wire.reader import RecordingError

    with pytest.raises(RecordingError, match=r"missing.jsonl:0: cannot open: No such file or directory"):
        load_script(tmp_path / "missing.jsonl")
