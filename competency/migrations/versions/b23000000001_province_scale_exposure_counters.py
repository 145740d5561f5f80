"""province scale: running exposure counters, result levels as rows, indexes for keyset pages and windows

Revision ID: b23000000001
Revises: 20a000000001
Create Date: 2026-12-05 01:30:00

"""
import sqlalchemy as sa
from alembic import op

import competency

revision = 'b23000000001'
down_revision = '20a000000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('exposure_tally',
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('response_mark', sa.Integer(), nullable=False),
    sa.Column('attempt_mark', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('refreshed_at', competency.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_exposure_tally_assessment_id_assessment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('assessment_id', name=op.f('pk_exposure_tally'))
    )
    op.create_table('item_exposure',
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('item_code', sa.String(length=64), nullable=False),
    sa.Column('administered', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_item_exposure_assessment_id_assessment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('assessment_id', 'item_code', name=op.f('pk_item_exposure'))
    )
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.create_index('ix_attempt_assessment_user_started', ['assessment_id', 'user_id', 'started_at'], unique=False)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index('ix_user_account_institution_username', ['institution_id', 'username'], unique=False)
        batch_op.create_index('ix_user_account_display_name_id', ['display_name', 'id'], unique=False)
    # The counters start empty: the first refresh of each assessment counts its history once.
    op.create_table('result_level',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=1), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_result_level_attempt_id_attempt'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attempt_id', 'kind', 'code', name=op.f('pk_result_level'))
    )
    _backfill_result_levels()


def _backfill_result_levels() -> None:
    """Rows for the results graded before this migration, read in batches."""
    import json

    from competency.services.result_levels import rows_for

    bind = op.get_bind()
    attempt = sa.table('attempt', sa.column('id', sa.Integer), sa.column('status', sa.String), sa.column('result', sa.Text))
    level = sa.table('result_level', sa.column('attempt_id'), sa.column('kind'), sa.column('code'), sa.column('level'))
    last = 0
    while True:
        batch = bind.execute(
            sa.select(attempt.c.id, attempt.c.result)
            .where(attempt.c.status == 'graded', attempt.c.result.is_not(None), attempt.c.id > last)
            .order_by(attempt.c.id)
            .limit(2000)
        ).all()
        if not batch:
            return
        rows = []
        for attempt_id, raw in batch:
            result = json.loads(raw) if isinstance(raw, str) else raw
            rows.extend(rows_for(attempt_id, result if isinstance(result, dict) else None))
        if rows:
            bind.execute(level.insert(), rows)
        last = batch[-1][0]


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index('ix_user_account_display_name_id')
        batch_op.drop_index('ix_user_account_institution_username')
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_assessment_user_started')
    op.drop_table('result_level')
    op.drop_table('item_exposure')
    op.drop_table('exposure_tally')
