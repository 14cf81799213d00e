"""``python -m cli`` runs the ``stylefarm`` command line."""

from cli.main import main

main()
