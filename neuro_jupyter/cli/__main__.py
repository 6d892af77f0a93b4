"""``python -m neuro_jupyter.cli``: the ``neuro-jupyter`` command."""

from __future__ import annotations

import sys

from . import main

sys.exit(main())
