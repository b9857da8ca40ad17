"""Pure deciding: the decision function, the schedule and the rules that shape what it sees.

No I/O here: no asyncio, sqlite, sockets, kazoo or serial (tests/test_boundaries.py).
"""
