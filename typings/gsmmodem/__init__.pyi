"""python-gsmmodem-new: only the ``pdu`` and ``exceptions`` modules are used (modem/pdu.py)."""
