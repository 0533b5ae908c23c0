import numpy as np
import pytest

from csc import LearningOptions
from csc.outer_loop import accept_iteration, fingerprint, initial_dictionary, iteration_hook


def test_accept_iteration_keeps_the_step_the_dictionary_step_or_the_previous_iterate():
    history = {"objective": [10.0], "data_term": [7.0]}
    calls = []

    def fallback(terms):
        def restore():
            calls.append(terms)
            return terms
        return restore

    assert accept_iteration((5.0, 4.0), 10.0, history, fallback((1.0, 1.0))) == \
        (True, "step", (5.0, 4.0))
    assert not calls  # the fallback runs only when the step is rejected
    assert accept_iteration((6.0, 5.0), 10.0, history, fallback((5.0, 4.0))) == \
        (False, "dictionary", (5.0, 4.0))
    assert accept_iteration((6.0, 5.0), 10.0, history, fallback((6.0, 5.0))) == \
        (False, "previous", (7.0, 3.0))


def test_iteration_hook_saves_then_asks_the_callback():
    order = []
    hook = iteration_hook(bar=None, save=lambda state: order.append(("save", state)),
                          callback=lambda state: order.append(("callback", state)) or True)
    assert hook("state") is True and order == [("save", "state"), ("callback", "state")]
    assert iteration_hook(bar=None, save=None, callback=None)("state") is False


def test_initial_dictionary_has_unit_norm_filters_and_refuses_other_shapes():
    filters = initial_dictionary(4, 3, 2, random_state=0)
    assert filters.shape == (4, 2, 3, 3)
    np.testing.assert_allclose(np.linalg.norm(filters.reshape(4, -1), axis=1), 1)
    np.testing.assert_allclose(initial_dictionary(4, 3, 2, initial_filters=filters), filters)
    with pytest.raises(ValueError, match="initial_filters"):
        initial_dictionary(4, 3, 1, initial_filters=filters)


def test_fingerprint_ignores_max_iter_and_rounds_the_checksum():
    def key(max_iter, checksum):
        return fingerprint((2, 1, 8, 8), np.float32, checksum, 4, 3,
                           LearningOptions(max_iter=max_iter), None, 0)

    assert key(5, 1.0) == key(50, 1.0 + 1e-12)
    assert key(5, 1.0) != key(5, 1.001)
