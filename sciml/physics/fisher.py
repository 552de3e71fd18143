"""Moved to :mod:`sciml.physics.problems.fisher`; this name stays importable for existing code and checkpoints."""

import sys

from sciml.physics.problems import fisher as _moved

sys.modules[__name__] = _moved
