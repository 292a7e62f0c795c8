"""``python -m chainrule``: the same program as the ``chainrule`` command (see :mod:`chainrule.cli`)."""
import sys

from chainrule.cli import main

if __name__ == "__main__":
    sys.exit(main())
