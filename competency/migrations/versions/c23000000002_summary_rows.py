"""summary rows: level counts per cohort assignment and per institution (kept up to date when graded), cohort composition

Revision ID: c23000000002
Revises: c23000000001
Create Date: 2026-12-05 03:45:00

The tables start empty: each assignment's and institution's counts are built from the stored results
the first time they are read (services.summary_rows), then moved with every graded result.
"""
import sqlalchemy as sa
from alembic import op

import competency

revision = 'c23000000002'
down_revision = 'c23000000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('summary_scope',
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('built_at', competency.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scope', name=op.f('pk_summary_scope'))
    )
    op.create_table('assignment_level_count',
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=1), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['cohort_assignment.id'], name=op.f('fk_assignment_level_count_assignment_id_cohort_assignment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('assignment_id', 'kind', 'code', 'level', name=op.f('pk_assignment_level_count'))
    )
    op.create_table('assignment_member',
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('graded_attempt_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['cohort_assignment.id'], name=op.f('fk_assignment_member_assignment_id_cohort_assignment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_assignment_member_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('assignment_id', 'user_id', name=op.f('pk_assignment_member'))
    )
    op.create_table('institution_level_count',
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=120), nullable=False),
    sa.Column('teacher_category', sa.String(length=32), nullable=False),
    sa.Column('career_stage', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('teachers', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_institution_level_count_institution_id_institution'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('institution_id', 'department', 'teacher_category', 'career_stage', 'level', name=op.f('pk_institution_level_count'))
    )
    op.create_table('institution_teacher',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=120), nullable=False),
    sa.Column('teacher_category', sa.String(length=32), nullable=False),
    sa.Column('career_stage', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_institution_teacher_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_institution_teacher'))
    )
    op.create_table('cohort_profile_count',
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('target_role', sa.String(length=32), nullable=False),
    sa.Column('specialty_industry', sa.String(length=64), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohort.id'], name=op.f('fk_cohort_profile_count_cohort_id_cohort'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('cohort_id', 'role', 'target_role', 'specialty_industry', name=op.f('pk_cohort_profile_count'))
    )
    with op.batch_alter_table('cohort_membership', schema=None) as batch_op:
        batch_op.create_index('ix_cohort_membership_user_id', ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('cohort_membership', schema=None) as batch_op:
        batch_op.drop_index('ix_cohort_membership_user_id')
    op.drop_table('cohort_profile_count')
    op.drop_table('institution_teacher')
    op.drop_table('institution_level_count')
    op.drop_table('assignment_member')
    op.drop_table('assignment_level_count')
    op.drop_table('summary_scope')
