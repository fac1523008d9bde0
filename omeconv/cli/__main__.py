"""``python -m omeconv.cli``: the command line."""

from omeconv.cli import main

main()
