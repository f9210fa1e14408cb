"""scripts/lab: start, inspect and stop the PetAdoptionsHistory lab (Docker Compose); also the
lab console page (python -m labcli.console)."""
