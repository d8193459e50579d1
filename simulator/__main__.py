"""``python -m simulator`` is the ``magsim`` command."""

from simulator.cli import console

console()
