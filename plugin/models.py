"""Imports every table module so `Base.metadata` is complete (Alembic, tests)."""

from plugin.backfill import models as backfill_models
from plugin.db import Base
from plugin.inbox import models as inbox_models
from plugin.outbox import models as outbox_models
from plugin.predictions import models as prediction_models
from plugin.privacy import models as privacy_models
from plugin.profiles import facts_models
from plugin.profiles import models as profile_models
from plugin.segments import models as segment_models
from plugin.segments import rfm_models
from plugin.shops import models as shop_models
from plugin.tagsync import models as tagsync_models
from plugin.triggers import models as trigger_models

__all__ = [
    "Base",
    "backfill_models",
    "facts_models",
    "inbox_models",
    "outbox_models",
    "prediction_models",
    "privacy_models",
    "profile_models",
    "rfm_models",
    "segment_models",
    "shop_models",
    "tagsync_models",
    "trigger_models",
]
