"""``stylefarm styles`` and ``stylefarm style add``: the styles a tenant can render with, over HTTP."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cli.client import ClientError
from cli.exit_codes import EXIT_CODES_HELP, ExitCode
from cli.options import echo_json, fail, farm_client, farm_options
from cli.output import print_table


@click.command(epilog=EXIT_CODES_HELP)
@click.option("--query", "-q", default=None, help="Only styles whose name contains this.")
@farm_options
def styles(query: str | None, api_url: str | None, api_key: str | None, as_json: bool) -> None:
    """List the styles you can use: the 26 built-ins and your own."""
    try:
        found = farm_client(api_url, api_key).styles(query)
    except ClientError as error:
        fail(error)
    if as_json:
        echo_json(found)
        return
    print_table(
        [
            [
                f"builtin:{style['builtin_index']}" if style["builtin_index"] is not None else style["name"],
                style["kind"],
                style["status"],
                "public" if style["public"] else "yours",
                style["id"],
            ]
            for style in found
        ]
    )


@click.group()
def style() -> None:
    """Manage your own styles."""


@style.command("add", epilog=EXIT_CODES_HELP)
@click.argument("name")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--wait", is_flag=True, help="Wait until the style is ready to use (exit 1 if it fails).")
@farm_options
def add_style(name: str, image: Path, wait: bool, api_url: str | None, api_key: str | None, as_json: bool) -> None:
    """Upload IMAGE (a painting, a photo...) as your style NAME; use it as --style NAME once ready."""
    client = farm_client(api_url, api_key)
    try:
        created = client.add_style(image, name)
        if wait:
            created = client.wait_style(created["id"])
    except ClientError as error:
        fail(error)
    if as_json:
        echo_json(created)
    else:
        reason = f": {created['error']}" if created.get("error") else ""
        click.echo(f"{created['id']} {created['name']} {created['status']}{reason}")
    sys.exit(ExitCode.JOB_FAILED if created["status"] == "failed" else ExitCode.OK)
