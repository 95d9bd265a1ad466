"""`python -m attnrec` runs the command line."""

from attnrec.cli import main

main()
