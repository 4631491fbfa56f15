import pathlib

import numpy as np
import pytest

SAMPLES = pathlib.Path(__file__).resolve().parent.parent / "sample_images"


def random_image(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "u":
        return rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    return rng.random(shape).astype(dtype)


def photo_crop(name="flower.png", box=(300, 200, 61, 47)):
    """A small real-photo crop (x, y, width, height), uint8 RGB."""
    from PIL import Image

    x, y, w, h = box
    with Image.open(SAMPLES / name) as im:
        return np.asarray(im.convert("RGB"))[y:y + h, x:x + w].copy()


@pytest.fixture
def samples():
    return SAMPLES
