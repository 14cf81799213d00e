"""Saving a batch's outputs under names a person can read: ``<input-stem>__<style-name>.<ext>``.

Names depend only on the inputs, the styles and the order of the job's items, so a rerun writes the
same files. Inputs found in sub-folders keep their sub-folder below the download folder. Two outputs
that would share a name (``a.png`` and ``a.jpg`` in one style) get ``-2``, ``-3``... in item order;
an existing file is replaced only with ``overwrite`` (otherwise the output takes the next free name).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli.client import FarmClient
from cli.inputs import LocalInput
from cli.threads import map_in_threads
from shared.output_names import extension_for, output_stem, sanitise, style_display_name


@dataclass(frozen=True)
class PlannedDownload:
    item: dict[str, Any]
    destination: Path


class OutputNames:
    """Hands out collision-free paths in one folder, comparing names case-insensitively (as macOS and
    Windows disks do), against each other and, unless ``overwrite``, against files already there."""

    def __init__(self, folder: Path, overwrite: bool) -> None:
        self.folder = folder
        self.overwrite = overwrite
        self.taken: set[str] = set()
        self.listed: set[Path] = set()

    def _note_existing(self, parent: Path) -> None:
        if parent not in self.listed and not self.overwrite and parent.is_dir():
            self.taken.update(str(path).casefold() for path in parent.iterdir())
        self.listed.add(parent)

    def claim(self, relative_stem: Path, extension: str) -> Path:
        parent = self.folder.joinpath(*(sanitise(part) for part in relative_stem.parent.parts))
        self._note_existing(parent)
        stem = relative_stem.name
        counter = 1
        while True:
            candidate = parent / (f"{stem}.{extension}" if counter == 1 else f"{stem}-{counter}.{extension}")
            if str(candidate).casefold() not in self.taken:
                self.taken.add(str(candidate).casefold())
                return candidate
            counter += 1


def _extension(item: dict[str, Any]) -> str:
    return extension_for(str((item.get("output") or {}).get("format") or "png"))


def plan_downloads(
    jobs: list[dict[str, Any]], inputs: dict[str, LocalInput], folder: Path, overwrite: bool = False
) -> list[PlannedDownload]:
    """A destination for every output that can be downloaded, in job order then item order.

    ``inputs`` maps upload ids to the local files they came from; an unknown upload is named by its id.
    Segment items of a video are parts of the joined output and are not downloaded separately.
    """
    names = OutputNames(folder, overwrite)
    planned = []
    for job in jobs:
        for item in sorted(job["items"], key=lambda it: it["position"]):
            if not item.get("download_url") or item.get("role") == "segment":
                continue
            local = inputs.get(item["input_id"])
            relative = local.relative if local else Path(item["input_id"])
            style = item.get("style_name") or style_display_name({"label": item.get("style_label")})
            stem = relative.parent / output_stem(relative.name, style)
            planned.append(PlannedDownload(item, names.claim(stem, _extension(item))))
    return planned


def download_all(client: FarmClient, planned: list[PlannedDownload], threads: int) -> list[Path]:
    """Fetch every planned output through its item's download URL (streamed, or presigned on S3)."""
    return map_in_threads(lambda plan: client.download(plan.item["download_url"], plan.destination), planned, threads)
