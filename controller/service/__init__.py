"""The controller as people reach it: the service contract (``contract``) the API and CLI use,
and its implementation over the loop and the coordinator (``impl``).
"""
