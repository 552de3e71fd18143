"""Moved to :mod:`sciml.physics.data.geometry_io`; this name stays importable."""

import sys

from sciml.physics.data import geometry_io as _moved

sys.modules[__name__] = _moved
