"""The commands end to end, as a user runs them: `rtui mock`, `rtui proxy` in front of it, the seed
story's client through the relay, then `rtui diagnose` and `rtui export` on the relay's recording."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from cli_support import RTUI, hangup_as_in_a_terminal, rtui, user_environment
from diagnose_support import seed_story_client
from scheduling_support import policies, realtime_permitted
from tests.fake_keys import OPENAI_KEY, PLAIN_SECRET
from tui.wire.format import RELAY_STOPPED
from tui.wire.reader import SessionReader


@contextmanager
def command(
    *args: str, hangup: Callable[[], None] = hangup_as_in_a_terminal, **extra_env: str
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Runs `rtui ARGS` (`hangup` sets up SIGHUP first) and yields it with the first line it printed
    ('listening on URL')."""
    process = subprocess.Popen(
        [str(RTUI), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=user_environment(**extra_env),
        preexec_fn=hangup,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("listening on "), (first, process.stderr.read() if process.poll() is not None else "")
        yield process, first.removeprefix("listening on ")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_seed_story_through_rtui_proxy_to_rtui_mock_then_diagnose_and_export(tmp_path):
    recording = tmp_path / "ios-bug.jsonl"
    with command("mock", "--port", "0") as (_, mock_url):
        with command("proxy", "--listen", "127.0.0.1:0", "--upstream", mock_url, "--record", str(recording)) as (proxy, url):
            code, reason = asyncio.run(seed_story_client(url + "/v1/realtime?model=gpt-realtime", None, binary=True))
            assert (code, reason) == (1000, "")
        assert proxy.returncode in (0, 130)
        assert proxy.stderr is not None and "ended 127.0.0.1" in proxy.stderr.read()

    diagnosis = rtui("diagnose", str(recording), "--json")
    assert diagnosis.returncode == 0, diagnosis.stderr
    result = orjson.loads(diagnosis.stdout)
    ending = result["ending"]
    assert (ending["closed_first_by"], ending["code"], ending["reason"]) == ("server", 1000, "")
    assert ending["previous"]["opcode"] == "binary" and ending["previous"]["type"] == "input_audio_buffer.append"
    found = {f["id"] for f in result["findings"]}
    assert "binary-frame" in found and "sent-before-session-updated" not in found  # no session.update: defaults chosen

    text = rtui("diagnose", str(recording))
    assert "The server closed first with 1000" in text.stdout

    exported = rtui("export", str(recording), "--wav", str(tmp_path / "wav"), "--har", str(tmp_path / "s.har"))
    assert exported.returncode == 0, exported.stderr
    with wave.open(str(tmp_path / "wav" / "c2s.wav"), "rb") as wav:
        assert wav.getnframes() > 1600  # the one 100 ms chunk of 16 kHz audio, after the silence before it
    har = orjson.loads((tmp_path / "s.har").read_bytes())
    assert len(har["log"]["entries"]) == 2  # the client leg and the upstream leg


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_sigterm_stops_the_relay_as_ctrl_c_does_and_the_recording_keeps_the_sessions_end(tmp_path, stop):
    # systemd, `docker stop`, `timeout` and `kill` stop a relay with SIGTERM, a dropped SSH session
    # with SIGHUP. It used to die on the spot: the recording cut off after the last frames flushed,
    # without the session's end.
    recording = tmp_path / "stopped.jsonl"
    append = orjson.dumps({"type": "input_audio_buffer.append", "audio": "AAAA"}).decode()

    async def session(url: str, proxy: subprocess.Popen[str]) -> None:
        async with connect(url + "/v1/realtime?model=gpt-realtime", proxy=None) as ws:
            assert orjson.loads(await ws.recv())["type"] == "session.created"
            await ws.send(append)
            await asyncio.sleep(0.2)  # relayed and recorded on both legs
            proxy.send_signal(stop)
            with pytest.raises(ConnectionClosed) as ended:
                while True:
                    await ws.recv()
            assert ended.value.rcvd is None  # dropped, as if the relay had gone away: no close frame

    with command("mock", "--port", "0") as (_, mock_url):
        with command("proxy", "--listen", "127.0.0.1:0", "--upstream", mock_url, "--record", str(recording)) as (proxy, url):
            asyncio.run(session(url, proxy))
            assert proxy.wait(10) == 0
    with SessionReader(recording) as reader:
        records = list(reader)
    assert not reader.problems and not reader.truncated
    sent = [(r["conn"], r["dir"]) for r in records if r["kind"] == "frame" and r.get("type") == "input_audio_buffer.append"]
    assert sent == [(1, "c2s"), (2, "c2s")]  # received from the client, then sent upstream
    assert sorted(r["conn"] for r in records if r["kind"] == "end") == [1, 2]  # each leg's end, recorded
    stopped = [r for r in records if r["kind"] == "error" and r["message"] == RELAY_STOPPED]
    assert len(stopped) == 1 and stopped[0]["seq"] < min(r["seq"] for r in records if r["kind"] == "end")
    # diagnose says who ended it: the relay's own stop, not the network.
    findings = {f["id"]: f for f in orjson.loads(rtui("diagnose", "--json", str(recording)).stdout)["findings"]}
    assert "abnormal-close" not in findings and findings["relay-stopped"]["severity"] == "info"
    assert "rtui proxy was stopped (Ctrl-C, SIGTERM or a lost terminal)" in findings["relay-stopped"]["message"]


def test_a_relay_started_under_nohup_outlives_the_hangup_and_still_stops_on_ctrl_c():
    with command("proxy", "--listen", "127.0.0.1:0", hangup=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN)) as (proxy, _):
        proxy.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        assert proxy.poll() is None  # `nohup rtui proxy &`: the user asked it to outlive the terminal
        proxy.send_signal(signal.SIGINT)
        assert proxy.wait(10) == 0


def test_the_relay_refuses_to_listen_where_it_would_be_exposed():
    open_to_all = rtui("proxy", "--listen", "0.0.0.0:0")
    assert open_to_all.returncode == 2 and "--allow-remote" in open_to_all.stderr
    without_token = rtui("proxy", "--listen", "0.0.0.0:0", "--allow-remote")
    assert without_token.returncode == 2 and "--token" in without_token.stderr


def test_a_port_out_of_range_is_refused_in_one_line():
    result = rtui("proxy", "--listen", "127.0.0.1:70000")
    assert result.returncode == 2 and "a port from 0 to 65535" in result.stderr and "Traceback" not in result.stderr


def test_the_relays_stderr_never_shows_a_key_even_in_a_close_reason(tmp_path):
    async def client(url: str) -> None:
        async with connect(url, ping_interval=None, proxy=None) as ws:
            await ws.recv()  # session.created: the relayed session runs with the relay's key
            await ws.close(4000, f"keys {PLAIN_SECRET} {OPENAI_KEY}")

    with command("mock", "--port", "0") as (_, mock_url):
        relay = command(
            "proxy", "--listen", "127.0.0.1:0", "--upstream", mock_url, "--record", f"{tmp_path}/", OPENAI_API_KEY=PLAIN_SECRET
        )
        with relay as (proxy, url):
            asyncio.run(client(url + "/v1/realtime?model=gpt-realtime"))
            time.sleep(0.5)
        assert proxy.stderr is not None
        stderr = proxy.stderr.read()
    [ended] = [line for line in stderr.splitlines() if " ended " in f" {line}"]
    assert "4000" in ended and ended.count("[redacted]") == 2
    assert PLAIN_SECRET not in stderr and OPENAI_KEY not in stderr


def test_bad_access_and_size_options_are_refused_in_one_line():
    for args, expected in (
        (("--allow-origin", "evil.example"), "--allow-origin expects an origin such as https://app.example.com"),
        (("--max-size", "0"), "--max-size must be at least 1 (MiB)"),
        (("--workers", "0"), "--workers must be at least 1"),
        (("--workers", "2", "--ui"), "--ui shows one process's sessions; run it without --workers"),
    ):
        result = rtui("proxy", "--listen", "127.0.0.1:0", *args)
        assert result.returncode == 2 and expected in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="--workers needs SO_REUSEPORT (Linux)")
