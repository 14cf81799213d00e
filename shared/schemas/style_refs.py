"""The resolved style of one job item (``JobItem.style_ref``), as the API stores it and workers read it.

Each item's ``style_ref`` is the style (or blend) resolved at submission time, with stored vectors
copied in, so a job keeps working even if a style is renamed or deleted. Why a module of its own:
it used to live in ``jobs.py``, which ``optimize.py``'s submission check needed, while ``jobs.py``
imported ``optimize.py``: the two imported each other.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.schemas.networks import NetworkRef


class StyleComponentRef(BaseModel):
    """One resolved ingredient: a built-in index, a stored 100-number vector, or a user network."""

    weight: float
    builtin: int | None = Field(default=None, ge=0, le=25)
    vector: list[float] | None = None
    network: NetworkRef | None = None  # a user network style: never blended with others
    style_id: str | None = None
    source_key: str | None = None  # the style image in storage (method optimize's Gram targets)


class StyleRef(BaseModel):
    """The resolved style of one item, with a label for file names and listings."""

    label: str
    components: list[StyleComponentRef]
    name: str | None = None  # the styles' names at submission ("electric-ribbons+wave"): file names, pages
    masks: dict[str, str] = Field(default_factory=dict)  # mask upload id → its storage key (issue 13)
