"""Moved to :mod:`sciml.physics.data._parallel`; this name stays importable for existing code and checkpoints."""

import sys

from sciml.physics.data import _parallel as _moved

sys.modules[__name__] = _moved
