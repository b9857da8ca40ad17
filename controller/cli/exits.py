"""Exit codes of every ``hotline`` subcommand: 0 done, 1 refused by the world (not alive, not
verified, refused by the controller), 2 bad input (usage, config, arguments)."""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1
EXIT_BAD_INPUT: Final = 2
