"""The chaos lab (issue #18): real calls through the emulated GSM network under faults.

Parts, each usable alone (benchmarks, the demo, tests/lab):

- :mod:`lab.sip` — Kamailio trunks, sipp PBX nodes, one sipp UAC per call;
- :mod:`lab.udp_proxy` — loss / silence / delay in front of a trunk;
- :mod:`lab.dialplan` — line numbers → SIP trunks, technicians' mobiles → emulated handsets;
- :mod:`lab.callers` — the caller generator (calls at a steady rate, PBX call events);
- :mod:`lab.schedule` — the seeded, bounded fault schedule; :mod:`lab.faults` its injectors;
- :mod:`lab.runner` — starts everything on loopback and plays the schedule;
- :mod:`lab.oracle` — what callers got, from the emulator's records, not the controller's;
- :mod:`lab.report` — JSON and a Markdown table.
"""
