"""`--tools FILE.json`: what a tools file may hold, the one-line errors of a bad one, and how a
command's answer behaves when the command misbehaves."""

from __future__ import annotations

import sys

import orjson
import pytest

from tui.engine.tools import MAX_OUTPUT_BYTES, ToolsFileError, load_tools, run_command

PY = sys.executable


def write(tmp_path, document) -> str:
    path = tmp_path / "tools.json"
    path.write_bytes(document if isinstance(document, bytes) else orjson.dumps(document))
    return str(path)


def test_definitions_go_to_the_session_and_answers_stay_with_rtui(tmp_path):
    path = write(
        tmp_path,
        {
            "tools": [
                {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}, "output": {"c": 18}},
                {"name": "now", "command": ["date"], "timeout": 2},
                {"name": "ask_me"},
            ]
        },
    )
    book = load_tools(path)
    assert book.definitions == (
        {"type": "function", "name": "get_weather", "description": "Weather", "parameters": {"type": "object"}},
        {"type": "function", "name": "now"},
        {"type": "function", "name": "ask_me"},
    )
    weather, now = book.answer_for("get_weather"), book.answer_for("now")
    assert weather is not None and weather.output == '{"c":18}'
    assert now is not None and now.command == ("date",) and now.timeout_s == 2 and now.cwd == str(tmp_path)
    assert book.answer_for("ask_me") is None


@pytest.mark.parametrize(
    "document, problem",
    [
        (b"{", "not JSON"),
        ({"tools": {}}, "tools: expected an array of tools"),
        ([{"name": "x", "outptu": 1}], "tools[0].outptu: unknown field"),
        ([{"name": "has space"}], "tools[0].name: expected 1-64 letters, digits, _ or -"),
        ([{"name": "x", "type": "mcp"}], "tools[0].type: expected 'function'"),
        ([{"name": "x", "output": 1, "command": ["true"]}], "tools[0]: give an output or a command, not both"),
        ([{"name": "x", "command": "date"}], "tools[0].command: expected a list of arguments"),
        ([{"name": "x", "command": ["date"], "timeout": 0}], "tools[0].timeout: expected seconds"),
        ([{"name": "x"}, {"name": "x"}], "tools[1].name: 'x' is defined twice"),
        ([{"name": "x", "parameters": []}], "tools[0].parameters: expected a JSON Schema object"),
    ],
)
def test_a_bad_tools_file_is_one_line_naming_the_field(tmp_path, document, problem):
    path = write(tmp_path, document)
    with pytest.raises(ToolsFileError) as raised:
        load_tools(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and problem in message and "\n" not in message


def test_a_missing_tools_file(tmp_path):
    with pytest.raises(ToolsFileError, match="No such file or directory"):
        load_tools(tmp_path / "absent.json")


async def test_a_command_reads_the_arguments_and_its_output_is_the_answer(tmp_path):
    script = "import sys; print(sys.stdin.read().upper())"
    assert await run_command((PY, "-c", script), '{"city": "paris"}', cwd=str(tmp_path), timeout_s=10) == '{"CITY": "PARIS"}'


@pytest.mark.parametrize(
    "command, timeout, error",
    [
        (("/nonexistent/tool",), 10, "could not start: No such file or directory"),
        ((PY, "-c", "import sys; sys.stderr.write('bad city'); sys.exit(3)"), 10, "exited with status 3: bad city"),
        ((PY, "-c", "import time; time.sleep(30)"), 0.3, "did not finish within 0.3 s"),
        ((PY, "-c", f"print('x' * {MAX_OUTPUT_BYTES * 4})"), 10, "printed more than 64 KiB"),
    ],
)
async def test_a_failing_command_gives_an_error_output(tmp_path, command, timeout, error):
    output = orjson.loads(await run_command(command, "{}", cwd=str(tmp_path), timeout_s=timeout))
    assert error in output["error"]


async def test_a_command_that_prints_too_much_and_exits_at_once_still_gives_the_error_output(tmp_path):
    # It exits while rtui is still writing it the arguments, so asyncio may have finished with the
    # process by the time rtui finds the output too long. Killing it then raised ProcessLookupError,
    # and the model's call was left unanswered without a word. The race is timing-dependent (a
    # quarter of the runs on a quiet machine): the repetitions make the old failure near certain.
    command = (PY, "-c", f"import sys; sys.stdout.write('x' * {MAX_OUTPUT_BYTES + 4000})")
    for _ in range(30):
        output = orjson.loads(await run_command(command, "a" * 4_000_000, cwd=str(tmp_path), timeout_s=10))
        assert "printed more than 64 KiB" in output["error"]


async def test_the_shipped_example_answers_both_tools():
    from pathlib import Path

    book = load_tools(Path(__file__).resolve().parents[2] / "sessions" / "examples" / "tools.json")
    weather, convert = book.answer_for("get_weather"), book.answer_for("convert_temperature")
    assert weather is not None and orjson.loads(await weather.run('{"city": "Paris"}'))["conditions"] == "sunny"
    assert convert is not None and orjson.loads(await convert.run('{"celsius": 21}')) == {"celsius": 21.0, "fahrenheit": 69.8}


async def test_a_command_never_sees_the_key_rtui_holds(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-tool-must-not-see")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-test-tool-must-not-see")
    monkeypatch.setenv("RTUI_TOOL_PROBE", "kept")
    script = "import os; print([os.environ.get(n) for n in ('OPENAI_API_KEY', 'AZURE_OPENAI_API_KEY', 'RTUI_TOOL_PROBE')])"
    output = await run_command((PY, "-c", script), "{}", cwd=str(tmp_path), timeout_s=10)
    assert output == "[None, None, 'kept']"
