"""The mock's stand-in for a model's tool use: which tool a response calls, and with what arguments."""

from __future__ import annotations

import jsonschema
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.mock.tools import MAX_DELTAS, argument_chunks, build_arguments, names_tool, plan_response

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
        },
        "required": ["city"],
    },
}
HANG_UP = {"type": "function", "name": "hang_up", "description": "End the call", "parameters": {"type": "object"}}


def user(text: str) -> dict:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def call(call_id: str, name: str) -> dict:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": "{}"}


def output(call_id: str, text: str) -> dict:
    return {"type": "function_call_output", "call_id": call_id, "output": text}


# -- which tool -----------------------------------------------------------------------------------


def test_auto_calls_the_tool_a_word_of_whose_description_the_user_said():
    plan = plan_response([user("What is the weather in Paris?")], [HANG_UP, WEATHER], "auto", False)
    assert [t["name"] for t in plan.calls] == ["get_weather"]


def test_auto_calls_the_tool_the_user_names():
    assert names_tool("please hang up now", HANG_UP)
    assert names_tool("call getWeather", {"name": "getWeather"})


def test_auto_answers_when_no_tool_is_named():
    plan = plan_response([user("Hello there")], [HANG_UP, WEATHER], "auto", False)
    assert plan.calls == () and plan.answer is None


def test_short_common_words_do_not_name_a_tool():
    """Both "the" and "city" are in WEATHER's description; words under five letters do not count."""
    assert not names_tool("Is the city nice?", WEATHER)


def test_none_never_calls():
    assert plan_response([user("weather in Paris")], [WEATHER], "none", True).calls == ()


def test_required_calls_the_first_tool_when_none_is_named():
    plan = plan_response([user("Hello")], [HANG_UP, WEATHER], "required", False)
    assert [t["name"] for t in plan.calls] == ["hang_up"]


def test_a_named_function_is_always_called():
    plan = plan_response([user("Hello")], [WEATHER, HANG_UP], {"type": "function", "name": "hang_up"}, False)
    assert [t["name"] for t in plan.calls] == ["hang_up"]


def test_parallel_tool_calls_calls_every_named_tool():
    said = [user("What's the weather before you hang up?")]
    assert [t["name"] for t in plan_response(said, [WEATHER, HANG_UP], "auto", True).calls] == ["get_weather", "hang_up"]
    assert [t["name"] for t in plan_response(said, [WEATHER, HANG_UP], "auto", False).calls] == ["get_weather"]


def test_after_an_output_auto_answers_quoting_it():
    items = [user("weather in Paris?"), call("call_1", "get_weather"), output("call_1", '{"temp": 21}')]
    plan = plan_response(items, [WEATHER], "auto", False)
    assert plan.calls == ()
    assert plan.answer == 'The tool get_weather returned: {"temp": 21}'


def test_after_an_output_required_calls_again():
    items = [user("weather in Paris?"), call("call_1", "get_weather"), output("call_1", "sunny")]
    assert [t["name"] for t in plan_response(items, [WEATHER], "required", False).calls] == ["get_weather"]


def test_mcp_tools_are_not_function_calls():
    mcp = {"type": "mcp", "server_label": "weather", "server_url": "https://example.com/mcp"}
    assert plan_response([user("weather?")], [mcp], "required", False).calls == ()


# -- which arguments ------------------------------------------------------------------------------


def test_arguments_validate_against_the_schema_and_take_the_city_from_the_user():
    arguments = orjson.loads(build_arguments(WEATHER["parameters"], "seed", "What is the weather in Paris?"))
    jsonschema.validate(arguments, WEATHER["parameters"])
    assert arguments["city"] == "Paris"
    assert arguments["unit"] in ("celsius", "fahrenheit") and 1 <= arguments["days"] <= 7


def test_arguments_are_the_same_for_the_same_seed():
    assert build_arguments(WEATHER["parameters"], "a", "") == build_arguments(WEATHER["parameters"], "a", "")


def test_nested_objects_arrays_defaults_and_refs():
    schema = {
        "type": "object",
        "$defs": {"point": {"type": "object", "properties": {"x": {"type": "number", "exclusiveMinimum": 0}}, "required": ["x"]}},
        "properties": {
            "points": {"type": "array", "items": {"$ref": "#/$defs/point"}, "minItems": 2},
            "label": {"type": ["string", "null"], "minLength": 3, "maxLength": 5},
            "mode": {"type": "string", "default": "fast"},
            "when": {"type": "string", "format": "date-time"},
            "flag": {"type": "boolean"},
            "kind": {"const": "k"},
            "either": {"anyOf": [{"type": "integer", "maximum": -5}, {"type": "string"}]},
        },
        "required": ["points", "label", "mode"],
    }
    arguments = orjson.loads(build_arguments(schema, "seed", ""))
    jsonschema.validate(arguments, schema)
    assert arguments["mode"] == "fast" and len(arguments["points"]) == 2 and arguments["kind"] == "k"


def test_a_query_string_takes_the_whole_message():
    schema = {"type": "object", "properties": {"query": {"type": "string"}}}
    assert orjson.loads(build_arguments(schema, "s", "best pizza nearby")) == {"query": "best pizza nearby"}


def test_no_parameters_give_an_empty_object():
    assert build_arguments(None, "s") == "{}"
    assert build_arguments({"type": "object"}, "s") == "{}"


def test_a_hostile_schema_gets_small_arguments_quickly():
    """Arrays of arrays of a million items, eight deep, and a string of a billion characters."""
    deep: dict = {"type": "string", "minLength": 10**9}
    for _ in range(8):
        deep = {"type": "array", "items": deep, "minItems": 10**6}
    arguments = build_arguments({"type": "object", "properties": {"a": deep}}, "s")
    assert len(arguments) < 100_000 and orjson.loads(arguments)
    assert len(argument_chunks(arguments)) <= MAX_DELTAS and "".join(argument_chunks(arguments)) == arguments


def test_arguments_stream_in_several_chunks():
    arguments = build_arguments(WEATHER["parameters"], "seed", "weather in Paris")
    chunks = argument_chunks(arguments)
    assert len(chunks) > 1 and "".join(chunks) == arguments


_SCALARS = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "integer", "minimum": -3, "maximum": 3},
        {"type": "number", "exclusiveMaximum": -1},
        {"type": "string", "minLength": 30},
        {"type": "string", "maxLength": 1},
        {"enum": ["a", 2, None]},
    ]
)
_SCHEMAS = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.builds(lambda items, n: {"type": "array", "items": items, "minItems": n}, inner, st.integers(0, 3)),
        st.builds(
            lambda props: {"type": "object", "properties": props, "required": sorted(props)},
            st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), inner, max_size=4),
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(properties=st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), _SCHEMAS, max_size=5), seed=st.text())
def test_any_generated_schema_gets_valid_arguments(properties, seed):
    schema = {"type": "object", "properties": properties, "required": sorted(properties)}
    jsonschema.validate(orjson.loads(build_arguments(schema, seed, "Call Bob in Rome")), schema)
