from __future__ import annotations

from pathlib import Path

import pytest

from tests.vlmhb_server.harness import copy_server


@pytest.fixture(scope="session")
def server_pythonpath(tmp_path_factory) -> Path:
    """A folder holding the server as EnvManager installs it: a package named vlmhb_server."""
    return copy_server(tmp_path_factory.mktemp("server-pkg"))
