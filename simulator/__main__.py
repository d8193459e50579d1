"""``python -m simulator`` is the ``magsim`` command."""

import sys

from simulator.cli import main

sys.exit(main())
