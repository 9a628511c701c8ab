"""CLI commands, one module each (see monitor/cli.py for the protocol)."""
