"""The WSGI entry point for production servers: `gunicorn api.wsgi:app` (see docs/api.md)."""
from api import create_app

app = create_app()
