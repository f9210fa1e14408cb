"""`python -m labbench`: bench/run."""
import sys

from labbench.cli import main

sys.exit(main())
