"""Running the README's example commands as a reader would, one fenced `sh` block at a time.

A block's commands run in order in one shell environment (`export` and `eval` carry over to the
next command). A command that serves until stopped (`rtui mock`, `rtui proxy`, `parecord`) is
started, must come up (rtui's say "listening on"), stays up for the commands after it that connect
to its port, and is then stopped with Ctrl-C (SIGINT to its process group) as a reader would stop it.

Run as a script (`python readme_support.py [--loopback-up]`), it reads a block as JSON on stdin
and writes the outcomes as JSON on stdout: that is how a block runs in a network namespace of its
own, where the README's fixed ports (8765, 8766) are free whatever else runs on the machine.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

SERVERS = ("rtui mock", "rtui proxy", "parecord ")
LISTENING = re.compile(r"listening on \S*?:(\d+)")
COMMAND_TIMEOUT_S = 120
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 15


@dataclass
class Block:
    line: int  # where the block starts in the README (0 while reading a block in another language)
    commands: list[str]


@dataclass
class Outcome:
    command: str
    problem: str | None  # why it did not run as the README says, or None
    output: str = ""


def sh_blocks(readme: str) -> list[Block]:
    """The commands of every ```sh block, without their trailing comments."""
    blocks: list[Block] = []
    fenced: Block | None = None  # the block being read (None outside fences)
    for number, line in enumerate(readme.splitlines(), 1):
        fence = line.strip()
        if fence.startswith("```"):
            if fenced is None:
                fenced = Block(number if fence == "```sh" else 0, [])
            else:
                if fenced.line:
                    blocks.append(fenced)
                fenced = None
        elif fenced is not None and fenced.line:
            command = without_comment(line).strip()
            if command:
                fenced.commands.append(command)
    return blocks


def without_comment(line: str) -> str:
    """The line up to its first `#` that starts a shell comment (unquoted, after a blank)."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


class Server:
    def __init__(self, command: str, cwd: Path, env: dict[str, str], logs: Path) -> None:
        self.command = command
        self.out = (logs / f"server-{time.monotonic_ns()}.log").open("w+")
        self.process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=cwd,
            env=env,
            stdout=self.out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.port: str | None = None

    def output(self) -> str:
        self.out.flush()
        self.out.seek(0)
        return self.out.read()

    def wait_up(self) -> str | None:
        """None once it serves, else the problem."""
        deadline = time.monotonic() + (START_TIMEOUT_S if self.command.startswith("rtui ") else 2)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return f"exited with status {self.process.returncode} instead of serving"
            match = LISTENING.search(self.output())
            if match:
                self.port = match.group(1)
                return None
            time.sleep(0.1)
        if self.command.startswith("rtui "):
            return f"never said it was listening within {START_TIMEOUT_S} s"
        return None  # still running: serving

    def stop(self) -> str | None:
        """Ctrl-C; None when it stopped cleanly, else the problem."""
        if self.process.poll() is not None:
            return f"exited with status {self.process.returncode} before it was stopped"
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            return f"did not stop within {STOP_TIMEOUT_S} s of Ctrl-C"
        if "Traceback" in self.output():
            return "printed a traceback"
        return None


def run_block(commands: list[str], skips: dict[str, str], cwd: Path, env: dict[str, str]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    env = dict(env)
    server: Server | None = None
    with tempfile.TemporaryDirectory(prefix="rtui-readme-") as logs:

        def stop_server() -> None:
            nonlocal server
            if server is not None:
                problem = server.stop()
                if problem:
                    outcomes.append(Outcome(server.command, problem, server.output()[-2000:]))
                server = None

        for command in commands:
            if command in skips:
                outcomes.append(Outcome(command, None, f"skipped: {skips[command]}"))
                continue
            if server is not None and not (server.port and f":{server.port}" in command):
                stop_server()
            if command.startswith(SERVERS):
                stop_server()
                server = Server(command, cwd, env, Path(logs))
                problem = server.wait_up()
                outcomes.append(Outcome(command, problem, server.output()[-2000:]))
                if problem:
                    server.stop()
                    server = None
                continue
            outcomes.append(run_command(command, cwd, env, Path(logs)))
        stop_server()
    return outcomes


def run_command(command: str, cwd: Path, env: dict[str, str], logs: Path) -> Outcome:
    """Runs one command to its end; what it exports stays in `env` for the next."""
    saved = logs / "env"
    script = f'{command}\n__status=$?\nenv -0 >"{saved}"\nexit $__status\n'
    try:
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return Outcome(command, f"did not finish within {COMMAND_TIMEOUT_S} s")
    output = result.stdout[-1500:] + result.stderr[-1500:]
    if saved.exists():
        exported = dict(item.split("=", 1) for item in saved.read_text().split("\0") if "=" in item)
        for name in ("_", "SHLVL", "OLDPWD", "__status"):
            exported.pop(name, None)
        env.clear()
        env.update(exported)
        saved.unlink()
    if result.returncode != 0:
        return Outcome(command, f"exited with status {result.returncode}", output)
    if "Traceback" in result.stderr:
        return Outcome(command, "printed a traceback", output)
    return Outcome(command, None, output)


def main() -> None:
    if "--loopback-up" in sys.argv:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    job = json.load(sys.stdin)
    outcomes = run_block(job["commands"], job["skips"], Path(job["cwd"]), job["env"])
    json.dump([asdict(outcome) for outcome in outcomes], sys.stdout)


if __name__ == "__main__":
    main()
