#!/usr/bin/env python3
"""An example tool command for `rtui --tools` (sessions/examples/tools.json): reads the call's
arguments, a JSON object such as {"celsius": 21}, on stdin and prints the output as JSON.
Standard library only, so it runs wherever python3 does."""

import json
import sys

try:
    arguments = json.load(sys.stdin)
    celsius = float(arguments["celsius"])
except (ValueError, KeyError, TypeError) as exc:
    print(f'expected arguments like {{"celsius": 21}}: {exc}', file=sys.stderr)
    sys.exit(2)
print(json.dumps({"celsius": celsius, "fahrenheit": round(celsius * 9 / 5 + 32, 1)}))
