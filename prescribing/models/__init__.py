from prescribing.models.catalogue import *  # noqa: F403
