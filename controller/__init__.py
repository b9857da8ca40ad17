"""Controller: decision engine, reconcile loop, coordination, API, notifier."""
