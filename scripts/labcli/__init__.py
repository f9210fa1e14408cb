"""scripts/lab: start, inspect and stop the PetAdoptionsHistory lab (Docker Compose)."""
