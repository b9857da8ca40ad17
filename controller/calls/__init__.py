"""Calls seen by the PBX: call events, the callback list, daily statistics."""
