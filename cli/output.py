"""What the client commands print: short lines for people, one JSON document for scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.download import PlannedDownload
from cli.inputs import LocalInput


def progress_text(job: dict[str, Any]) -> str:
    progress = job.get("progress", {})
    return (
        f"items {progress.get('items_done', 0)}/{progress.get('items_total', 0)},"
        f" tiles {progress.get('tiles_done', 0)}/{progress.get('tiles_total', 0)}"
    )


def job_line(job: dict[str, Any]) -> str:
    return f"{job['id']} {job['status']}: {progress_text(job)}"


def item_line(item: dict[str, Any], local: LocalInput | None = None) -> str:
    source = str(local.path) if local else item.get("input_name") or item["input_id"]
    style = item.get("style_name") or item.get("style_label", "")
    line = f"  {item['position']:>3} {item['status']:<9} {source} × {style}"
    return f"{line}: {item['error']}" if item.get("error") else line


def batch_document(
    jobs: list[dict[str, Any]],
    inputs: dict[str, LocalInput],
    downloads: list[PlannedDownload],
    skipped: list[Path],
    exit_code: int | None,
) -> dict[str, Any]:
    """The jobs as the farm reported them, each item with the local file it came from and where it was saved."""
    saved = {plan.item["id"]: str(plan.destination) for plan in downloads}
    documented = []
    for job in jobs:
        items = [
            {
                **item,
                "input_path": str(inputs[item["input_id"]].path) if item["input_id"] in inputs else None,
                "output_path": saved.get(item["id"]),
            }
            for item in job.get("items", [])
        ]
        documented.append({**job, "items": items})
    return {
        "jobs": documented,
        "outputs": [str(plan.destination) for plan in downloads],
        "skipped": [str(path) for path in skipped],
        "exit_code": exit_code,
    }


def print_batch_result(
    jobs: list[dict[str, Any]], inputs: dict[str, LocalInput], downloads: list[PlannedDownload]
) -> None:
    """Finished jobs for people: problems and a tally on stderr, saved files (or job lines) on stdout."""
    for job in jobs:
        for item in job["items"]:
            if item["status"] != "succeeded":
                click.echo(item_line(item, inputs.get(item["input_id"])), err=True)
    for plan in downloads:
        click.echo(str(plan.destination))
    if not downloads:
        for job in jobs:
            click.echo(job_line(job))
    counts: dict[str, int] = {}
    for job in jobs:
        for item in job["items"]:
            counts[item["status"]] = counts.get(item["status"], 0) + 1
    tally = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    click.echo(f"{len(jobs)} job(s), items: {tally}", err=True)


def print_table(rows: list[list[str]]) -> None:
    """Left-aligned columns, as wide as their widest cell."""
    if not rows:
        return
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
