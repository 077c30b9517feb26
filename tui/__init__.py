"""rtui: a terminal workbench for the OpenAI Realtime API."""

__version__ = "0.1.0"
