"""A folder of images, one sub-folder per class (torchvision's ImageFolder layout), read
with Pillow.

- Classes are the sub-folders (hidden ones skipped) in sorted order; each is searched
  recursively for ``.png``, ``.jpg``/``.jpeg`` and ``.bmp`` files (any case); other files
  are skipped and counted in ``info["skipped_files"]``.
- A JPEG's EXIF orientation is applied; transparency is dropped (the colour under it is
  kept, as Pillow's ``convert`` does).
- ``color``: ``"gray"`` (Pillow's ``L``, ITU-R 601-2 luma), ``"rgb"`` (grayscale images
  repeat their channel), or None: rgb if any image holds colour (a pixel whose red,
  green and blue differ), else gray.
- ``size`` ``(height, width)``: every image is resized to it with Pillow's bilinear filter
  (antialiased when shrinking; torchvision's default for PIL images), ignoring the aspect
  ratio. Without it, all images must have one size.
- Pixels: 8-bit images are divided by 255, 16-bit ones by 65535, so X is in [0, 1].

Before any image is decoded, every file's header is read (size and mode), so unreadable
files, mixed sizes and a folder too large for memory are refused first, naming the file.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from playground.data.images import check_image_memory, image_dataset
from playground.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")
WIDE_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N")  # 16-bit PNGs open as one of these
MAX_IMAGES = 10_000_000


def _pil():
    try:
        from PIL import Image, ImageOps
    except ImportError:  # pragma: no cover - Pillow is a runtime dependency
        raise DataError("reading image folders needs the Pillow package (pip install Pillow)") from None
    return Image, ImageOps


def _image_files(folder: Path) -> tuple[list[tuple[str, list[Path]]], int]:
    """[(class name, its image files)] in sorted order, and the number of files skipped."""
    classes, skipped = [], 0
    try:
        subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        loose = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    except OSError as e:
        raise DataError(f"cannot list the folder: {e.strerror or e}", file=str(folder)) from None
    if not subdirs:
        hint = f" (it holds {len(loose)} images directly)" if loose else ""
        raise DataError(
            f"has no class sub-folders{hint}; put the images of each class in a sub-folder named after it",
            file=str(folder),
        )
    skipped += len(loose)
    for sub in subdirs:
        files = []
        for root, dirs, names in os.walk(sub):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith("."):
                    files.append(Path(root) / name)
                else:
                    skipped += 1
        if not files:
            raise DataError(
                "this class folder holds no PNG, JPEG or BMP images; remove it or add images", file=str(sub)
            )
        classes.append((sub.name, files))
    if len(classes) < 2:
        raise DataError(
            f"has only one class sub-folder ({classes[0][0]!r}); classification needs at least 2",
            file=str(folder),
        )
    return classes, skipped


def _open(Image, path: Path):
    """Pillow's lazy open (header only), with every failure a DataError naming the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise DataError(f"the image is too large to read safely ({e})", file=str(path)) from None
    except (OSError, ValueError, SyntaxError) as e:  # UnidentifiedImageError is an OSError
        raise DataError(f"cannot read this image: {e}", file=str(path)) from None


def _decode(Image, ImageOps, path: Path, size, want: str) -> np.ndarray:
    """One image as float (h, w) (``want`` "gray") or (h, w, 3) ("rgb") in [0, 1]."""
    try:
        with _open(Image, path) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in WIDE_MODES:
                arr = np.asarray(_resized(Image, im.convert("F"), size), dtype=np.float64) / 65535.0
                if want == "rgb":
                    arr = np.repeat(arr[:, :, None], 3, axis=2)
            else:
                im = im.convert("L" if want == "gray" else "RGB")
                arr = np.asarray(_resized(Image, im, size), dtype=np.float64) / 255.0
    except DataError:
        raise
    except (OSError, ValueError, SyntaxError) as e:  # a truncated or corrupt file
        raise DataError(f"cannot read this image: {e}", file=str(path)) from None
    return np.clip(arr, 0.0, 1.0)


def _resized(Image, im, size):
    if size is None or im.size == (size[1], size[0]):
        return im
    return im.resize((int(size[1]), int(size[0])), Image.Resampling.BILINEAR)


def read_image_folder(
    folder, size=None, color: str | None = None, available: int | None = None, shown: str | None = None
) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
    """(X (n, c, h, w) float64 in [0, 1], y int64, class names, info) of an image folder."""
    Image, ImageOps = _pil()
    folder = Path(folder)
    shown = shown or str(folder)
    if not folder.is_dir():
        raise DataError(
            "is not a folder (an image data set is a folder with one sub-folder per class)", file=shown
        )
    classes, skipped = _image_files(folder)
    files = [(k, f) for k, (_, fs) in enumerate(classes) for f in fs]
    if len(files) > MAX_IMAGES:
        raise DataError(f"holds {len(files):,} images; at most {MAX_IMAGES:,} can be used", file=shown)
    size = tuple(int(s) for s in size) if size else None
    first, any_colour_mode = None, False
    for _, path in files:  # headers only: cheap, and every problem is found before decoding
        with _open(Image, path) as im:
            w, h = im.size
            any_colour_mode |= im.mode not in GRAY_MODES
        if size is None:
            if first is None:
                first = (path, h, w)
            elif (h, w) != first[1:]:
                raise DataError(
                    f"is {h}x{w} pixels (height x width) but {first[0]} is {first[1]}x{first[2]}; "
                    "set data.size (e.g. [32, 32]) to resize every image to one size",
                    file=str(path),
                )
    hw = size or first[1:]
    channels = 3 if color == "rgb" or (color is None and any_colour_mode) else 1
    check_image_memory(len(files), (channels, *hw), shown, available)
    X = np.empty((len(files), channels, *hw))
    want = "rgb" if channels == 3 else "gray"
    for i, (_, path) in enumerate(files):
        a = _decode(Image, ImageOps, path, size, want)
        if a.shape[:2] != tuple(hw):  # a JPEG turned by its EXIF orientation
            raise DataError(
                f"is {a.shape[0]}x{a.shape[1]} pixels once turned upright (its EXIF orientation), the others "
                f"{hw[0]}x{hw[1]}; set data.size to resize every image to one size",
                file=str(path),
            )
        X[i] = np.moveaxis(a, 2, 0) if a.ndim == 3 else a[None]
    if color is None:  # rgb only if some image really has colour
        color = "gray"
        if channels == 3:
            if np.array_equal(X[:, 0], X[:, 1]) and np.array_equal(X[:, 1], X[:, 2]):
                X = np.ascontiguousarray(X[:, :1])
            else:
                color = "rgb"
    y = np.fromiter((k for k, _ in files), dtype=np.int64, count=len(files))
    info = {
        "source": shown,
        "classes": {name: len(fs) for name, fs in classes},
        "color": color,
        "resize": None if size is None else {"size": list(size), "filter": "bilinear"},
        "skipped_files": skipped,
    }
    return X, y, [name for name, _ in classes], info


def build_image_folder_dataset(
    folder, size, color, train_fraction: float, seed: int, shown: str | None = None
):
    X, y, class_names, info = read_image_folder(folder, size, color, shown=shown)
    for name, count in info["classes"].items():
        if count < 2:
            raise DataError(
                f"class {name!r} has only {count} image; a train/test split needs at least 2 per class",
                file=str(Path(folder) / name),
            )
    info["seed"] = int(seed)
    return image_dataset(X, y, class_names, train_fraction, seed, info)
