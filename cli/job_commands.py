"""Client commands of ``stylefarm`` that drive jobs over HTTP: submit, status, cancel, list.

They never touch the database or storage directly, so they work against a remote farm. Exit
codes are listed in ``cli.options`` (and in ``--help``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import click

from cli.batch import submit_batches
from cli.client import ClientError, FarmClient
from cli.control_options import control_options, controls_from, job_controls
from cli.download import PlannedDownload, plan_downloads
from cli.early_downloads import EarlyDownloads
from cli.exit_codes import EXIT_CODES_HELP, ExitCode, exit_code_for_jobs
from cli.inputs import LocalInput, find_inputs, style_choices
from cli.options import echo_json, fail, farm_client, farm_options, follow_options
from cli.output import batch_document, item_line, job_line, print_batch_result, print_table
from cli.progress import JobStalled, wait_all
from cli.recolor_batch import RecolorSources
from cli.recolor_options import recolor_options
from cli.settings import ClientSettings

JOB_STATUSES = ["queued", "running", "paused", "succeeded", "failed", "canceled"]


def _follow(
    client: FarmClient,
    jobs: list[dict[str, Any]],
    show_progress: bool,
    stall_timeout_s: float,
    on_poll: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Wait for the jobs; on Ctrl-C (or a job that stopped changing) say that they go on without us."""
    try:
        return wait_all(client, jobs, show_progress, stall_timeout_s, on_poll=on_poll)
    except JobStalled as stalled:
        click.echo(f"\n{stalled}", err=True)
        sys.exit(ExitCode.STALLED)
    except KeyboardInterrupt:
        ids = " ".join(job["id"] for job in jobs)
        click.echo(f"\nstopped waiting; the jobs go on at the farm (stylefarm status JOB): {ids}", err=True)
        sys.exit(ExitCode.INTERRUPTED)


