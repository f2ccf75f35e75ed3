from prescribing.models.administration import *  # noqa: F403
from prescribing.models.antimicrobials import *  # noqa: F403
from prescribing.models.catalogue import *  # noqa: F403
from prescribing.models.formulary import *  # noqa: F403
from prescribing.models.prescriptions import *  # noqa: F403
from prescribing.models.stock import *  # noqa: F403
