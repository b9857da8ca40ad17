"""``python -m controller.cli.main``: the ``hotline`` command."""

from controller.cli.main import main

raise SystemExit(main())
