"""``python -m wordlens``: the same as the ``wordlens`` command."""

import sys

from wordlens.cli import main

sys.exit(main())
