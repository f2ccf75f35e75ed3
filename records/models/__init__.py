from records.models.alerts import *  # noqa: F403
from records.models.allergies import *  # noqa: F403
from records.models.careplans import *  # noqa: F403
from records.models.core import *  # noqa: F403
from records.models.escalation import *  # noqa: F403
from records.models.notes import *  # noqa: F403
from records.models.observations import *  # noqa: F403
from records.models.subject_access import *  # noqa: F403
