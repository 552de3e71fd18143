"""Deprecated old path of :mod:`sciml.physics.problems.heat`; importing it warns once and it goes in the next release.

Checkpoints that name classes under the old path still load: the model registry keeps the old
class paths as aliases, without importing this module.
"""

import sys
import warnings

from sciml.physics.problems import heat as _moved

warnings.warn(
    "sciml.physics.heat is deprecated and will be removed in the next release; "
    "import sciml.physics.problems.heat instead",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
