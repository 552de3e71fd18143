"""Moved to :mod:`sciml.physics.data.geometry`; this name stays importable for existing code and checkpoints."""

import sys

from sciml.physics.data import geometry as _moved

sys.modules[__name__] = _moved
