"""Moved to :mod:`sciml.physics.operator.predictor`; this name stays importable for existing code and checkpoints."""

import sys

from sciml.physics.operator import predictor as _moved

sys.modules[__name__] = _moved
