"""Deprecated old path of :mod:`sciml.physics.data._parallel`; importing it warns once and it goes in the next release.

Checkpoints that name classes under the old path still load: the model registry keeps the old
class paths as aliases, without importing this module.
"""

import sys
import warnings

from sciml.physics.data import _parallel as _moved

warnings.warn(
    "sciml.physics._parallel is deprecated and will be removed in the next release; "
    "import sciml.physics.data._parallel instead",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
