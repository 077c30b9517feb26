"""The event name tables agree with the openai SDK's GA types."""

from __future__ import annotations

import typing

from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent

from tui.protocol.events import BETA_SERVER_EVENTS, BETA_TO_GA, CLIENT_EVENTS, SERVER_EVENTS, is_beta_only


def literal_types(union) -> set[str]:
    members = typing.get_args(typing.get_args(union)[0])  # Annotated[Union[...], ...]
    return {typing.get_args(m.model_fields["type"].annotation)[0] for m in members}


def test_server_events_are_exactly_the_sdk_ga_server_events():
    assert set(SERVER_EVENTS) == literal_types(RealtimeServerEvent)


def test_client_events_are_exactly_the_sdk_ga_client_events():
    assert set(CLIENT_EVENTS) == literal_types(RealtimeClientEvent)


def test_beta_names_map_to_ga_names_and_are_not_ga():
    ga = set(SERVER_EVENTS) | set(CLIENT_EVENTS)
    for beta, new in BETA_TO_GA.items():
        assert beta not in ga and new in ga
        assert is_beta_only(beta)
    assert BETA_TO_GA["response.audio.delta"] == "response.output_audio.delta"


def test_beta_server_events_have_the_beta_names_and_not_the_ga_renames():
    assert {"session.created", "session.updated", "response.audio.delta", "conversation.item.created", "error"} <= set(
        BETA_SERVER_EVENTS
    )
    assert not {"response.output_audio.delta", "conversation.item.added", "conversation.item.done"} & set(BETA_SERVER_EVENTS)
