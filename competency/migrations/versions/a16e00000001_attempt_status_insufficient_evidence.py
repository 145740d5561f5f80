"""attempt status "insufficient": closed with too little evidence for a level

Revision ID: a16e00000001
Revises: a1e5c0de0001
Create Date: 2026-12-05 01:55:00

"""
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


def downgrade():
    op.execute("UPDATE attempt SET status = 'graded' WHERE status = 'insufficient'")
    _replace(_OLD)
