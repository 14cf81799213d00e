"""What every ``stylefarm`` client command shares: the farm's address and key, ``--json``, error exits."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from cli.client import ClientError, FarmClient
from cli.exit_codes import ExitCode
from cli.settings import ClientSettings

F = TypeVar("F", bound=Callable[..., Any])


def fail(error: ClientError) -> NoReturn:
    """Print the farm's reason and exit 2 for a refusal (4xx), 3 when unreachable or broken (5xx)."""
    click.echo(f"error: {error.message}", err=True)
    sys.exit(ExitCode.REFUSED if 400 <= error.status < 500 else ExitCode.UNREACHABLE)


def farm_options(command: F) -> F:
    """``--api-url``/``--api-key`` (or ``STYLEFARM_API_URL``/``STYLEFARM_API_KEY``) and ``--json``."""
    command = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")(command)
    command = click.option("--api-key", "--key", "api_key", default=None, help="Or STYLEFARM_API_KEY.")(command)
    return click.option(
        "--api-url",
        "--url",
        "api_url",
        default=None,
        help="The farm, e.g. http://127.0.0.1:8000 (or STYLEFARM_API_URL).",
    )(command)


def follow_options(command: F) -> F:
    """``--stall-timeout``: how long a followed job may stay unchanged before the follower gives up."""
    return click.option(
        "--stall-timeout",
        "stall_timeout_s",
        type=click.FloatRange(0),
        default=600.0,
        show_default=True,
        envvar="STYLEFARM_STALL_TIMEOUT_S",
        help="With --wait: stop following (exit 5) a job that has not changed for this many seconds; 0 never.",
    )(command)


def farm_client(api_url: str | None, api_key: str | None, settings: ClientSettings | None = None) -> FarmClient:
    """A client for the farm named by the options or ``settings``; else a usage error (exit 2) saying how to set it."""
    settings = settings or ClientSettings()
    api_url, api_key = api_url or settings.api_url, api_key or settings.api_key
    if not api_url:
        raise click.UsageError(
            "no farm address: pass --api-url URL or set STYLEFARM_API_URL (`stylefarm up` serves http://127.0.0.1:8000)"
        )
    if not api_key:
        raise click.UsageError(
            "no API key: pass --api-key KEY or set STYLEFARM_API_KEY (`stylefarm keys create TENANT` makes one)"
        )
    return FarmClient(api_url, api_key)


def echo_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, default=str))
