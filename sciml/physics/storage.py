"""Moved to :mod:`sciml.physics.data.storage`; this name stays importable for existing code and checkpoints."""

import sys

from sciml.physics.data import storage as _moved

sys.modules[__name__] = _moved
