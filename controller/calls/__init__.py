"""Calls seen by the PBX: call events, the callback list, daily statistics.

``build_call_log(settings, timezone, state_dir, notifier)`` is in ``controller.calls.service``.
"""
