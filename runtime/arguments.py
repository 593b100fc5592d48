"""The command-line tools' `--address` and `--namespace`, read by runtime.client.connect.
Kept apart from the client so a tool's parser builds without importing the SDK."""

from __future__ import annotations

import argparse

DEFAULT_ADDRESS = "localhost:7233"


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """`--address` and `--namespace` (unset: the environment's, then the defaults)."""
    parser.add_argument(
        "--address", default=None, help=f"Temporal frontend host:port (default: TEMPORAL_ADDRESS or {DEFAULT_ADDRESS})"
    )
    parser.add_argument("--namespace", default=None, help="namespace (default: TEMPORAL_NAMESPACE or default)")
