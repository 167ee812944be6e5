"""``python -m vidaug``: the ``vidaug`` command."""

from vidaug.cli import main

main()
