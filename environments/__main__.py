"""python -m environments build|list|prune ...: the command `vlmhb env` (flows/cli/env.py), by its
module name of the contract."""

import sys

from flows.cli.env import main

if __name__ == "__main__":
    sys.exit(main())
