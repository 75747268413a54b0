"""`loyalty serve`: the API on Flask's development server (production runs gunicorn, docs/api.md)."""
from __future__ import annotations

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--debug/--no-debug", default=False, help="Reload on code changes; never in production.")
def serve(host: str, port: int, debug: bool) -> None:
    """Run the HTTP API for development, reading LOYALTY_DATABASE_URL and LOYALTY_RULES_DIR."""
    from api import create_app  # the CLI is a composition root; import the web app only here

    create_app().run(host=host, port=port, debug=debug)
