"""Styles as clients name them, resolved into the ``StyleRef`` each job item keeps.

A client writes ``builtin:N``, a style id, or the name of one of its styles (public names such as
``electric-ribbons`` work too, and so do the built-ins' former names ``builtin-03``). Resolution
happens once, at submission: vectors (and the styles' names) are copied into the item, so renaming
or deleting a style later does not change a job already submitted.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.common import is_valid_id, visible_styles
from shared.db import Style, StyleKind, StyleStatus
from shared.errors import BadInputError
from shared.schemas.jobs import StyleChoice
from shared.schemas.networks import NetworkRef
from shared.schemas.style_refs import StyleComponentRef, StyleRef

_FORMER_BUILTIN_NAME = re.compile(r"builtin-(\d{2})")  # built-ins' names before they were descriptive


def find_style(session: Session, tenant_id: str, name: str) -> Style | None:
    """The style ``name`` refers to for this tenant: an id first, then its own name, then a public name."""
    if is_valid_id(name):
        style = session.scalar(select(Style).where(Style.id == name, visible_styles(tenant_id)))
        if style is not None:
            return style
    own = session.scalar(select(Style).where(Style.tenant_id == tenant_id, Style.name == name))
    if own is not None:
        return own
    former = _FORMER_BUILTIN_NAME.fullmatch(name)
    if former is not None:
        return session.get(Style, f"builtin:{int(former.group(1))}")
    return session.scalar(select(Style).where(Style.tenant_id.is_(None), Style.name == name))


def resolve_usable_style(session: Session, tenant_id: str, name: str) -> Style:
    """The style ``name`` refers to, which must be ready to render with (400 naming it otherwise)."""
    style = find_style(session, tenant_id, name)
    if style is None:
        raise BadInputError(f"unknown style {name!r}", details={"style": name})
    if style.status != StyleStatus.READY or (style.kind == StyleKind.VECTOR and style.vector is None):
        raise BadInputError(f"style {name} is not ready ({style.status})", details={"style": name})
    return style


def component_ref(style: Style, weight: float) -> StyleComponentRef:
    """One resolved ingredient: the built-in index, a copy of the stored vector, or the network's file and options."""
    if style.kind == StyleKind.BUILTIN:
        return StyleComponentRef(weight=weight, builtin=style.builtin_index, style_id=style.id)
    if style.kind == StyleKind.NETWORK:
        network = NetworkRef.from_columns(style.network_key, style.network_format, style.network_options)
        return StyleComponentRef(weight=weight, network=network, style_id=style.id)
    return StyleComponentRef(
        weight=weight, vector=list(style.vector or []), style_id=style.id, source_key=style.source_key
    )


def _refuse_network_blends(group: list[StyleChoice], components: list[StyleComponentRef]) -> None:
    """A user network is a whole style: its output cannot be mixed inside any network (400)."""
    networks = [choice.style for choice, part in zip(group, components, strict=True) if part.network is not None]
    if networks and len(group) > 1:
        raise BadInputError(
            f"network style {networks[0]!r} cannot be blended with other styles; render it on its own"
            " (kind multi_style without blend renders each style separately)",
            details={"style": networks[0]},
        )


def resolve_style_groups(session: Session, tenant_id: str, groups: list[list[StyleChoice]]) -> list[StyleRef]:
    """One ``StyleRef`` per group (per output of each input), labelled as the client wrote the styles."""
    resolved: dict[str, Style] = {}
    refs = []
    for group in groups:
        if sum(choice.weight for choice in group) <= 0:
            raise BadInputError("the weights of a style blend must not all be zero")
        components = []
        for choice in group:
            if choice.style not in resolved:
                resolved[choice.style] = resolve_usable_style(session, tenant_id, choice.style)
            components.append(component_ref(resolved[choice.style], choice.weight))
        _refuse_network_blends(group, components)
        refs.append(
            StyleRef(
                label="+".join(choice.style for choice in group),
                components=components,
                name="+".join(resolved[choice.style].name for choice in group),
            )
        )
    return refs
