"""Moved to :mod:`sciml.physics.problems.heat`; this name stays importable for existing code and checkpoints."""

import sys

from sciml.physics.problems import heat as _moved

sys.modules[__name__] = _moved
