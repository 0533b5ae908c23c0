"""``python -m restoration.cli``: the ``cogd`` command."""

import sys

from . import main

sys.exit(main())
