"""Client commands of ``stylefarm``: submit, status, cancel, styles — over HTTP only.

Exit codes scripts can rely on: 0 done (or accepted without --wait), 1 the job failed or was
canceled, 2 the farm refused the request (bad input, unknown style, auth), 3 the farm could not
be reached or answered with a server error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from api.client import ClientError, FarmClient

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
EXIT_JOB_FAILED, EXIT_REFUSED, EXIT_UNREACHABLE = 1, 2, 3

url_option = click.option("--url", envvar="STYLEFARM_API_URL", default="http://127.0.0.1:8000", show_default=True)
key_option = click.option("--key", envvar="STYLEFARM_API_KEY", default=None, help="API key (or STYLEFARM_API_KEY).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def exit_for(error: ClientError) -> None:
    click.echo(f"error: {error.message}", err=True)
    sys.exit(EXIT_REFUSED if 400 <= error.status < 500 else EXIT_UNREACHABLE)


def expand_inputs(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders contribute their images (sorted), for whole-catalogue runs."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        else:
            found.append(path)
    return found


def progress_bar(job: dict[str, Any]) -> tqdm:
    return tqdm(total=1, unit="tile", desc=f"job {job['id'][:8]}", leave=True)


def update_bar(bar: tqdm, job: dict[str, Any]) -> None:
    progress = job.get("progress", {})
    bar.total = max(progress.get("tiles_total", 0), 1)
    bar.n = progress.get("tiles_done", 0)
    bar.set_postfix_str(f"items {progress.get('items_done', 0)}/{progress.get('items_total', 0)} {job['status']}")
    bar.refresh()


def output_name(item: dict[str, Any], used: set[str], input_names: dict[str, str]) -> str:
    """``<input stem>_<style label>.<ext>``, made unique within one download folder."""
    stem = Path(input_names.get(item.get("input_id", ""), f"item{item['position']}")).stem
    style = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in str(item.get("style_label", "style")))
    fmt = (item.get("output") or {}).get("format") or "png"
    ext = {"jpeg": "jpg", "tiff": "tif"}.get(fmt, fmt)
    name = f"{stem}_{style}.{ext}"
    counter = 2
    while name in used:
        name = f"{stem}_{style}_{counter}.{ext}"
        counter += 1
    used.add(name)
    return name


def download_outputs(
    client: FarmClient, job: dict[str, Any], folder: Path, input_names: dict[str, str] | None = None
) -> list[Path]:
    """Save every finished output, named after its input file (``input_names``: upload id → name)."""
    used: set[str] = set()
    written = []
    for item in job["items"]:
        if item["status"] == "succeeded":
            name = output_name(item, used, input_names or {})
            written.append(client.download(job["id"], item["id"], folder / name))
    return written


def wait_and_report(
    client: FarmClient, job: dict[str, Any], download: Path | None, as_json: bool, input_names: dict[str, str]
) -> None:
    with progress_bar(job) as bar:
        job = client.wait(job["id"], on_update=lambda j: update_bar(bar, j))
    written = download_outputs(client, job, download, input_names) if download else []
    if as_json:
        click.echo(json.dumps({**job, "downloaded": [str(p) for p in written]}, indent=2))
    else:
        for item in job["items"]:
            if item["status"] != "succeeded":
                click.echo(f"item {item['position']}: {item['status']} {item.get('error') or ''}".rstrip(), err=True)
        for path in written:
            click.echo(str(path.resolve()))
    if job["status"] != "succeeded":
        sys.exit(EXIT_JOB_FAILED)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--style", "styles", multiple=True, required=True, help="builtin:N, a style id or your style's name.")
@click.option("--weight", "weights", multiple=True, type=float, help="Weight per --style (blends).")
@click.option("--blend", is_flag=True, help="Blend the styles into one output per input.")
@click.option("--kind", type=click.Choice(["image", "multi_style", "recolor"]), default=None)
@click.option("--strength", type=click.FloatRange(0, 1), default=1.0, show_default=True)
@click.option("--preserve-color", is_flag=True)
@click.option("--recolor", is_flag=True)
@click.option("--format", "output_format", type=click.Choice(["png", "jpeg", "webp", "tiff"]), default="png")
@click.option("--quality", type=click.IntRange(1, 100), default=92, show_default=True)
@click.option("--max-side", type=click.IntRange(16), default=None)
@click.option("--working-side", type=click.IntRange(16), default=None)
@click.option("--priority", type=click.IntRange(-100, 100), default=0, show_default=True)
@click.option("--idempotency-key", default=None, help="Resubmitting with the same key returns the same job.")
@click.option("--wait", is_flag=True, help="Wait for the job, with a progress bar.")
@click.option("--download", type=click.Path(file_okay=False, path_type=Path), default=None, help="Save outputs here.")
@url_option
@key_option
@json_option
def submit(
    paths: tuple[Path, ...],
    styles: tuple[str, ...],
    weights: tuple[float, ...],
    blend: bool,
    kind: str | None,
    strength: float,
    preserve_color: bool,
    recolor: bool,
    output_format: str,
    quality: int,
    max_side: int | None,
    working_side: int | None,
    priority: int,
    idempotency_key: str | None,
    wait: bool,
    download: Path | None,
    url: str,
    key: str | None,
    as_json: bool,
) -> None:
    """Upload PATHS (files or folders of images) and render them in the given styles."""
    if weights and len(weights) != len(styles):
        raise click.UsageError(f"got {len(weights)} --weight values for {len(styles)} --style values")
    if preserve_color and recolor:
        raise click.UsageError("--preserve-color and --recolor are opposites; pick one")
    client = FarmClient(url, key)
    inputs = expand_inputs(paths)
    if not inputs:
        raise click.UsageError("no images found in the given paths")
    body = {
        "kind": kind or ("recolor" if recolor else "multi_style" if len(styles) > 1 and not blend else "image"),
        "styles": [{"style": s, "weight": w} for s, w in zip(styles, weights or [1.0] * len(styles), strict=True)],
        "blend": blend,
        "strength": strength,
        "color_mode": "preserve" if preserve_color else "recolor" if recolor else "stylized",
        "output_format": output_format,
        "quality": quality,
        "max_output_side": max_side,
        "working_side": working_side,
        "priority": priority,
    }
    try:
        input_names = {client.upload(path)["id"]: path.name for path in inputs}
        body["inputs"] = list(input_names)
        job = client.create_job(body, idempotency_key)
        if wait or download:
            wait_and_report(client, job, download, as_json, input_names)
            return
    except ClientError as error:
        exit_for(error)
    click.echo(json.dumps(job, indent=2) if as_json else job["id"])


@click.command()
@click.argument("job_id")
@url_option
@key_option
@json_option
def status(job_id: str, url: str, key: str | None, as_json: bool) -> None:
    """Show a job's state and progress."""
    try:
        job = FarmClient(url, key).job(job_id)
    except ClientError as error:
        exit_for(error)
    if as_json:
        click.echo(json.dumps(job, indent=2))
        return
    progress = job.get("progress", {})
    click.echo(
        f"{job['id']} {job['status']}: items {progress.get('items_done', 0)}/{progress.get('items_total', 0)},"
        f" tiles {progress.get('tiles_done', 0)}/{progress.get('tiles_total', 0)}"
    )
    for item in job["items"]:
        label, error = item.get("style_label", ""), item.get("error") or ""
        click.echo(f"  {item['position']:>3} {item['status']:<9} {label} {error}")


@click.command()
@click.argument("job_id")
@url_option
@key_option
@json_option
def cancel(job_id: str, url: str, key: str | None, as_json: bool) -> None:
    """Cancel a job: queued items never run, running items stop between tiles."""
    try:
        job = FarmClient(url, key).cancel(job_id)
    except ClientError as error:
        exit_for(error)
    click.echo(json.dumps(job, indent=2) if as_json else f"{job['id']} {job['status']}")
