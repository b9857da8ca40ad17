"""Alerts: incidents opened and resolved by the controller's signals, sent by SMS and e-mail."""
