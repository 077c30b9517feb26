"""`rtui --tools FILE.json`: function tools, each with the answer rtui gives when the model calls it.

The file is a JSON array of tools (or an object with a `tools` array). Each tool is a GA function
tool (`name`, `description`, `parameters`; `type` may be left out) plus at most one answer:

- `output`: any JSON value, sent as the call's output (a string as it is, anything else as JSON);
- `command`: an argv list, run without a shell in the tools file's folder, that receives the call's
  arguments (a JSON string) on stdin and prints the output on stdout; `timeout` (seconds, default
  10). A command that fails, times out or prints more than 64 KiB gives an error output
  (`{"error": "..."}`), never a crash.

A tool without an answer is still defined; when the model calls it, the TUI asks for the output.
`"respond": false` sends the output without the `response.create` that should follow it, to
reproduce the classic tool stall (the session then sits idle, as it does for an app that forgets it).
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tui.wire.reader import read_json_file

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # the function name pattern of OpenAI's tool definitions
TOOL_FIELDS = frozenset({"type", "name", "description", "parameters", "output", "command", "timeout", "respond"})
DEFAULT_TIMEOUT_S = 10.0
MAX_TIMEOUT_S = 300.0
MAX_OUTPUT_BYTES = 64 * 1024
MAX_FILE_BYTES = 4 * 2**20
STDERR_SHOWN = 300  # characters of a failed command's stderr put in its error output


class ToolsFileError(Exception):
    """A tools file rtui cannot use; the message is one line naming the file and the bad field."""


@dataclass(frozen=True)
class ToolAnswer:
    """How rtui answers calls of one tool: a fixed output, or a command's."""

    output: str | None = None
    command: tuple[str, ...] = ()
    cwd: str = "."
    timeout_s: float = DEFAULT_TIMEOUT_S
    respond: bool = True  # follow the output with response.create

    async def run(self, arguments: str) -> str:
        if self.output is not None:
            return self.output
        return await run_command(self.command, arguments, cwd=self.cwd, timeout_s=self.timeout_s)


@dataclass(frozen=True)
class ToolBook:
    """The tools a session defines (`session.tools`) and the answers rtui has for them, by name."""

    definitions: tuple[dict[str, Any], ...] = ()
    answers: tuple[tuple[str, ToolAnswer], ...] = ()

    def answer_for(self, name: str) -> ToolAnswer | None:
        return dict(self.answers).get(name)


def load_tools(path: str | os.PathLike[str]) -> ToolBook:
    """Reads and checks a tools file; raises ToolsFileError with `FILE: tools[i].field: problem`."""
    shown = str(path)
    try:
        document = read_json_file(path, MAX_FILE_BYTES)
    except ValueError as exc:
        raise ToolsFileError(str(exc)) from None
    tools = document.get("tools") if isinstance(document, dict) else document
    where = "tools" if isinstance(document, dict) else "(top level)"
    if not isinstance(tools, list):
        raise ToolsFileError(f'{shown}: {where}: expected an array of tools (or an object with a "tools" array)')
    folder = str(Path(path).resolve().parent)
    definitions, answers, names = [], [], set()
    for index, tool in enumerate(tools):
        try:
            definition, answer = _tool(tool, folder)
        except ToolsFileError as exc:
            raise ToolsFileError(f"{shown}: tools[{index}]{exc}") from None
        if definition["name"] in names:
            raise ToolsFileError(f"{shown}: tools[{index}].name: {definition['name']!r} is defined twice")
        names.add(definition["name"])
        definitions.append(definition)
        if answer is not None:
            answers.append((definition["name"], answer))
    return ToolBook(tuple(definitions), tuple(answers))


