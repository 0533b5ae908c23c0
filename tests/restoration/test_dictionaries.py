"""The dictionaries of the pipeline (restoration/dictionaries.py)."""

import numpy as np
import pytest

from restoration import load_dictionaries, load_dictionary
from restoration.datasets import DEFAULT_DICTIONARIES


@pytest.fixture(scope="module")
def filters():
    return load_dictionary()


def test_default_dictionary_is_shipped_normalised(filters):
    assert filters.dtype == np.float32 and filters.ndim == 3
    assert filters.shape[1] == filters.shape[2]
    np.testing.assert_allclose(np.linalg.norm(filters.reshape(len(filters), -1), axis=1), 1,
                               atol=1e-4)


def test_load_dictionaries_gives_the_bundled_candidates_default_first(filters):
    candidates = load_dictionaries()
    assert len(candidates) == len(DEFAULT_DICTIONARIES)
    np.testing.assert_array_equal(candidates[0], filters)
    assert len(load_dictionaries(filters)) == 1
    with pytest.raises(ValueError, match="empty list"):
        load_dictionaries([])
