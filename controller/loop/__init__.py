"""Doing: the reconcile loop that carries decisions out through the actuators, reads the world
back to verify, and records events. The only code that calls an actuator.
"""
