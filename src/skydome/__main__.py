"""`python -m skydome` is the `skydome` command."""

from skydome.cli import main

main()
