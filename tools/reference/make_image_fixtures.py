"""Image fixtures for CnnLab's decoder and resize tests, written with Pillow (the library torchvision's ImageFolder uses).

For each file: the image in one format and mode, and what Pillow makes of it: convert("RGB") and convert("L") pixels,
and a BILINEAR resize (Pillow's antialiased filter) of the RGB pixels to 7x5 and 40x36. Everything goes to
tests/CnnLab.Tests/Fixtures/images/: the image files and expected.json.

Run: /usr/bin/python3 tools/reference/make_image_fixtures.py
"""
import json
import os

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "CnnLab.Tests", "Fixtures", "images")


def picture(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // max(w - 1, 1)).astype(np.uint8)
    g = (y * 255 // max(h - 1, 1)).astype(np.uint8)
    b = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
    return np.stack([r, g, b], axis=-1)


def main():
    os.makedirs(OUT, exist_ok=True)
    rgb = Image.fromarray(picture(23, 17, 0), "RGB")
    alpha = Image.fromarray(np.random.default_rng(1).integers(0, 256, size=(17, 23), dtype=np.uint8), "L")
    rgba = rgb.copy()
    rgba.putalpha(alpha)
    files = {
        "rgb.png": (rgb, {}),
        "rgba.png": (rgba, {}),
        "grey.png": (rgb.convert("L"), {}),
        "grey-alpha.png": (Image.merge("LA", (rgb.convert("L"), alpha)), {}),
        "palette.png": (rgb.quantize(16), {}),
        "grey16.png": (Image.fromarray((np.asarray(rgb.convert("L")).astype(np.uint16) * 257), "I;16"), {}),
        "rgb.bmp": (rgb, {}),
        "rgb.tga": (rgb, {}),
        "palette.gif": (rgb.quantize(32), {}),
        "quality100.jpg": (rgb, {"quality": 100, "subsampling": 0}),
    }
    expected = {}
    for name, (image, options) in files.items():
        path = os.path.join(OUT, name)
        image.save(path, **options)
        with Image.open(path) as decoded:
            as_rgb = decoded.convert("RGB")
            as_grey = decoded.convert("L") if decoded.mode not in ("RGBA", "P", "LA") else decoded.convert("RGB").convert("L")
            expected[name] = {
                "width": as_rgb.width,
                "height": as_rgb.height,
                "rgb": np.asarray(as_rgb).transpose(2, 0, 1).reshape(-1).tolist(),
                "grey": np.asarray(as_grey).reshape(-1).tolist(),
            }
    for w, h in [(7, 5), (40, 36)]:
        resized = rgb.resize((w, h), Image.BILINEAR)
        expected[f"resize-{w}x{h}"] = {"width": w, "height": h, "rgb": np.asarray(resized).transpose(2, 0, 1).reshape(-1).tolist()}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
