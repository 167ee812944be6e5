"""``python -m vidaug.cli``: the ``vidaug`` command."""

from vidaug.cli import main

main()
