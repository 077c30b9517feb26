"""Command-line parsing only: each subcommand lives in its own module and dispatches to the core."""
