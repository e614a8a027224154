"""``python -m <package>.compare``: see the package's docstring."""

from ..errors import run_command
from .command import main

if __name__ == "__main__":
    run_command(main)
