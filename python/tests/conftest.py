"""Shared fixtures: the source tree, the C++ CLI and a copy of the fixture state."""
import os
import pathlib
import shutil

import pytest

SOURCE_ROOT = pathlib.Path(os.environ.get("MODELPIN_SOURCE_ROOT", pathlib.Path(__file__).resolve().parents[2]))
FIXTURES = SOURCE_ROOT / "fixtures"


@pytest.fixture
def state(tmp_path):
    """A writable copy of fixtures/state (config + auth store with anthropic:work etc.)."""
    dest = tmp_path / "state"
    shutil.copytree(FIXTURES / "state", dest)
    return dest


@pytest.fixture
def cli():
    path = os.environ.get("MODELPIN_CLI")
    if not path:
        pytest.fail("MODELPIN_CLI is not set: run these tests through `meson test python`")
    return path