def _tool(tool: Any, folder: str) -> tuple[dict[str, Any], ToolAnswer | None]:
    """One entry: its GA definition and its answer. Errors start with `.field: ` (or `: `)."""
    if not isinstance(tool, dict):
        raise ToolsFileError(": expected an object with name, description, parameters and an output or command")
    for key in tool:
        if key not in TOOL_FIELDS:
            raise ToolsFileError(f".{key}: unknown field; a tool has {', '.join(sorted(TOOL_FIELDS))}")
    if tool.get("type", "function") != "function":
        raise ToolsFileError(f".type: expected 'function' (rtui answers function tools), got {tool['type']!r}")
    name = tool.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ToolsFileError(".name: expected 1-64 letters, digits, _ or -")
    if not isinstance(tool.get("description", ""), str):
        raise ToolsFileError(".description: expected a string")
    if not isinstance(tool.get("parameters", {}), dict):
        raise ToolsFileError(".parameters: expected a JSON Schema object")
    definition = {"type": "function", "name": name}
    for key in ("description", "parameters"):
        if key in tool:
            definition[key] = tool[key]
    if "output" in tool and "command" in tool:
        raise ToolsFileError(": give an output or a command, not both")
    respond = tool.get("respond", True)
    if not isinstance(respond, bool):
        raise ToolsFileError(".respond: expected true or false")
    if "output" in tool:
        output = tool["output"]
        text = output if isinstance(output, str) else orjson.dumps(output).decode()
        return definition, ToolAnswer(output=text, respond=respond)
    if "command" in tool:
        command = tool["command"]
        if not isinstance(command, list) or not command or not all(isinstance(arg, str) and arg for arg in command):
            raise ToolsFileError('.command: expected a list of arguments, e.g. ["python3", "tool.py"] (no shell)')
        timeout = tool.get("timeout", DEFAULT_TIMEOUT_S)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT_S:
            raise ToolsFileError(f".timeout: expected seconds, more than 0 and at most {MAX_TIMEOUT_S:.0f}")
        return definition, ToolAnswer(command=tuple(command), cwd=folder, timeout_s=float(timeout), respond=respond)
    for key in ("timeout", "respond"):
        if key in tool:
            raise ToolsFileError(f".{key}: only a tool with an output or a command has one")
    return definition, None


# A tool command is the user's own program, but it is handed the model's arguments and has no need
# of the key rtui holds: it runs without the variables rtui reads keys from.
KEY_VARIABLES = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY")


def error_output(problem: str) -> str:
    return orjson.dumps({"error": problem}).decode()


async def run_command(command: tuple[str, ...], arguments: str, *, cwd: str, timeout_s: float) -> str:
    """The command's stdout (UTF-8, trailing newline dropped), or an error output saying what failed."""
    shown = " ".join(command)
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if k not in KEY_VARIABLES},
        )
    except OSError as exc:
        return error_output(f"tool command {shown!r} could not start: {exc.strerror or exc}")
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    stderr = asyncio.ensure_future(_tail(process.stderr))
    try:
        async with asyncio.timeout(timeout_s):
            try:
                process.stdin.write(arguments.encode())
                await process.stdin.drain()
                process.stdin.close()
            except (BrokenPipeError, ConnectionResetError):
                pass  # a command that does not read its arguments may still answer
            stdout = await _bounded(process.stdout)
            if stdout is None and process.returncode is None:
                # It stops here rather than fill a pipe nobody reads. One that has already exited is
                # not killed: asyncio refuses to signal a process it has finished with.
                process.kill()
            said = (await stderr).decode("utf-8", "replace").strip()[-STDERR_SHOWN:]
            status = await process.wait()
    except TimeoutError:
        return error_output(f"tool command {shown!r} did not finish within {timeout_s:g} s")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        stderr.cancel()
    if stdout is None:
        return error_output(f"tool command {shown!r} printed more than {MAX_OUTPUT_BYTES // 1024} KiB")
    if status != 0:
        return error_output(f"tool command {shown!r} exited with status {status}" + (f": {said}" if said else ""))
    return stdout.decode("utf-8", "replace").removesuffix("\n")


async def _bounded(stream: asyncio.StreamReader) -> bytes | None:
    """A stream's bytes, or None (having stopped reading) once they pass MAX_OUTPUT_BYTES."""
    data = bytearray()
    while chunk := await stream.read(65536):
        data += chunk
        if len(data) > MAX_OUTPUT_BYTES:
            return None
    return bytes(data)


async def _tail(stream: asyncio.StreamReader) -> bytes:
    """A stream read to its end, keeping only its last bytes (a chatty stderr never blocks the command)."""
    kept = b""
    while chunk := await stream.read(65536):
        kept = (kept + chunk)[-4 * STDERR_SHOWN :]
    return kept
