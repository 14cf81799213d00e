"""How to call a user network: ``styles.network_options`` (sha256, value range, tile overlap).

Why a column: a network style needs more than its file and format to run (the pixel range it
was trained on, how much context a tile needs, and the file's hash that workers cache it by);
the API writes it at upload and copies it into every job item that uses the style.

Revision ID: 0004b
Revises: 0003
Create Date: 2026-11-22 00:55:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004b"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("styles") as batch_op:
        batch_op.add_column(sa.Column("network_options", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("styles") as batch_op:
        batch_op.drop_column("network_options")
