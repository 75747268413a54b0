"""A customer's balance and ledger over HTTP: points, pending, status, tier, expiry, in their own zone."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from api.points import BalanceSchema, balance_body
from api_helpers import CATALOGUE, NOW, assert_problem, bearer, build_app
from ingest_support import contract_signed, customer_upserted, invoice_paid, ruleset
from loyalty.engine.model import Ruleset
from loyalty.services.customer_view import customer_balance
from loyalty.services.ingest import ingest

PROGRAMME = """
    programme: cham-soc
    name: "Chăm sóc khách hàng"
    rules:
      - id: points-on-invoice
        on: invoice.paid
        when:
          segment: {in: [home, sme, enterprise]}
        then:
          points: {per: 10000, of: event.amount}
          expires_after: P20D
      - id: status-on-invoice
        on: invoice.paid
        then:
          status_points: 50
          tier: bac
      - id: welcome
        on: contract.signed
        then:
          points: 300
          expires_after: P12M
          pending_days: 30
    """
LAN = {"name": "Nguyễn Thị Lan", "segment": "home", "customer_since": "2023-05-02"}


def rules() -> Ruleset:
    loaded = ruleset(PROGRAMME)
    return Ruleset(version=loaded.version, programmes=loaded.programmes, rewards=CATALOGUE)


@pytest.fixture
def lan(store):
    """Chị Lan (customer lan): a contract signed, two invoices paid, on 25 November 2026."""
    given = rules()
    for event in (customer_upserted("e-1", "lan", **LAN), contract_signed("e-2", "HD-LAN", 300_000, customer_id="lan"),
                  invoice_paid("e-3", 1_000_000, customer_id="lan"), invoice_paid("e-4", 500_000, customer_id="lan")):
        ingest(store, given, event, NOW)
    return "lan"


def client_at(store, moment: datetime = NOW):
    return build_app(store, LOYALTY_RULESET=rules(), LOYALTY_CLOCK=lambda: moment).test_client()


def test_chi_lan_sees_spendable_pending_and_status_points_her_tier_and_what_expires_soon(store, key_for, lan):
    response = client_at(store).get("/api/v1/customers/lan/balance", headers=bearer(key_for("customer", "lan")))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {
        "customer_id": "lan", "as_of": "2026-11-25T10:00:00+07:00", "today": "2026-11-25",
        "time_zone": "Asia/Ho_Chi_Minh", "reward_points": 150, "pending_points": 300, "status_points": 100,
        "tier": "bac", "vesting": [{"points": 300, "vests_on": "2026-12-25"}], "expiring_points": 150,
        "expiring_soon": [{"points": 150, "expires_on": "2026-12-15", "last_day": "2026-12-14"}],
    }


def test_the_balance_answer_is_what_its_documented_schema_dumps(store, lan):
    for moment in (NOW, datetime(2026, 12, 20, 3, 0, tzinfo=timezone.utc)):
        view = customer_balance(store, "lan", moment)
        assert balance_body(view) == BalanceSchema().dump(view)
    assert view.expiring_soon == [] and view.vesting  # the second moment: nothing expiring, points vesting


def test_a_customer_without_points_gets_the_same_balance_as_the_full_sum_gives(store, lan):
    """No lots takes a shortcut past `summarise`; its answer is what the summing gives for no lots."""
    from loyalty.services import customer_view
    from loyalty.store.ledger.queries import held_points, summarise

    ingest(store, rules(), customer_upserted("e-9", "minh", **(LAN | {"name": "Trần Văn Minh"})), NOW)
    view = customer_balance(store, "minh", NOW)
    held = held_points(store.engine, "minh")
    assert held.lots == []
    summed = summarise("minh", [], held.status_points, view.today, within_days=customer_view.EXPIRING_WITHIN_DAYS)
    assert (view.reward_points, view.pending_points, view.status_points, view.vesting, view.expiring_soon,
            view.expiring_points, view.tier) == (summed.reward_points, summed.pending_points,
                                                 summed.status_points, [], [], 0, held.tier)
    assert balance_body(view) == BalanceSchema().dump(view)
    assert customer_balance(store, "lan", NOW).reward_points == 150  # with lots: the full sum


def test_the_balance_route_answers_head_options_and_other_methods_as_any_route(store, key_for, lan):
    """The view skips MethodView's and flask-smorest's wrappers: Flask still answers these itself."""
    client, headers = client_at(store), bearer(key_for("billing"))
    path = "/api/v1/customers/lan/balance"
    got = client.get(path, headers=headers)
    head = client.head(path, headers=headers)
    assert (head.status_code, head.headers["Content-Length"], head.get_data()) == (200, got.headers["Content-Length"], b"")
    assert got.headers["Cache-Control"] == "private, no-store"
    assert set(client.options(path).headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert_problem(client.post(path, headers=headers, json={}), 405)
    assert_problem(client.get(path), 401)
    assert_problem(client.get(path, headers={"Authorization": "Basic abc"}), 401)


def test_the_balance_is_counted_on_the_customers_own_day(store, key_for, lan):
    evening_in_utc = datetime(2026, 12, 14, 18, 30, tzinfo=timezone.utc)  # 15 December, 01:30 in Hà Nội
    body = client_at(store, evening_in_utc).get("/api/v1/customers/lan/balance",
                                                headers=bearer(key_for("billing"))).get_json()
    assert (body["today"], body["as_of"]) == ("2026-12-15", "2026-12-15T01:30:00+07:00")
    assert (body["reward_points"], body["expiring_soon"]) == (0, [])


def test_another_zone_shows_its_own_offset(store, key_for, lan):
    ingest(store, rules(), customer_upserted("e-5", "lan", time_zone="Europe/Berlin"), NOW)
    body = client_at(store).get("/api/v1/customers/lan/balance", headers=bearer(key_for("marketing"))).get_json()
    assert (body["as_of"], body["time_zone"]) == ("2026-11-25T04:00:00+01:00", "Europe/Berlin")


def test_a_customer_cannot_see_another_customers_points(store, key_for, lan):
    client = client_at(store)
    for path in ("/api/v1/customers/lan/balance", "/api/v1/customers/lan/ledger"):
        body = assert_problem(client.get(path, headers=bearer(key_for("customer", "minh"))), 404)
        assert body["detail"] == "Customer 'lan' is not known to the engine."


def test_an_unknown_customer_has_no_balance_and_no_ledger(store, key_for):
    client = client_at(store)
    for path in ("/api/v1/customers/nobody/balance", "/api/v1/customers/nobody/ledger"):
        assert_problem(client.get(path, headers=bearer(key_for("billing"))), 404)


def test_the_ledger_lists_newest_first_with_what_caused_each_entry(store, key_for, lan):
    response = client_at(store).get("/api/v1/customers/lan/ledger", headers=bearer(key_for("customer", "lan")))
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_json()
    assert page["next_cursor"] is None
    seen = [(e["kind"], e["account"], e["points"], e["balance_after"], e["rule_id"]) for e in page["items"]]
    assert seen == [
        ("earn", "status", 50, 100, "status-on-invoice"),
        ("earn", "available", 50, 150, "points-on-invoice"),
        ("earn", "status", 50, 50, "status-on-invoice"),
        ("earn", "available", 100, 100, "points-on-invoice"),
        ("earn", "pending", 300, 300, "welcome"),
    ]
    newest = page["items"][0]
    assert newest["at"] == "2026-11-25T10:00:00+07:00"
    assert newest["programme_id"] == "cham-soc" and newest["reference"] == f"award:{newest['award_id']}"
    assert "e-4" in newest["reason"]
    ids = [e["entry_id"] for e in page["items"]]
    assert ids == sorted(ids, reverse=True)


def test_the_ledger_pages_by_cursor_without_losing_or_repeating_an_entry(store, key_for, lan):
    client, headers = client_at(store), bearer(key_for("billing"))
    everything = client.get("/api/v1/customers/lan/ledger", headers=headers).get_json()["items"]
    pages, cursor = [], None
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/customers/lan/ledger", query_string=query, headers=headers).get_json()
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [e for p in pages for e in p] == everything


@pytest.mark.parametrize("query, field", [({"limit": 201}, "limit"), ({"limit": 0}, "limit"),
                                          ({"cursor": "not-ours"}, "cursor"), ({"cursor": "WyJ4Il0"}, "cursor"),
                                          ({"limt": 5}, "limt")])
def test_a_ledger_query_that_does_not_fit_is_422_naming_the_field(store, key_for, lan, query, field):
    response = client_at(store).get("/api/v1/customers/lan/ledger", query_string=query,
                                    headers=bearer(key_for("billing")))
    assert field in assert_problem(response, 422)["errors"]


def test_a_customer_without_points_sees_zeros_and_an_empty_ledger(store, key_for):
    ingest(store, rules(), customer_upserted("e-1", "minh", name="Trần Văn Minh", segment="home"), NOW)
    client, headers = client_at(store), bearer(key_for("customer", "minh"))
    body = client.get("/api/v1/customers/minh/balance", headers=headers).get_json()
    assert (body["reward_points"], body["pending_points"], body["status_points"], body["tier"]) == (0, 0, 0, None)
    assert client.get("/api/v1/customers/minh/ledger", headers=headers).get_json() == {"items": [], "next_cursor": None}
