"""The demo lab: every peer on loopback, the controller in the same process (``hotline demo``)."""
