"""Function calls read as `name(arguments)`: one row for a call's argument deltas, its output by call
id, in `rtui show`, the TUI's log rows and inspector, and the transcript."""

from __future__ import annotations

from tests.diagnose_support import Script, session_created
from tui.app.inspect_model import inspector_text
from tui.app.log_model import LiveCollapser
from tui.engine.state import EngineState, LogBuffer, LogEntry
from tui.engine.view import SessionView
from tui.protocol.summary import record_line
from tui.show.render import timeline
from tui.wire.reader import SessionReader

CALL = {"id": "item_c", "type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": ""}


def call_recording(tmp_path, monkeypatch, second_call=False):
    s = Script(tmp_path / "call.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    s.receive({"type": "response.output_item.added", "response_id": "resp_1", "output_index": 0, "item": CALL})
    for piece in ('{"ci', 'ty": "Pa', 'ris"}'):
        s.receive(
            {
                "type": "response.function_call_arguments.delta",
                "response_id": "resp_1",
                "item_id": "item_c",
                "output_index": 0,
                "call_id": "call_1",
                "delta": piece,
            }
        )
    if second_call:  # another call's deltas right after: a run of its own
        s.receive({"type": "response.function_call_arguments.delta", "item_id": "item_d", "call_id": "call_2", "delta": "{}"})
    s.receive(
        {
            "type": "response.function_call_arguments.done",
            "response_id": "resp_1",
            "item_id": "item_c",
            "output_index": 0,
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
        }
    )
    s.send(
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "call_1", "output": '{"temperature_c": 18}'},
        }
    )
    return s.done()


def records(path):
    with SessionReader(path) as reader:
        return list(reader)


def test_show_reads_a_call_as_name_and_arguments(tmp_path, monkeypatch):
    lines = list(timeline(records(call_recording(tmp_path, monkeypatch))))
    deltas = next(line for line in lines if "arguments.delta" in line)
    assert "response.function_call_arguments.delta ×3" in deltas and deltas.endswith('get_weather({"city": "Paris"})')
    assert next(line for line in lines if "arguments.done" in line).endswith('get_weather({"city": "Paris"}) call_1')
    output = next(line for line in lines if "conversation.item.create" in line)
    assert output.endswith("""output for call_1: '{"temperature_c": 18}'""")


def test_two_calls_never_share_a_run(tmp_path, monkeypatch):
    lines = [line for line in timeline(records(call_recording(tmp_path, monkeypatch, second_call=True))) if "delta" in line]
    assert len(lines) == 2 and lines[1].endswith("?({})")


def test_the_live_log_grows_the_call_row_and_the_inspector_formats_the_arguments(tmp_path, monkeypatch):
    collapser, rows = LiveCollapser(), []
    for record in records(call_recording(tmp_path, monkeypatch)):
        rows += collapser.push(LogEntry(record, record_line(record)))[0]
    (run,) = [row for row in rows if row.line.label == "response.function_call_arguments.delta"]
    assert run.line.count == 3 and run.line.summary == 'get_weather({"city": "Paris"})'
    assert inspector_text(run).startswith('// arguments, the 3 deltas joined\n{\n  "city": "Paris"\n}')
    (done,) = [row for row in rows if row.line.label == "response.function_call_arguments.done"]
    assert '"arguments": {\n      "city": "Paris"\n    }' in inspector_text(done)


def test_the_transcript_has_the_call_and_its_output(tmp_path, monkeypatch):
    state = EngineState()
    view = SessionView(state, LogBuffer())
    for record in records(call_recording(tmp_path, monkeypatch)):
        view.on_record(record)
    (call,) = state.transcript
    assert (call.role, call.item_id, call.text, call.output) == (
        "call",
        "call_1",
        'get_weather({"city": "Paris"})',
        '{"temperature_c": 18}',
    )
