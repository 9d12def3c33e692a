"""`python -m cli ...` runs the `closeout` command."""

from cli.main import main

main()
