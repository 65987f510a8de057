"""A factory of random trajectory batches for the torch backend's tests."""

import pytest

from rlinf_core.testing.batches import random_trajectory_batch


@pytest.fixture
def make_batch():
    return random_trajectory_batch
