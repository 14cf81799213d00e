"""``stylefarm up``, ``stylefarm demo`` and ``stylefarm keys``: the farm on this machine.

These read the settings (``STYLEFARM_HOME`` or ``--home``) to find the same database as the stack.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

import shared
from cli.client import ClientError, FarmClient
from cli.download import download_all, plan_downloads
from cli.inputs import LocalInput
from cli.progress import progress_bar, update_bar
from cli.stack import LocalStack, StackError, signals_as_interrupt
from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SAMPLES = Path(shared.__file__).resolve().parent / "samples"  # package data of shared/ (workers use it too)
DEMO_STYLES = ["builtin:3", "builtin:7", "builtin:19", "great-wave"]


def settings_for(home: Path | None) -> Settings:
    return get_settings(home=home) if home else get_settings()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


home_option = click.option(
    "--home", type=click.Path(file_okay=False, path_type=Path), default=None, help="Data folder (or STYLEFARM_HOME)."
)


@contextmanager
def farm_session(home: Path | None) -> Iterator[Session]:
    """A session on the farm's own database (migrated first), for the commands that run the farm."""
    from shared.db.migrate import upgrade_to_head
    from shared.db.session import make_engine, make_session_factory

    settings = settings_for(home)
    settings.ensure_directories()
    upgrade_to_head(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


@click.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("create")
@click.argument("tenant")
@home_option
def create_key(tenant: str, home: Path | None) -> None:
    """Create an API key for TENANT (created if new); the key is the last line printed."""
    from api.auth.keys import create_api_key

    with farm_session(home) as session:
        key = create_api_key(session, tenant)
    click.echo(f"API key for tenant {tenant!r} (shown once; store it safely):", err=True)
    click.echo(key)


@click.command()
@home_option
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def up(home: Path | None, port: int) -> None:
    """Run the farm (API and a worker) in the foreground until Ctrl-C or SIGTERM."""
    stack = LocalStack(settings_for(home), port)
    with signals_as_interrupt():  # children lead their own groups: stop them on SIGTERM and SIGINT
        try:
            stack.start()
            click.echo(f"StyleFarm is up at {stack.url} (data in {stack.settings.home}); Ctrl-C stops it.", err=True)
            stack.run_forever()
        except StackError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(3)
        except KeyboardInterrupt:
            pass
        finally:
            stack.stop()


def _register_demo_style(client: FarmClient) -> None:
    """The sample painting as a style of the demo tenant (reused if already registered)."""
    found = [s for s in client.styles("great-wave") if s["name"] == "great-wave"]
    style = found[0] if found else client.add_style(SAMPLES / "great_wave.jpg", "great-wave")
    style = client.wait_style(style["id"], timeout_s=120)
    if style["status"] == "failed":
        raise ClientError(0, f"the demo style failed: {style.get('error')}")


@click.command()
@home_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("stylefarm-demo"))
def demo(home: Path | None, out_dir: Path) -> None:
    """Bring the farm up, render the sample photo in four styles as one job, print the outputs."""
    from api.auth.keys import create_api_key
    from shared.db.session import make_engine, make_session_factory

    stack = LocalStack(settings_for(home), free_port())
    with signals_as_interrupt():  # children lead their own groups: stop them on SIGTERM and SIGINT
        try:
            click.echo(f"starting the farm (data in {stack.settings.home}) ...", err=True)
            stack.start()
            engine = make_engine(stack.settings.database_url)
            with make_session_factory(engine)() as session:
                client = FarmClient(stack.url, create_api_key(session, "demo"))
            engine.dispose()
            _register_demo_style(client)
            photo = client.upload(SAMPLES / "astronaut.png")
            job = client.create_job(
                {"kind": "multi_style", "inputs": [photo["id"]], "styles": [{"style": s} for s in DEMO_STYLES]}
            )
            names = [item.get("style_name") or item.get("style_label") for item in job.get("items", [])]
            names = [name for name in names if name] or DEMO_STYLES  # style names, as pages and downloads show them
            click.echo(f"job {job['id']}: astronaut.png × {', '.join(names)}", err=True)
            with progress_bar(job) as bar:
                job = client.wait(job["id"], on_update=lambda j: update_bar(bar, j), timeout_s=600)
            if job["status"] != "succeeded":
                raise ClientError(0, f"the demo job ended {job['status']}: {[i.get('error') for i in job['items']]}")
            local = {photo["id"]: LocalInput(SAMPLES / "astronaut.png", Path("astronaut.png"))}
            for path in download_all(client, plan_downloads([job], local, out_dir, overwrite=True), threads=4):
                click.echo(str(path.resolve()))
        except (StackError, ClientError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(3)
        finally:
            stack.stop()
