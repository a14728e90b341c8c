"""Entry point for ``python -m agent``."""

import sys

from .cli import main

sys.exit(main())
