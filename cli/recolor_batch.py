"""``stylefarm submit --colorize-from/--hints``: the exemplar and hints of each scan in a batch (issue 15).

Each option is one file for every scan, or a folder holding one file per scan with the same name
(``scans/box3/scan_017.tif`` takes ``hints/box3/scan_017.png``, else ``hints/scan_017.png``);
``--colorize-from`` may also name a style of the farm. Every file is uploaded once, whatever the
number of scans that use it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from cli.client import FarmClient
from cli.inputs import IMAGE_SUFFIXES, LocalInput


def _by_name(folder: Path, local: LocalInput) -> Path | None:
    """The image in ``folder`` with the scan's name (its relative path first, then the folder's top)."""
    for stem in (folder / local.relative.with_suffix(""), folder / local.relative.stem):
        for suffix in sorted(IMAGE_SUFFIXES):
            for candidate in (stem.with_suffix(suffix), stem.with_suffix(suffix.upper())):
                if candidate.is_file():
                    return candidate
    return None


@dataclass
class RecolorSources:
    """Where each scan's colours come from; ``fields`` uploads them and names them in a job body."""

    colorize_from: str | None = None  # a file, a folder or a style name
    hints: Path | None = None  # a file or a folder
    _uploaded: dict[Path, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def active(self) -> bool:
        return self.colorize_from is not None or self.hints is not None

    def _exemplar_path(self) -> Path | None:
        if self.colorize_from is None:
            return None
        path = Path(self.colorize_from)
        return path if path.exists() else None  # otherwise a style name, sent as it is

    def sources(self, local: LocalInput) -> tuple[Path | str | None, Path | None]:
        """(exemplar file or style name, hints file) of one scan."""
        exemplar: Path | str | None = self.colorize_from
        if (path := self._exemplar_path()) is not None:
            exemplar = _by_name(path, local) if path.is_dir() else path
        hints = self.hints
        if hints is not None and hints.is_dir():
            hints = _by_name(hints, local)
        return exemplar, hints

    def check(self, inputs: list[LocalInput]) -> None:
        """A usage error naming the scans that would have neither an exemplar nor hints."""
        if not self.active:
            return
        if any(local.media != "image" for local in inputs):
            raise click.UsageError("--colorize-from and --hints colour still images; leave videos out")
        missing = [str(local.relative) for local in inputs if self.sources(local) == (None, None)]
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise click.UsageError(f"no exemplar or hints file with the name of {len(missing)} scan(s): {shown}")

    def _upload_id(self, client: FarmClient, path: Path) -> str:
        with self._lock:
            known = self._uploaded.get(path)
        if known is None:
            known = client.upload(path, "image")["id"]
            with self._lock:
                self._uploaded[path] = known
        return known

    def fields(self, client: FarmClient, chunk: list[LocalInput]) -> dict[str, Any]:
        """``colorize_from`` and ``hints`` of a job body for ``chunk``: one value, or one per scan."""
        body: dict[str, Any] = {}
        pairs = [self.sources(local) for local in chunk]
        for name, values in (("colorize_from", [p[0] for p in pairs]), ("hints", [p[1] for p in pairs])):
            named = [self._upload_id(client, v) if isinstance(v, Path) else v for v in values]
            if any(v is not None for v in named):
                body[name] = named[0] if len(set(named)) == 1 else named
        return body
