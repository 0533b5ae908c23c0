import shutil

import numpy as np
import pytest

from restoration.datasets import image_paths, load_image_set


@pytest.mark.parametrize("name", ["fruit", "city"])
def test_bundled_sets_load_with_valid_checksums(name):
    images = load_image_set(name)
    assert images.shape == (10, 100, 100, 3) and images.dtype == np.uint8
    assert images.std() > 10


def test_a_modified_file_fails_the_checksum(tmp_path):
    folder = tmp_path / "fruit_100_100"
    shutil.copytree(image_paths("fruit")[0].parent, folder)
    (folder / "3.jpg").write_bytes((folder / "3.jpg").read_bytes() + b"\0")
    with pytest.raises(ValueError, match="checksum"):
        load_image_set("fruit", root=tmp_path)
    assert load_image_set("fruit", root=tmp_path, verify=False).shape[0] == 10


def test_unknown_set_is_rejected():
    with pytest.raises(ValueError, match="name"):
        load_image_set("flowers")
