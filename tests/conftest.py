"""Suite-wide settings. Area-specific helpers live in tests/*_support.py and are imported explicitly."""

import os

# Tests only ever talk to 127.0.0.1; make sure no proxy from the environment gets in the way.
for _name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "ws_proxy", "wss_proxy"):
    os.environ.pop(_name, None)
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

# Runs after the whole suite: no recording or log it produced may hold a fake key (tests/fake_keys.py).
pytest_plugins = ["secret_scan_plugin"]
