from datetime import date

from loyalty.store.tables import Customer


def test_vietnamese_names_and_tenure_columns_survive_a_round_trip(store):
    with store.transaction() as session:
        session.add(Customer(id="c1", name="Công ty TNHH An Phát", segment="sme",
                             customer_since=date(2024, 2, 29), region="Hà Nội"))
    with store.reading() as session:
        customer = session.get(Customer, "c1")
    assert customer.name == "Công ty TNHH An Phát"
    assert customer.region == "Hà Nội"
    assert (customer.since_month_index, customer.since_month, customer.since_day) == (2024 * 12 + 1, 2, 29)
    assert customer.created_at.tzinfo is not None
