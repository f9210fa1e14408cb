"""Test support shared by the lab's suites (services/*/tests, tests/*) and bench/; installed
editable from tests/labtest by scripts/test."""
