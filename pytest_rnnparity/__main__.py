"""``python -m pytest_rnnparity``: the ``rnnparity`` command line."""

from pytest_rnnparity.cli.main import main

raise SystemExit(main())
