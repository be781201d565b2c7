"""`make deploy` of older checkouts: the command is `vlmhb deploy` (flows/cli/deploy.py) now."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from a checkout

from flows.cli.deploy import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(prog="deployments/deploy.py"))
