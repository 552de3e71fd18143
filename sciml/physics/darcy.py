"""Moved to :mod:`sciml.physics.problems.darcy`; this name stays importable for existing code and checkpoints."""

import sys

from sciml.physics.problems import darcy as _moved

sys.modules[__name__] = _moved
