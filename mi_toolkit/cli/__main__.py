"""``python -m mi_toolkit.cli``: the ``mi`` command (also what ``accelerate launch -m mi_toolkit.cli`` runs)."""
from mi_toolkit.cli import main

main()
