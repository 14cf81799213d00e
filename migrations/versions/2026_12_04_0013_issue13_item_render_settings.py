"""What each job item renders with: ``job_items.render_settings`` (issue 13, style defaults applied).

Why a column: a style's stored defaults fill what a job leaves unset, and the job's own values
win; which is which is decided at submission, per item (items of one job may use different
styles), and shown with the item, so it is kept on the item's row.

Revision ID: 0013
Revises: 0004b
Create Date: 2026-12-04 14:20:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0004b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_items") as batch_op:
        batch_op.add_column(sa.Column("render_settings", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_items") as batch_op:
        batch_op.drop_column("render_settings")
