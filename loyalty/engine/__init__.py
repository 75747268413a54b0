"""Rule files -> validated model -> compiled predicates (Python and SQL) -> decide, explain.

Pure: facts in, decisions out. No database session, no clock: the date is always passed in.
"""
