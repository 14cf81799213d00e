"""One naming scheme for every output a person downloads: ``<input>__<style>.<ext>``.

Why shared: the job page's single downloads, the job's zip and the CLI's ``--download`` must name
the same output the same way, by the input's file name and the style's name (not ids), so a
file found later says what it is. Names keep letters and digits of any script and ``_.+-``.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

from shared.keys import OUTPUT_EXTENSIONS

_UNSAFE = re.compile(r"[^\w.+-]+")  # \w: letters and digits of any script, and _
MAX_PART = 120  # characters of one sanitised name part; whole names stay under common 255-byte limits


def sanitise(text: str, fallback: str = "output") -> str:
    """A portable file-name part: letters, digits and ``_.+-`` only, no dots or dashes at the ends, never empty."""
    cleaned = _UNSAFE.sub("-", text).strip("-.")[:MAX_PART]
    return cleaned or fallback


def style_display_name(style_ref: dict[str, Any] | None) -> str:
    """The style (or blend) of an item by its styles' names, as resolved at submission.

    Items submitted before names were recorded fall back to the label the client wrote.
    """
    ref = style_ref or {}
    return str(ref.get("name") or ref.get("label") or "style")


def extension_for(output_format: str | None) -> str:
    output_format = output_format or "png"
    return OUTPUT_EXTENSIONS.get(output_format, sanitise(output_format))


def output_stem(input_name: str, style_name: str) -> str:
    """``<input stem>__<style>``, both parts sanitised (``input_name`` may carry an extension)."""
    return f"{sanitise(PurePath(input_name).stem, 'input')}__{sanitise(style_name, 'style')}"


def output_file_name(input_name: str, style_name: str, output_format: str | None) -> str:
    """The file name of one output: ``<input stem>__<style>.<ext>``."""
    return f"{output_stem(input_name, style_name)}.{extension_for(output_format)}"


def numbered(name: str, taken: set[str]) -> str:
    """``name``, or ``stem-2.ext``, ``stem-3.ext``... the first not in ``taken`` (case-insensitive); records it."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    counter = 1
    while True:
        candidate = name if counter == 1 else f"{stem}-{counter}{dot}{extension}"
        if candidate.casefold() not in taken:
            taken.add(candidate.casefold())
            return candidate
        counter += 1
