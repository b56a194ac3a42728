"""Imports every table module so `Base.metadata` is complete (Alembic, tests)."""

from plugin.db import Base
from plugin.inbox import models as inbox_models
from plugin.privacy import models as privacy_models
from plugin.profiles import models as profile_models
from plugin.segments import models as segment_models
from plugin.segments import rfm_models
from plugin.shops import models as shop_models

__all__ = [
    "Base",
    "inbox_models",
    "privacy_models",
    "profile_models",
    "rfm_models",
    "segment_models",
    "shop_models",
]
