"""Moved to :mod:`sciml.physics.operator.networks`; this name stays importable for existing code and checkpoints."""

import sys

from sciml.physics.operator import networks as _moved

sys.modules[__name__] = _moved
