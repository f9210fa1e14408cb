"""What the lab's Flask + PostgreSQL services share beyond telemetry (that is `labtelemetry`):
the DB_* settings, the connection pool, JSON errors, health and metrics routes, the start of the
app factory, and gunicorn's settings and hooks. PetAdoptionsHistory and the PetSite stub import it;
each adds only its own settings, SQL and routes."""
