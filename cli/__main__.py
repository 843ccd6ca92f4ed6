"""``python -m cli`` runs the same command as ``backstory``."""

from cli.main import main

main()
