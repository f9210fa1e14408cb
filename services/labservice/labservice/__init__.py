"""What the lab's Flask + PostgreSQL services share beyond the walkthrough's instrumentation: the
DB_* settings, the connection pool, JSON errors and logs, the health route, the start of the app
factory, gunicorn's settings and hooks, and the HTTP client PetSite calls pethistory with.
PetAdoptionsHistory and the PetSite stub import it; each adds its own settings, SQL, routes and
telemetry (see README.md beside this package)."""
