"""``python -m equity_helpers``: the ``equity-workbook`` command."""
from equity_helpers.run.cli import entry

entry()
