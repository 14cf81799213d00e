"""Which local files a ``stylefarm submit`` sends, and how its ``--style`` values read.

Folders are walked for images and videos by extension (a catalogue folder usually also holds
sidecar files, which are skipped with a note); each input keeps its path relative to the folder it
came from, so downloads can mirror the catalogue's layout.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import click

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"})

Media = Literal["image", "video"]
T = TypeVar("T")


@dataclass(frozen=True)
class LocalInput:
    """One file to upload; ``relative`` is its path below the folder it was found in (or its name)."""

    path: Path
    relative: Path

    @property
    def media(self) -> Media:
        return "video" if self.path.suffix.lower() in VIDEO_SUFFIXES else "image"


@dataclass
class FoundInputs:
    inputs: list[LocalInput]
    skipped: list[Path]


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def find_inputs(paths: Iterable[Path], recursive: bool = True) -> FoundInputs:
    """Files as given (whatever their extension: the farm judges them); folders give their images and videos.

    A folder's files come in sorted order, so batches, job contents and output names are the same
    on every run. Hidden files and folders (``.name``) are ignored, other files are ``skipped``.
    """
    found = FoundInputs([], [])
    for path in paths:
        if not path.is_dir():
            found.inputs.append(LocalInput(path, Path(path.name)))
            continue
        for file in sorted(path.rglob("*") if recursive else path.glob("*")):
            if not file.is_file() or _is_hidden(file, path):
                continue
            if file.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                found.inputs.append(LocalInput(file, file.relative_to(path)))
            else:
                found.skipped.append(file)
    return found


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def parse_style(value: str) -> tuple[str, float | None]:
    """``NAME`` or ``NAME:WEIGHT``; ``builtin:N`` is a name (``builtin:N:WEIGHT`` weights it)."""
    name, sep, tail = value.rpartition(":")
    if not sep or not name or name == "builtin":
        return value, None
    try:
        weight = float(tail)
    except ValueError:
        return value, None  # a style name with a colon in it
    if not math.isfinite(weight) or weight < 0:
        raise click.BadParameter(f"the weight in {value!r} must be a finite number >= 0", param_hint="--style")
    return name, weight


def style_choices(values: Sequence[str], weights: Sequence[float], blend: bool) -> list[dict[str, object]]:
    """The job's ``styles`` list from ``--style`` values and the optional ``--weight`` list."""
    parsed = [parse_style(value) for value in values]
    inline = [weight for _, weight in parsed if weight is not None]
    if inline and weights:
        raise click.UsageError("give blend weights either as --style NAME:WEIGHT or with --weight, not both")
    if weights and len(weights) != len(values):
        raise click.UsageError(f"got {len(weights)} --weight values for {len(values)} --style values")
    if (inline or weights) and len(values) > 1 and not blend:
        raise click.UsageError("weights only mean something in a blend: add --blend")
    final = list(weights) if weights else [1.0 if weight is None else weight for _, weight in parsed]
    return [{"style": name, "weight": weight} for (name, _), weight in zip(parsed, final, strict=True)]
