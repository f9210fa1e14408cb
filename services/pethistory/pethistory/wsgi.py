"""gunicorn's entry point: `gunicorn pethistory.wsgi:app` (config in gunicorn.conf.py)."""
from pethistory import create_app

app = create_app()
