"""Seed the 26 public built-in styles of the multi-style network.

They are ordinary ``styles`` rows (public: ``tenant_id`` NULL) so listing, naming and job
validation treat built-ins and uploaded styles alike. Ids are fixed (``builtin:0`` ..
``builtin:25``) because clients write them; names are ``builtin-00`` .. ``builtin-25`` since the
pretrained package ships no names for its styles. The table is described inline, not imported
from the models, so this revision keeps working when the models change later.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 22:50:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NUM_BUILTINS = 26

styles = sa.table(
    "styles",
    sa.column("id", sa.String),
    sa.column("tenant_id", sa.String),
    sa.column("name", sa.String),
    sa.column("kind", sa.String),
    sa.column("builtin_index", sa.Integer),
    sa.column("status", sa.String),
    sa.column("defaults", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    now = datetime.now(UTC)
    op.bulk_insert(
        styles,
        [
            {
                "id": f"builtin:{index}",
                "tenant_id": None,
                "name": f"builtin-{index:02d}",
                "kind": "builtin",
                "builtin_index": index,
                "status": "ready",
                "defaults": {},
                "created_at": now,
                "updated_at": now,
            }
            for index in range(NUM_BUILTINS)
        ],
    )


def downgrade() -> None:
    op.execute(styles.delete().where(styles.c.kind == "builtin", styles.c.tenant_id.is_(None)))
