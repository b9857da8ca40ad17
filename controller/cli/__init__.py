"""The ``hotline`` command (``main``): config, probe, modem and operator subcommands."""
