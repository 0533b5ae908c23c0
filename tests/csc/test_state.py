import numpy as np
import pytest

from csc.coding import CodingState
from csc.persistence import save_checkpoint
from csc.state import (
    HISTORY_KEYS,
    DictionaryState,
    LearningState,
    join_arrays,
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


@pytest.mark.parametrize("damage", ["missing", "out of range"])
def test_an_incomplete_or_damaged_checkpoint_is_named(tmp_path, damage):
    arrays, meta = state_to_arrays(a_state())
    if damage == "missing":
        del arrays["codes_index"]
    else:
        arrays["codes_index"] = arrays["codes_index"] + 10 ** 6
    path = tmp_path / "fit.npz"
    save_checkpoint(path, arrays, fingerprint="f", meta=meta)
    with pytest.raises(ValueError, match="fit.npz.*incomplete or damaged"):
        load_state(path, fingerprint="f", xp=np)


def sparse_state(anchor):
    state = a_state(1)
    for codes in (state.coding.codes, state.anchor_codes):
        codes[np.abs(codes) < 1.5] = 0  # about 13 % non-zero
    return LearningState(state.coding, state.dictionary, state.anchor_codes if anchor else None,
                         state.iteration, state.best_objective, state.history)


@pytest.mark.parametrize("anchor", [True, False])
def test_codes_are_stored_as_their_non_zero_entries_and_no_anchor_without_one(anchor):
    state = sparse_state(anchor)
    arrays, meta = state_to_arrays(state)
    codes = state.coding.codes
    assert "codes" not in arrays and arrays["codes_value"].size == np.count_nonzero(codes)
    assert ("anchor_codes_index" in arrays) == anchor
    restored = state_from_arrays(arrays, meta, xp=np, path="x")
    np.testing.assert_array_equal(restored.coding.codes, codes)
    assert restored.anchor_codes is None if not anchor else True
    assert_same_state(state, restored)
    code_sized = sum(a.nbytes for name, a in arrays.items() if name.startswith(("codes",
                                                                               "anchor")))
    # codes, their dual and the anchor were once stored dense, 3 code-sized arrays
    assert code_sized < (1.6 if anchor else 1.3) * codes.nbytes


def test_shares_along_the_image_axis_join_into_the_whole_state():
    state = sparse_state(True)
    shares = []
    for span, groups in ((slice(0, 1), slice(0, 1)), (slice(1, 2), slice(1, 1))):
        part = LearningState(
            CodingState(*(value[span] for value in vars(state.coding).values())),
            DictionaryState(state.dictionary.split[span], state.dictionary.split_dual[span],
                            None, state.dictionary.filters_dual[groups]),
            state.anchor_codes[span])
        shares.append(state_to_arrays(part)[0])
    whole = state_to_arrays(state)[0]
    joined = join_arrays(shares)
    assert set(joined) == set(whole) - {"filters"}
    for name, value in joined.items():
        np.testing.assert_array_equal(value, whole[name])
