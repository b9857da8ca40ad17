# Local stubs for pysnmp 7 (no py.typed): only what health/probes uses.
