"""Moved to :mod:`sciml.physics.data._fd`; this name stays importable for existing code and checkpoints."""

import sys

from sciml.physics.data import _fd as _moved

sys.modules[__name__] = _moved
