"""``stylefarm pause|resume|retry|download JOB``: act on one job that is already at the farm.

Like the other client commands these talk to the farm over HTTP only. ``download`` saves a job's
outputs as ``<input>__<style>.<ext>`` (the names the web page and the zip use; inputs are named
by their uploaded file names, since the local files may be elsewhere by now).
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.client import ClientError
from cli.download import download_all, plan_downloads
from cli.exit_codes import EXIT_CODES_HELP, ExitCode, exit_code_for_jobs
from cli.inputs import LocalInput
from cli.options import echo_json, fail, farm_client, farm_options
from cli.output import item_line, job_line
from cli.settings import ClientSettings


def _control(job_id: str, action: str, api_url: str | None, api_key: str | None, as_json: bool) -> None:
    try:
        job = farm_client(api_url, api_key).control(job_id, action)
    except ClientError as error:
        fail(error)
    if as_json:
        echo_json(job)
        return
    click.echo(job_line(job))
    for item in job["items"] if action == "retry" else []:
        if item["status"] == "queued":
            click.echo(item_line(item))


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("job_id")
@farm_options
def pause(job_id: str, api_url: str | None, api_key: str | None, as_json: bool) -> None:
    """Pause a job: no further item starts (running items finish) until it is resumed."""
    _control(job_id, "pause", api_url, api_key, as_json)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("job_id")
@farm_options
def resume(job_id: str, api_url: str | None, api_key: str | None, as_json: bool) -> None:
    """Resume a paused job: its waiting items go back to the workers."""
    _control(job_id, "resume", api_url, api_key, as_json)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("job_id")
@farm_options
def retry(job_id: str, api_url: str | None, api_key: str | None, as_json: bool) -> None:
    """Queue a finished job's failed items again (its succeeded outputs are kept)."""
    _control(job_id, "retry", api_url, api_key, as_json)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("job_id")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder to save the outputs in.")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace files of the same name (default: take the next free name).")
@farm_options
def download(
    job_id: str, out_dir: Path, overwrite: bool, api_url: str | None, api_key: str | None, as_json: bool
) -> None:
    """Save a job's finished outputs as <input>__<style>.<ext>; exit 1 if some items failed."""
    client = farm_client(api_url, api_key)
    try:
        job = client.job(job_id)
        local = {
            item["input_id"]: LocalInput(Path(item["input_name"]), Path(item["input_name"]))
            for item in job["items"]
            if item.get("input_name")
        }
        planned = plan_downloads([job], local, out_dir, overwrite=overwrite)
        saved = download_all(client, planned, threads=ClientSettings().cli_io_threads)
    except ClientError as error:
        fail(error)
    if as_json:
        echo_json({"job": job, "outputs": [str(path) for path in saved]})
    else:
        for path in saved:
            click.echo(str(path))
    if not saved:
        click.echo(f"job {job_id} has no finished outputs yet ({job['status']})", err=True)
    raise SystemExit(exit_code_for_jobs([job["status"]]) if saved else ExitCode.JOB_FAILED)