def _note_skipped(skipped: list[Path]) -> None:
    if skipped:
        shown = ", ".join(str(path) for path in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        click.echo(f"note: skipped {len(skipped)} file(s) that are not images or videos: {shown}", err=True)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--style",
    "styles",
    multiple=True,
    help="builtin:N, a style id or your style's name; NAME:WEIGHT gives a blend weight. Repeat for more.",
)
@click.option("--weight", "weights", multiple=True, type=float, help="Blend weight per --style, in order.")
@click.option("--blend", is_flag=True, help="One output per input, blending the styles (default: one per style).")
@click.option("--strength", type=click.FloatRange(0, 1), default=None, help="Default: the style's, else 1.")
@click.option(
    "--color",
    "color_mode",
    type=click.Choice(["stylized", "preserve", "recolor"]),
    default=None,
    help="Default: the style's, else stylized.",
)
@click.option("--format", "output_format", type=click.Choice(["png", "jpeg", "webp", "tiff"]), default="png")
@click.option("--quality", type=click.IntRange(1, 100), default=92, show_default=True)
@click.option("--max-side", type=click.IntRange(16), default=None, help="Downscale outputs to this long side.")
@click.option("--working-side", type=click.IntRange(16), default=None, help="Style scale (long side in px).")
@click.option("--tile", type=click.IntRange(64), default=None, help="Tile side in pixels (default: the farm's).")
@click.option("--priority", type=click.IntRange(-100, 100), default=0, show_default=True)
@click.option("--preview", is_flag=True, help="A quick small render (the farm's preview_side).")
@click.option("--recursive/--no-recursive", default=True, show_default=True, help="Walk sub-folders of folders.")
@click.option(
    "--chunk-size", type=click.IntRange(1, 1000), default=None, help="Inputs per job (setting cli_chunk_size)."
)
@click.option(
    "--threads", type=click.IntRange(1, 32), default=None, help="Parallel transfers (setting cli_io_threads)."
)
@click.option("--idempotency-key", default=None, help="Resubmitting with the same key returns the same job(s).")
@click.option("--wait", is_flag=True, help="Wait for the jobs, with a progress bar per job.")
@click.option(
    "--download",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Wait, then save outputs here as <input>__<style>.<ext>.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing files in --download (default: pick a free name).")
@click.option(
    "--progress/--no-progress", "show_progress", default=True, help="Progress bars on stderr (off with --json)."
)
@recolor_options(exemplar_may_be_a_style=True)
@follow_options
@farm_options
@control_options
def submit(
    paths: tuple[Path, ...],
    styles: tuple[str, ...],
    weights: tuple[float, ...],
    blend: bool,
    strength: float | None,
    color_mode: str | None,
    output_format: str,
    quality: int,
    max_side: int | None,
    working_side: int | None,
    tile: int | None,
    priority: int,
    preview: bool,
    recursive: bool,
    chunk_size: int | None,
    threads: int | None,
    idempotency_key: str | None,
    wait: bool,
    download: Path | None,
    overwrite: bool,
    show_progress: bool,
    stall_timeout_s: float,
    api_url: str | None,
    api_key: str | None,
    as_json: bool,
    colorize_from: str | None,
    hints: Path | None,
    chroma_smoothing: float | None,
    **flags: Any,
) -> None:
    """Upload PATHS (image or video files, or folders of them) and render them in the given styles.

    Several --style values give one output per style; with --blend, one blended output per input.
    With --colorize-from and/or --hints (instead of --style), colour black-and-white scans.
    Without --wait, prints the id of each job (one job per chunk of inputs).
    """
    settings = ClientSettings()
    recolor = RecolorSources(colorize_from, hints)
    if bool(styles) == recolor.active:
        raise click.UsageError("give --style, or --colorize-from/--hints to colour scans (not both)")
    client = farm_client(api_url, api_key, settings)
    controls = controls_from(flags)
    controls.check(len(styles))
    params: dict[str, Any] = {
        "kind": "multi_style" if len(styles) > 1 and not blend else "image",
        "styles": style_choices(styles, weights, blend),
        "blend": blend,
        "strength": strength,
        "color_mode": color_mode,
        "output_format": output_format,
        "quality": quality,
        "max_output_side": max_side,
        "working_side": working_side,
        "tile_size": tile,
        "priority": priority,
        "preview": preview,
    }
    params["chroma_smoothing"] = chroma_smoothing
    params = {name: value for name, value in params.items() if value is not None}  # unset: the style's defaults
    try:
        params = job_controls(client, controls, params)  # uploads mask files once, for every chunk
    except ClientError as error:
        fail(error)
    found = find_inputs(paths, recursive)
    _note_skipped(found.skipped)
    if not found.inputs:
        raise click.UsageError("no images or videos found in the given paths")
    recolor.check(found.inputs)
    threads = threads or settings.cli_io_threads
    jobs: list[dict[str, Any]] = []
    uploaded: dict[str, LocalInput] = {}
    downloads: list[PlannedDownload] = []
    early = EarlyDownloads(client, download, threads) if download else None  # outputs fetched as they finish
    try:
        chunk_size = chunk_size or settings.cli_chunk_size
        extra = partial(recolor.fields, client) if recolor.active else None
        batches = submit_batches(client, found.inputs, params, chunk_size, threads, uploaded, idempotency_key, extra)
        for job in batches:
            jobs.append(job)  # one by one: after an error, the jobs already made are still listed
        if wait or download:
            on_poll = early.offer if early else None
            jobs = _follow(client, jobs, show_progress and not as_json, stall_timeout_s, on_poll)
        if download and early:
            downloads = plan_downloads(jobs, uploaded, download, overwrite)
            early.finish(downloads)
    except ClientError as error:
        if jobs:
            click.echo(f"jobs submitted before the error: {' '.join(job['id'] for job in jobs)}", err=True)
        fail(error)
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted; jobs submitted so far: {' '.join(job['id'] for job in jobs) or 'none'}", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    finally:
        if early is not None:
            early.close()  # a no-op after finish; otherwise drops the fetches in flight and their files
    waited = bool(wait or download)
    code = exit_code_for_jobs(job["status"] for job in jobs) if waited else ExitCode.OK
    if as_json:
        echo_json(batch_document(jobs, uploaded, downloads, found.skipped, int(code)))
    elif waited:
        print_batch_result(jobs, uploaded, downloads)
    else:
        for job in jobs:
            click.echo(job["id"])
    sys.exit(code)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("job_id")
@click.option("--wait", is_flag=True, help="Follow the job until it finishes; exit with its code.")
@follow_options
@farm_options
def status(
    job_id: str, wait: bool, stall_timeout_s: float, api_url: str | None, api_key: str | None, as_json: bool
) -> None:
    """Show a job's state and progress (items and tiles) and each item's outcome."""
    client = farm_client(api_url, api_key)
    try:
        job = _follow(client, [client.job(job_id)], not as_json, stall_timeout_s)[0] if wait else client.job(job_id)
    except ClientError as error:
        fail(error)
    if as_json:
        echo_json(job)
    else:
        click.echo(job_line(job))
        for item in job["items"]:
            click.echo(item_line(item))
    sys.exit(exit_code_for_jobs([job["status"]]) if wait else ExitCode.OK)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("job_id")
@farm_options
def cancel(job_id: str, api_url: str | None, api_key: str | None, as_json: bool) -> None:
    """Cancel a job: queued items never run, running items stop between tiles."""
    try:
        job = farm_client(api_url, api_key).cancel(job_id)
    except ClientError as error:
        fail(error)
    if as_json:
        echo_json(job)
    else:
        click.echo(job_line(job))


@click.command("list", epilog=EXIT_CODES_HELP)
@click.option(
    "--status", "status_filter", type=click.Choice(JOB_STATUSES), default=None, help="Only jobs in this state."
)
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True, help="At most this many, newest first.")
@farm_options
def list_jobs(status_filter: str | None, limit: int, api_url: str | None, api_key: str | None, as_json: bool) -> None:
    """List your jobs, newest first."""
    try:
        jobs = farm_client(api_url, api_key).jobs(status_filter, limit)
    except ClientError as error:
        fail(error)
    if as_json:
        echo_json(jobs)
        return
    print_table(
        [[job["id"], job["status"], job["kind"], str(job["created_at"])[:19], (job.get("error") or "")] for job in jobs]
    )
