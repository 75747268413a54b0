"""Use cases in business words, each on a caller's unit of work: ingest an event, redeem, run daily."""