def test_workers_relay_from_several_processes_each_session_in_its_own_whole_recording(tmp_path):
    """`--workers 2`: both processes relay (their pids differ), and in file mode the recordings are
    named first, -2, -3, ... with no two sessions in one file, whichever worker took them."""
    recording = tmp_path / "app.jsonl"

    async def session(url: str) -> str:
        async with connect(url + "/v1/realtime?model=gpt-realtime", proxy=None) as ws:
            created = orjson.loads(await ws.recv())
            await ws.send(orjson.dumps({"type": "response.create"}).decode())
            while orjson.loads(await ws.recv())["type"] != "response.done":
                pass
            return str(created["session"]["id"])

    async def sessions(url: str) -> list[str]:
        return await asyncio.gather(*(session(url) for _ in range(12)))

    with command("mock", "--port", "0", "--fast") as (_, mock_url):
        with command(
            "proxy", "--listen", "127.0.0.1:0", "--upstream", mock_url, "--record", str(recording), "--workers", "2"
        ) as (proxy, url):
            workers = _children(proxy.pid)
            assert len(workers) == 2
            ids = asyncio.run(sessions(url))
            busy = [pid for pid in workers if _cpu_ticks(pid) > 0]
        assert proxy.returncode in (0, 130)
        assert proxy.stderr is not None and "Traceback" not in proxy.stderr.read()
    assert len(set(ids)) == 12 and len(busy) == 2
    files = sorted(tmp_path.glob("app*.jsonl"))
    assert len(files) == 12
    relayed = set()
    for path in files:
        records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
        events = [orjson.loads(r["text"]) for r in records if r.get("kind") == "frame" and r.get("conn") == 1 and "text" in r]
        created = [e["session"]["id"] for e in events if e.get("type") == "session.created"]
        assert len(created) == 1 and records[-1]["kind"] == "end", path
        relayed.update(created)
    assert relayed == set(ids)


