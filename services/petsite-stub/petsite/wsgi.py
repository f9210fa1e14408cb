"""gunicorn's entry point: `gunicorn petsite.wsgi:app` (config in gunicorn.conf.py)."""
from petsite import create_app

app = create_app()
