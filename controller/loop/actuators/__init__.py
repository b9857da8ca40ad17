"""Actuators: the steps that carry a route change out into the world, each idempotent.

``settings`` holds their config models (imported by ``controller.config``); ``base`` the protocol;
one module per kind (modem, kamailio, http, command); ``build`` makes them from the config.
"""
