"""Local development: DEBUG on unless said otherwise (used by `make run`)."""

import os

os.environ.setdefault("DEBUG", "1")

from epr.settings.base import *  # noqa: F403
