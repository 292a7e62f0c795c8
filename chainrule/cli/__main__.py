"""``python -m chainrule.cli``: the same program as the ``chainrule`` command."""
import sys

from chainrule.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
