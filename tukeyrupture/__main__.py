"""``python -m tukeyrupture``: the command line of :mod:`tukeyrupture.cli`."""

import sys

from tukeyrupture.cli import main

if __name__ == "__main__":
    sys.exit(main())
