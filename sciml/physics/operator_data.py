"""Moved to :mod:`sciml.physics.operator.data`; this name stays importable for existing code and checkpoints."""

import sys

from sciml.physics.operator import data as _moved

sys.modules[__name__] = _moved
