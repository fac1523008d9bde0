"""``python -m omeconv``: the command line (:mod:`omeconv.cli`)."""

from omeconv.cli import main

main()
