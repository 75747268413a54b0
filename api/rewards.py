"""GET /rewards: the reward catalogue, named in the caller's language."""
from __future__ import annotations

import marshmallow as ma
from flask import request
from flask.views import MethodView

from api.auth import ANY_ROLE, roles
from api.blueprint import Blueprint
from api.context import current_store
from loyalty.services.catalogue import DEFAULT_LOCALE, list_rewards

LOCALES = ("vi", "en")

blp = Blueprint("rewards", __name__, url_prefix="/rewards", description="The reward catalogue")


class RewardSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    points_cost = ma.fields.Integer(required=True)
    stock_left = ma.fields.Integer(required=True, allow_none=True,
                                   metadata={"description": "items neither redeemed nor given free by a rule; "
                                                            "null: unlimited"})
    per_customer_limit = ma.fields.Integer(required=True, allow_none=True,
                                           metadata={"description": "null: no limit"})
    value = ma.fields.Integer(required=True, allow_none=True,
                              metadata={"description": "face value in VND, when it has one"})


class CatalogueSchema(ma.Schema):
    locale = ma.fields.String(required=True)
    items = ma.fields.List(ma.fields.Nested(RewardSchema), required=True)


def requested_locale() -> str:
    """The best of our languages for Accept-Language; Vietnamese when none fits."""
    return request.accept_languages.best_match(LOCALES, default=DEFAULT_LOCALE) or DEFAULT_LOCALE


@blp.route("")
class Rewards(MethodView):
    @roles(*ANY_ROLE)
    @blp.response(200, CatalogueSchema)
    def get(self):
        """List the rewards on offer, in the language of Accept-Language (vi or en)."""
        locale = requested_locale()
        headers = {"Content-Language": locale, "Vary": "Accept-Language"}
        return {"locale": locale, "items": list_rewards(current_store(), locale)}, 200, headers
