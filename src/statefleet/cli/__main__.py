"""``python -m statefleet.cli``."""

import sys

from statefleet.cli import main

sys.exit(main())
