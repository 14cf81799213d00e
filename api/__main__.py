"""``python -m api`` runs the ``stylefarm`` command line."""

from api.cli import main

main()
