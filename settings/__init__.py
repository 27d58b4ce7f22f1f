"""The stack's settings: one validated, frozen model read from the Pulumi config.

Validation runs before any resource exists, and a bad value stops the program with one message that
names the key, the bad value and a valid example. The package, by concern:

    constants.py  names the stack fixes (project, containers)
    networks.py   the IPv4 ranges AKS and Azure storage reserve or refuse, and the range checks
    types.py      a pydantic type per kind of value (CIDRs, VM sizes, names, images, paths)
    model.py      Settings: every field with its type, default, description and example
    rules.py      the rules across fields, as small named functions the model runs in stages
    errors.py     SettingsError and the one-line message per bad value
    support.py    AKS's support calendar for the Kubernetes version, and the advisories
    reading.py    parse (a config dict in) and from_pulumi_config (the running stack; its CLOCK)

Importers use the names below (`from settings import Settings, parse`). The clock the support calendar
reads is settings.reading.CLOCK, replaced there by the tests.
"""

from settings.constants import DATASETS_CONTAINER, PROJECT, RESULTS_CONTAINER
from settings.errors import SettingsError
from settings.model import Settings, example
from settings.networks import EXAMPLE_PUBLIC_CIDR
from settings.reading import from_pulumi_config, parse
from settings.support import advisories, kubernetes_support

__all__ = [
    "DATASETS_CONTAINER",
    "EXAMPLE_PUBLIC_CIDR",
    "PROJECT",
    "RESULTS_CONTAINER",
    "Settings",
    "SettingsError",
    "advisories",
    "example",
    "from_pulumi_config",
    "kubernetes_support",
    "parse",
]
