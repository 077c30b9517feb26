"""A close code's meaning depends on who sent it: what diagnose, `rtui show` and the closure card say."""

from __future__ import annotations

from pathlib import Path

from tui.diagnose import diagnose
from tui.engine.closure import summarize_close
from tui.protocol.summary import record_line

EXAMPLES = Path(__file__).resolve().parents[2] / "sessions" / "examples"


def close_record(code: int, by: str) -> dict:
    return {
        "seq": 1,
        "t_ns": 0,
        "conn": 1,
        "kind": "close",
        "dir": "c2s" if by == "client" else "s2c",
        "code": code,
        "reason": "",
        "by": by,
        "first": True,
    }


def test_a_clients_4000_is_its_own_private_code_not_openais():
    # fault-stall: the example client gives up with 4000 when session.updated does not come.
    ending = diagnose(EXAMPLES / "fault-stall.jsonl").ending
    assert (ending.closed_first_by, ending.code) == ("client", 4000)
    assert "OpenAI" not in ending.meaning and "beta" not in ending.sentence
    assert "client's own code" in ending.meaning and "private use" in ending.meaning
    assert "OpenAI" not in record_line(close_record(4000, "client")).summary


def test_the_servers_4000_is_openais_beta_refusal():
    ending = diagnose(EXAMPLES / "story2-beta-header-close-4000.jsonl").ending
    assert ending.closed_first_by == "server" and "beta" in ending.meaning
    assert "OpenAI" in record_line(close_record(4000, "server")).summary


def test_a_1007_for_text_that_is_not_json_does_not_claim_it_was_not_utf8():
    # fault-invalid-json: the client closes 1007 on a server frame that is valid UTF-8 but not JSON.
    ending = diagnose(EXAMPLES / "fault-invalid-json.jsonl").ending
    assert (ending.closed_first_by, ending.code) == ("client", 1007)
    assert "UTF-8" not in ending.meaning and "UTF-8" not in ending.sentence
    assert "UTF-8" not in record_line(close_record(1007, "client")).summary


def test_the_card_words_a_close_by_its_sender():
    end = {
        "code": 4000,
        "reason": "app gave up",
        "closed_by": "client",
        "clean": True,
        "side": "client",
        "conn": 1,
        "close_sent": {"code": 4000, "reason": "app gave up"},
        "close_rcvd": {"code": 4000, "reason": "app gave up"},
    }
    summary = summarize_close(end, [], None)
    assert "OpenAI" not in summary.meaning and "OpenAI" not in summary.explanation
    assert "private use" in summary.meaning


def test_a_server_1001_names_expiry_and_a_client_1001_does_not():
    assert "expired" in record_line(close_record(1001, "server")).summary
    assert "expired" not in record_line(close_record(1001, "client")).summary
