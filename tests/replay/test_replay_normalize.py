"""The normalization rules of docs/replay.md, one by one."""

from __future__ import annotations

import base64

import orjson

from tui.replay.normalize import IdMap, NormalizedItem, decode_audio, normalize_frame


def event(**fields: object) -> str:
    return orjson.dumps(fields).decode()


def classify(opcode: str, payload: str | bytes, ids: IdMap, *, server: bool) -> tuple[NormalizedItem | None, bytes | None]:
    """The item, or for an audio append (None, its decoded audio)."""
    item, audio = normalize_frame(opcode, payload, ids, server=server)
    return item, None if audio is None else decode_audio(audio)


def norm(text: str | bytes, ids: IdMap | None = None, *, server: bool = False, opcode: str = "text") -> NormalizedItem:
    item = classify(opcode, text, ids or IdMap(), server=server)[0]
    assert item is not None
    return item


def test_event_ids_are_ignored_at_any_depth_and_key_order_does_not_matter():
    a = norm(event(type="error", event_id="evt_1", error={"code": "x", "event_id": "client_7"}), server=True)
    b = norm('{"error": {"event_id": "other", "code": "x"}, "event_id": "evt_2", "type": "error"}', server=True)
    assert a.key() == b.key()
    assert norm(event(type="error", error={"code": "y"}), server=True).key() != a.key()


def test_server_ids_are_named_by_first_appearance_in_both_directions():
    def run(item: str, response: str) -> list:  # type: ignore[type-arg]
        ids = IdMap()
        return [
            norm(event(type="response.created", response={"id": response}), ids, server=True).key(),
            norm(event(type="response.output_item.added", response_id=response, item={"id": item}), ids, server=True).key(),
            norm(event(type="conversation.item.truncate", item_id=item, audio_end_ms=300), ids).key(),
        ]

    assert run("item_A", "resp_A") == run("item_B", "resp_B")
    # ...but an id the client names that the server never gave stays itself.
    assert (
        norm(event(type="conversation.item.truncate", item_id="item_A"), IdMap()).key()
        != norm(event(type="conversation.item.truncate", item_id="item_B"), IdMap()).key()
    )


def test_expiry_is_blanked_and_long_strings_compare_by_hash():
    a = norm(event(type="session.created", session={"expires_at": 1, "instructions": "x" * 2000}), server=True)
    b = norm(event(type="session.created", session={"expires_at": 2, "instructions": "x" * 2000}), server=True)
    c = norm(event(type="session.created", session={"expires_at": 2, "instructions": "x" * 1999 + "y"}), server=True)
    assert a.key() == b.key() != c.key()


def test_appended_audio_is_taken_out_as_bytes_and_other_frames_stay_exact():
    pcm = bytes(range(200))
    item, audio = classify(
        "text", event(type="input_audio_buffer.append", audio=base64.b64encode(pcm).decode()), IdMap(), server=False
    )
    assert item is None and audio == pcm
    # Not valid base64: an ordinary event, compared as such.
    item, audio = classify("text", event(type="input_audio_buffer.append", audio="%%%"), IdMap(), server=False)
    assert item is not None and item.kind == "event" and audio is None
    # A binary frame holding JSON is not the same as that JSON in a text frame.
    text = event(type="session.update")
    assert norm(text.encode(), opcode="binary").key() != norm(text).key()
    assert norm("not json").key() == ("text", "not json")


def test_an_append_is_the_same_audio_however_its_json_is_written():
    pcm = bytes(range(256)) * 3
    b64 = base64.b64encode(pcm).decode()
    written = [
        '{"type":"input_audio_buffer.append","audio":"' + b64 + '"}',  # as rtui and the SDK write it
        '{"audio": "' + b64 + '", "type": "input_audio_buffer.append"}',
        '{"type":"input_audio_buffer.append","audio":"' + b64.replace("/", "\\/") + '"}',  # a JSON escape
    ]
    for text in written:
        item, audio = classify("text", text, IdMap(), server=False)
        assert item is None and audio == pcm, text
    # What only looks like an append is not one.
    item, _ = classify("text", '{"type":"input_audio_buffer.append","audio":"AAAA","x":"}', IdMap(), server=False)
    assert item is not None and item.kind == "text"
