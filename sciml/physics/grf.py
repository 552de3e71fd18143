"""Moved to :mod:`sciml.physics.data.grf`; this name stays importable for existing code and checkpoints."""

import sys

from sciml.physics.data import grf as _moved

sys.modules[__name__] = _moved
