import numpy as np
import pytest

from csc.coding import CodingState
from csc.persistence import save_checkpoint
from csc.state import (
    HISTORY_KEYS,
    DictionaryState,
    LearningState,
    load_state,
    record,
    save_state,
    state_from_arrays,
    state_to_arrays,
)


def a_state(seed=0):
    rng = np.random.default_rng(seed)

    def array(*shape):
        return rng.standard_normal(shape)

    state = LearningState(CodingState(array(2, 1, 6, 6), array(2, 1, 6, 6), array(2, 3, 6, 6),
                                      array(2, 3, 6, 6)),
                          DictionaryState(array(2, 1, 6, 6), array(2, 1, 6, 6), array(3, 1, 6, 6),
                                          array(1, 3, 1, 6, 4) + 1j), array(2, 3, 6, 6), 2, 1.5)
    for n in range(3):
        record(state.history, (2.0 - n, 0.5), 0.1, seconds=float(n), accepted=n != 1,
               n_backtracked=n, step_seconds=(0.1, 0.0, 0.2))
    return state


def assert_same_state(a, b):
    for part in ("coding", "dictionary"):
        for name, value in vars(getattr(a, part)).items():
            np.testing.assert_array_equal(getattr(getattr(b, part), name), value)
    np.testing.assert_array_equal(a.anchor_codes, b.anchor_codes)
    assert (a.iteration, a.best_objective, a.history) == (b.iteration, b.best_objective,
                                                           b.history)


def test_state_round_trips_through_its_arrays_and_a_checkpoint_file(tmp_path):
    state = a_state()
    arrays, meta = state_to_arrays(state)
    assert set(meta["history"]) == set(HISTORY_KEYS) and len(meta["history"]["nnz"]) == 3
    assert_same_state(state, state_from_arrays(arrays, meta, xp=np, path="x"))
    path = tmp_path / "fit.npz"
    assert load_state(path, fingerprint="f", xp=np) is None
    save_state(path, state, fingerprint="f")
    assert_same_state(state, load_state(path, fingerprint="f", xp=np))
    with pytest.raises(ValueError, match="another problem"):
        load_state(path, fingerprint="g", xp=np)


def test_an_incomplete_checkpoint_is_named(tmp_path):
    arrays, meta = state_to_arrays(a_state())
    del arrays["codes"]
    path = tmp_path / "fit.npz"
    save_checkpoint(path, arrays, fingerprint="f", meta=meta)
    with pytest.raises(ValueError, match="fit.npz.*incomplete"):
        load_state(path, fingerprint="f", xp=np)