def _children(pid: int) -> list[int]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        path = f"/proc/{pid}/task/{pid}/children"
        children = [int(c) for c in open(path).read().split()] if os.path.exists(path) else []
        if children:
            return children
        time.sleep(0.1)
    return []


def _cpu_ticks(pid: int) -> int:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="thread policies are read from Linux's /proc")
def test_the_relay_runs_under_real_time_scheduling_where_permitted_and_says_which(tmp_path):
    # At a hundred sessions the relay's added latency is its wait for a CPU (BENCHMARKS.md): it asks
    # for SCHED_RR, below rtui's own audio engine, and says on stderr what it got.
    # The threads writing its recordings are background work and stay under normal scheduling.
    upstream = "ws://127.0.0.1:9/v1/realtime"
    with command("proxy", "--listen", "127.0.0.1:0", "--upstream", upstream, "--record", f"{tmp_path}/") as (proxy, _):
        deadline = time.monotonic() + 10
        while True:  # a recording thread sets its own scheduling as it starts
            threads = policies(proxy.pid)
            relaying, recording = threads.pop(proxy.pid), set(threads.values())
            if recording == {os.SCHED_OTHER} or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert proxy.stderr is not None
    said = proxy.stderr.read()
    assert recording == {os.SCHED_OTHER}, recording  # the first flush pass starts one as the relay starts
    if realtime_permitted():
        assert relaying == os.SCHED_RR
        assert "real-time scheduling (SCHED_RR priority 3)" in said
    else:
        assert relaying == os.SCHED_OTHER
        assert "normal scheduling (real-time scheduling not permitted" in said
    with command("proxy", "--listen", "127.0.0.1:0", "--upstream", upstream, "--record", f"{tmp_path}/", "--no-realtime") as (
        proxy,
        _,
    ):
        assert set(policies(proxy.pid).values()) == {os.SCHED_OTHER}
    assert proxy.stderr is not None and "normal scheduling (real-time not asked for)" in proxy.stderr.read()
