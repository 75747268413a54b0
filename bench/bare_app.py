"""The yardstick for bench/api.py: a bare Flask JSON endpoint, served by the same gunicorn settings."""
from flask import Flask

app = Flask(__name__)


@app.get("/ping")
def ping():
    """About the size of a balance answer, with nothing behind it."""
    return {"customer_id": "demo-7-1", "reward_points": 1200, "pending_points": 0, "status_points": 0,
            "tier": None, "expiring_soon": []}
