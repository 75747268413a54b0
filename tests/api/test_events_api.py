"""Billing posts events over HTTP: awards answered once, resends replayed, every bad field named."""
from __future__ import annotations

import threading

import pytest

from api_helpers import CATALOGUE, NOW, assert_problem, bearer, build_app
from ingest_support import AN_PHAT, contract_signed, customer_upserted, invoice_paid, points_of, ruleset
from loyalty.engine.model import Ruleset
from loyalty.services.ingest import MAX_BATCH

INVOICE_POINTS = """
    programme: business-points
    name: "Tích điểm cho doanh nghiệp"
    rules:
      - id: points-on-paid-invoice
        on: invoice.paid
        when:
          segment: {in: [sme, enterprise]}
        then:
          points: {per: 10000, of: event.amount, max: 5000}
          expires_after: P12M
    """


def rules_with_catalogue() -> Ruleset:
    rules = ruleset(INVOICE_POINTS)
    return Ruleset(version=rules.version, programmes=rules.programmes, rewards=CATALOGUE)


@pytest.fixture
def client(store):
    """An app whose rules give a point per 10,000 VND paid, on 25 November 2026."""
    return build_app(store, LOYALTY_RULESET=rules_with_catalogue(), LOYALTY_CLOCK=lambda: NOW).test_client()


@pytest.fixture
def billing(client, key_for):
    """Post as billing, once Công ty An Phát (C001) is known."""
    headers = bearer(key_for("billing"))

    def post(path: str, body: object):
        return client.post(f"/api/v1{path}", json=body, headers=headers)

    assert post("/events", customer_upserted("evt-customer")).status_code == 201
    return post


def test_an_invoice_paid_answers_201_with_the_points_it_earned(billing):
    response = billing("/events", invoice_paid("evt-inv-1", 5_000_000))
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["event_id"] == "evt-inv-1"
    [award] = body["awards"]
    assert (award["rule_id"], award["points"], award["expires_on"]) == ("points-on-paid-invoice", 500, "2027-11-25")
    assert body["stopped"] == [] and body["clawed_back"] == []
    assert "replayed" not in body


def test_the_same_event_again_answers_200_with_the_same_body_and_gives_nothing_twice(billing, client, key_for):
    first = billing("/events", invoice_paid("evt-inv-1", 5_000_000))
    again = billing("/events", invoice_paid("evt-inv-1", 5_000_000))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    balance = client.get("/api/v1/customers/C001/balance", headers=bearer(key_for("billing")))
    assert balance.get_json()["reward_points"] == 500


def test_the_same_id_with_another_body_is_refused_with_409(billing):
    billing("/events", invoice_paid("evt-inv-1", 5_000_000))
    body = assert_problem(billing("/events", invoice_paid("evt-inv-1", 7_000_000)), 409)
    assert "evt-inv-1" in body["detail"] and "new id" in body["detail"]


def test_a_bad_envelope_is_422_naming_every_field_that_does_not_fit(billing):
    event = invoice_paid("", 5_000_000, occurred_at="2026-11-25T10:00:00")
    event["type"] = "invoice.payed"
    body = assert_problem(billing("/events", event), 422)
    assert set(body["errors"]) == {"id", "type", "occurred_at"}
    assert body["errors"]["occurred_at"] == ["must carry a time zone (Z or an offset)"]


def test_a_bad_payload_names_its_data_fields(billing):
    event = invoice_paid("evt-bad", -5)
    event["data"]["colour"] = "đỏ"
    body = assert_problem(billing("/events", event), 422)
    assert body["errors"] == {"data.amount": ["must be >= 0"], "data.colour": ["unknown field"]}


def test_an_event_for_a_customer_never_sent_is_refused_as_out_of_order(billing):
    body = assert_problem(billing("/events", invoice_paid("evt-x", 100_000, customer_id="C999")), 409)
    assert "C999" in body["detail"] and "earlier event" in body["detail"]


def test_vietnamese_names_arrive_intact(billing, client, key_for):
    event = contract_signed("evt-sign", "HĐ-001", 3_000_000, customer_id="C002",
                            customer={**AN_PHAT, "name": "Công ty TNHH Thương mại Ánh Dương"})
    assert billing("/events", event).status_code == 201
    response = client.put("/api/v1/customers/C002", json={"region": "Thừa Thiên Huế"},
                          headers=bearer(key_for("billing")))
    assert response.get_json()["name"] == "Công ty TNHH Thương mại Ánh Dương"
    assert "Thừa Thiên Huế" in response.get_data(as_text=True)


