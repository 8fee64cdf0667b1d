"""``python -m pytest_rnnparity``: the ``rnnparity`` command line."""

from pytest_rnnparity.cli import main

raise SystemExit(main())
