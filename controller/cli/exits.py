"""Exit codes of every ``hotline`` subcommand: 0 done, 1 refused by the world (not alive, not
verified, refused by the controller), 2 bad input (usage, config, arguments).

``hotline status`` alone follows the check-command convention (Nagios, Icinga, Sensu): 0 OK, 1
WARNING (degraded), 2 CRITICAL (outage, route not verified), 3 UNKNOWN (no answer); its bad input
exits 2 like everything else, but no check system runs it with bad input twice.
"""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1
EXIT_BAD_INPUT: Final = 2

CHECK_OK: Final = 0
CHECK_WARNING: Final = 1
CHECK_CRITICAL: Final = 2
CHECK_UNKNOWN: Final = 3
EXIT_BROKEN_PIPE: Final = 141  # as a shell reports a process ended by SIGPIPE (128 + 13)
