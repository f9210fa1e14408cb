"""`python -m labcli ...`: what scripts/lab runs."""
import sys

from .cli import main

sys.exit(main())
