"""expert and programme officer roles

Revision ID: a1e5c0de0001
Revises: 73f14290281c
Create Date: 2026-12-05 01:00:00

"""
from alembic import op

revision = 'a1e5c0de0001'
down_revision = '73f14290281c'
branch_labels = None
depends_on = None

_OLD = "role IN ('platform_admin', 'institution_admin', 'trainer', 'teacher', 'student')"
_NEW = ("role IN ('platform_admin', 'institution_admin', 'trainer', 'teacher', 'student', "
        "'expert', 'programme_officer')")


def _replace(check: str) -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_account_role_valid'), type_='check')
        batch_op.create_check_constraint('role_valid', check)


def upgrade():
    _replace(_NEW)


def downgrade():
    _replace(_OLD)
