"""attempt status "insufficient" (too little evidence for a level); certificate.certified (class, range, accuracy)

Revision ID: a16e00000001
Revises: a1e5c0de0001
Create Date: 2026-12-05 01:55:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a16e00000001'
down_revision = 'a1e5c0de0001'
branch_labels = None
depends_on = None

_OLD = "status IN ('started', 'in_progress', 'finished', 'timed_out', 'graded')"
_NEW = "status IN ('started', 'in_progress', 'finished', 'timed_out', 'graded', 'insufficient')"


def _replace(check: str) -> None:
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_attempt_status_valid'), type_='check')
        batch_op.create_check_constraint('status_valid', check)


def upgrade():
    _replace(_NEW)
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certified', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_column('certified')
    op.execute("UPDATE attempt SET status = 'graded' WHERE status = 'insufficient'")
    _replace(_OLD)
