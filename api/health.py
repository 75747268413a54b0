"""GET /health: is the API up, and can it reach its database? Anyone may ask, without a key."""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api.auth import public
from api.blueprint import Blueprint
from api.context import current_store
from loyalty.services.health import database_is_reachable

blp = Blueprint("health", __name__, url_prefix="/health", description="Liveness and database reachability")


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"description": "ok, or unavailable"})
    database = ma.fields.String(required=True, metadata={"description": "ok, or unreachable"})


@blp.route("")
class Health(MethodView):
    @public
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="The database is unreachable")
    def get(self):
        """Report liveness and whether the database answers."""
        if database_is_reachable(current_store()):
            return {"status": "ok", "database": "ok"}
        return {"status": "unavailable", "database": "unreachable"}, 503
