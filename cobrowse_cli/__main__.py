"""``python -m cobrowse_cli``: the same as the ``cobrowse`` command."""

from cobrowse_cli.cli import main

raise SystemExit(main())
