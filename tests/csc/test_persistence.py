import os

import numpy as np
import pytest

from csc.persistence import (
    atomic_write,
    load_checkpoint,
    read_dictionary_file,
    save_checkpoint,
    save_dictionary,
)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.npz"
    path.write_bytes(b"old")

    def failing(temporary):
        with open(temporary, "wb") as stream:
            stream.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, failing)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.npz"]


def test_dictionary_and_checkpoint_round_trip(tmp_path):
    filters = np.random.default_rng(0).standard_normal((3, 4, 4)).astype(np.float32)
    save_dictionary(tmp_path / "d.npz", filters, params={"n_filters": 3},
                    history={"objective": [2.0, 1.0]})
    loaded, params, history = read_dictionary_file(tmp_path / "d.npz")
    np.testing.assert_array_equal(loaded, filters)
    assert params == {"n_filters": 3} and history == {"objective": [2.0, 1.0]}
    path = tmp_path / "c.npz"
    assert load_checkpoint(path, fingerprint="a") is None
    save_checkpoint(path, {"codes": filters}, fingerprint="a", meta={"iteration": 2})
    arrays, meta = load_checkpoint(path, fingerprint="a")
    np.testing.assert_array_equal(arrays["codes"], filters)
    assert meta == {"iteration": 2}
    with pytest.raises(ValueError, match="another problem"):
        load_checkpoint(path, fingerprint="b")
    with pytest.raises(ValueError, match="not a saved ConvolutionalDictionary"):
        read_dictionary_file(path)
