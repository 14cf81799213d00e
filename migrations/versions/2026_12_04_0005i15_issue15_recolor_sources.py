"""Where an item's colours come from: ``job_items.recolor_sources`` (issue 15).

Why a column: a colourised item reads an exemplar image (an upload or a style's image) and/or a
hints image from storage; the API resolves them per input at submission (the storage keys), as it
resolves styles into ``style_ref``, so a worker never looks names up and a renamed style or a
removed upload name does not change a queued job.

Revision ID: 0005i15
Revises: 0016
Create Date: 2026-12-04 14:20:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005i15"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_items") as batch_op:
        batch_op.add_column(sa.Column("recolor_sources", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_items") as batch_op:
        batch_op.drop_column("recolor_sources")
