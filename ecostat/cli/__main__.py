"""``python -m ecostat.cli``: the command line."""

from ecostat.cli import main_exit

main_exit()
