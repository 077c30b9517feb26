"""Where `rtui` connects, and with which key, from its arguments and the environment."""

from tui.engine.config import GA_URL, resolve_endpoint


def test_no_key_means_the_embedded_mock():
    assert resolve_endpoint(None, "gpt-realtime", env={}).kind == "mock"


def test_a_key_means_the_ga_endpoint_with_the_model():
    endpoint = resolve_endpoint(None, "gpt-realtime-mini", env={"OPENAI_API_KEY": "sk-x"})
    assert (endpoint.kind, endpoint.url, endpoint.api_key) == ("live", f"{GA_URL}?model=gpt-realtime-mini", "sk-x")
    assert endpoint.api_key_header == "Authorization"


def test_mock_can_be_forced_with_a_key_set():
    assert resolve_endpoint(None, "gpt-realtime", force_mock=True, env={"OPENAI_API_KEY": "sk-x"}).kind == "mock"


def test_azure_takes_its_own_key_as_api_key_and_never_the_openai_one():
    url = "wss://res.openai.azure.com/openai/v1/realtime"
    env = {"OPENAI_API_KEY": "sk-openai", "AZURE_OPENAI_API_KEY": "azure-key"}
    endpoint = resolve_endpoint(url, "my-deployment", env=env)
    assert (endpoint.api_key, endpoint.api_key_header) == ("azure-key", "api-key")
    assert endpoint.url == url + "?model=my-deployment"
    assert resolve_endpoint(url, "d", env={"OPENAI_API_KEY": "sk-openai"}).api_key is None


def test_a_url_that_names_its_target_keeps_it():
    url = "ws://127.0.0.1:8765/v1/realtime?intent=transcription"
    assert resolve_endpoint(url, "gpt-realtime", env={}).url == url


def test_key_wins_over_the_environment_and_an_ephemeral_key_is_a_bearer_key():
    ephemeral = "ek_68af1f2e0b9c8191a1b2c3d4e5f60718"
    given = resolve_endpoint(None, "gpt-realtime", env={"OPENAI_API_KEY": "sk-env"}, key=ephemeral)
    assert (given.kind, given.api_key, given.api_key_header) == ("live", ephemeral, "Authorization")
    from_env = resolve_endpoint(None, "gpt-realtime", env={"OPENAI_API_KEY": ephemeral})
    assert (from_env.api_key, from_env.api_key_header) == (ephemeral, "Authorization")
    local = resolve_endpoint("ws://127.0.0.1:8765/v1/realtime", "gpt-realtime", env={}, key=ephemeral)
    assert local.api_key == ephemeral and local.url.endswith("?model=gpt-realtime")
    # Azure takes API keys as api-key, but an ephemeral key as a Bearer token.
    azure = resolve_endpoint("wss://res.openai.azure.com/openai/v1/realtime", "dep", env={}, key=ephemeral)
    assert (azure.api_key, azure.api_key_header) == (ephemeral, "Authorization")
    assert resolve_endpoint(None, "gpt-realtime", force_mock=True, env={}, key=ephemeral).kind == "mock"
