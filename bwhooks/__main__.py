"""``python -m bwhooks``: the command line."""

import sys

from bwhooks.cli import main

sys.exit(main())