def test_a_batch_answers_each_event_in_order_and_a_bad_one_stops_nothing(billing):
    billing("/events", invoice_paid("evt-old", 1_000_000))
    events = [
        invoice_paid("evt-b1", 2_000_000),
        invoice_paid("evt-old", 1_000_000),
        invoice_paid("evt-old", 9_000_000),
        invoice_paid("evt-b4", -1),
        "not an event",
        invoice_paid("evt-b6", 3_000_000, customer_id="C999"),
        invoice_paid("evt-b7", 4_000_000),
    ]
    response = billing("/events/batch", {"events": events})
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert [(r["index"], r["event_id"], r["status"]) for r in results] == [
        (0, "evt-b1", "created"), (1, "evt-old", "replayed"), (2, "evt-old", "conflict"),
        (3, "evt-b4", "invalid"), (4, None, "invalid"), (5, "evt-b6", "conflict"), (6, "evt-b7", "created"),
    ]
    assert [r["result"]["awards"][0]["points"] for r in results if r["status"] == "created"] == [200, 400]
    assert results[3]["problem"]["errors"] == {"data.amount": ["must be >= 0"]}
    assert all(r["problem"] is None for r in results if r["status"] in ("created", "replayed"))


def test_a_refused_event_in_a_batch_carries_the_problem_it_would_get_alone(billing):
    event = invoice_paid("evt-alone", 5_000, customer_id="C404")
    alone = billing("/events", event).get_json()
    [in_batch] = billing("/events/batch", {"events": [event]}).get_json()["results"]
    assert in_batch["problem"] == alone


def test_a_replay_in_a_batch_is_the_single_answer_again(billing):
    single = billing("/events", invoice_paid("evt-inv-1", 5_000_000)).get_json()
    [line] = billing("/events/batch", {"events": [invoice_paid("evt-inv-1", 5_000_000)]}).get_json()["results"]
    assert (line["status"], line["result"]) == ("replayed", single)


def test_a_batch_over_the_limit_is_refused_whole_naming_the_limit(billing):
    events = [invoice_paid(f"evt-{n}", 10_000) for n in range(MAX_BATCH + 1)]
    body = assert_problem(billing("/events/batch", {"events": events}), 422)
    assert body["errors"] == {"events": [f"give 1 to {MAX_BATCH} events in one batch"]}
    assert billing("/events", invoice_paid("evt-0", 10_000)).status_code == 201  # nothing of it was applied


def test_a_batch_needs_its_events_under_one_known_key(billing):
    body = assert_problem(billing("/events/batch", {"events": [], "evnts": []}), 422)
    assert set(body["errors"]) == {"events", "evnts"}


def test_the_hand_written_event_answer_is_what_its_schema_dumps():
    from datetime import date

    from api.events import EventResultSchema, event_body
    from loyalty.services.ingest_result import ClawedBack, GivenAward, IngestResult, Stopped

    given = GivenAward(7, "r-1", "p-1", "v1", "granted", contract_id="K-1", points=250, status_points=10,
                       expires_on=date(2027, 11, 25), vests_on=date(2026, 12, 1), reward=None,
                       membership="gold", tier="gold", goodwill=None)
    bare = GivenAward(8, "r-2", "p-1", "v1", "pending_approval", goodwill=50_000)
    for result in (IngestResult("evt-1"),
                   IngestResult("evt-2", replayed=True, awards=[given, bare],
                                stopped=[Stopped("r-3", "once_per", "already given this year")],
                                clawed_back=[ClawedBack(5, "r-4", 100, shortfall=30)])):
        assert event_body(result) == EventResultSchema().dump(result)


def test_a_burst_of_single_events_from_several_connections_is_answered_as_if_each_came_alone(billing, client,
                                                                                             key_for, store):
    headers = bearer(key_for("billing"))
    events = [invoice_paid(f"evt-burst-{n}", 100_000 * (n + 1)) for n in range(8)]
    events.append(events[3])  # billing resends one while the burst is still being answered
    barrier, answers = threading.Barrier(len(events)), [None] * len(events)

    def post(index: int) -> None:
        own = client.application.test_client()  # a connection of its own
        barrier.wait()
        answers[index] = own.post("/api/v1/events", json=events[index], headers=headers)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(events))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = [a.status_code for a in answers]
    assert statuses[:3] + statuses[4:8] == [201] * 7
    assert sorted([statuses[3], statuses[8]]) == [200, 201]  # one applied it, the other replays that answer
    assert answers[3].get_json() == answers[8].get_json()
    assert [a.get_json()["awards"][0]["points"] for a in answers[:8]] == [10 * (n + 1) for n in range(8)]
    assert points_of(store, "C001")[0] == 10 * sum(range(1, 9))
