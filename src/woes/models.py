"""Imports every domain's models so that Base.metadata is complete (Alembic, tests)."""

from woes.core.models import IdempotencyRecord  # noqa: F401
from woes.events.models import DomainEvent  # noqa: F401
from woes.jobs.models import EmbeddedJob  # noqa: F401
from woes.keys.models import ApiKey, ApiKeySecret, WidgetKey  # noqa: F401
from woes.members.models import Invite, Member, OperatorSession, User  # noqa: F401
from woes.workspaces.models import Workspace  # noqa: F401
