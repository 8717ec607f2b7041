"""Colour and texture features of a leaf photo, and a leaf/background mask.

Pure functions on numpy arrays, one step each, and :func:`image_features` on top. The feature vector is

- colour: normalised histograms of hue, saturation and value (HSV) plus the mean and standard deviation of
  saturation and value (science note pests §10: lesion browns, yellow halos, pale mite stippling);
- texture: rotation-invariant uniform local binary pattern histograms, (P, R) = (8, 1) and (16, 2) (Ojala,
  Pietikäinen and Mäenpää 2002), and grey-level co-occurrence (GLCM) contrast, dissimilarity, homogeneity,
  energy, correlation and ASM at distances 1 and 3 px averaged over four directions (Haralick, Shanmugam and
  Dinstein 1973).

Every statistic can be restricted to a boolean ``mask`` (the leaf, or the background), which is how
``pests.images.evaluate`` tests whether a classifier learned the disease or the photo setup.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np

from pests.images.validate import parameters

GLCM_PROPERTIES = ("contrast", "dissimilarity", "homogeneity", "energy", "correlation", "ASM")


@dataclass(frozen=True)
class FeatureSettings:
    """The settings a feature vector depends on (stored with a model: identification must use the same)."""

    size_px: int = 256
    hue_bins: int = 16
    saturation_bins: int = 8
    value_bins: int = 8
    lbp_points: tuple[int, ...] = (8, 16)
    lbp_radius: tuple[int, ...] = (1, 2)
    glcm_levels: int = 32
    glcm_distances: tuple[int, ...] = (1, 3)
    min_leaf_fraction: float = 0.05
    max_leaf_fraction: float = 0.98

    @classmethod
    def from_parameters(cls, params=None) -> FeatureSettings:
        """Settings from the images parameter set (default: the shipped ``images.toml``)."""
        p = params if params is not None else parameters()

        def ints(key):
            value = p[key]
            return tuple(int(v) for v in value) if isinstance(value, tuple) else (int(value),)

        return cls(
            size_px=int(p["features.size"]),
            hue_bins=int(p["features.hue_bins"]),
            saturation_bins=int(p["features.saturation_bins"]),
            value_bins=int(p["features.value_bins"]),
            lbp_points=ints("features.lbp_points"),
            lbp_radius=ints("features.lbp_radius"),
            glcm_levels=int(p["features.glcm_levels"]),
            glcm_distances=ints("features.glcm_distances"),
            min_leaf_fraction=float(p["mask.min_leaf_fraction"]),
            max_leaf_fraction=float(p["mask.max_leaf_fraction"]),
        )

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSettings:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


# ----------------------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------------------
def load_rgb(source: str | os.PathLike | bytes, size_px: int = 256) -> np.ndarray:
    """An image as an RGB float array in [0, 1], its longer side reduced to ``size_px`` [px].

    The EXIF orientation is applied (phone photos are often stored sideways). JPEGs are decoded at reduced
    scale directly (``Image.draft``), so a 12-Mpx photo costs little more than a small one. Images smaller
    than ``size_px`` are not enlarged. Call :func:`pests.images.validate.check_image` first on untrusted
    input.

    Returns
    -------
    numpy.ndarray, shape (rows, cols, 3), float32
    """
    from PIL import Image, ImageOps

    fp = io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray, memoryview)) else source
    with Image.open(fp) as image:
        image.draft("RGB", (size_px, size_px))
        image = ImageOps.exif_transpose(image).convert("RGB")
        if max(image.size) > size_px:
            image.thumbnail((size_px, size_px), Image.Resampling.LANCZOS)
        return np.asarray(image, dtype=np.float32) / 255.0


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """Hue, saturation and value, each in [0, 1] (hue as a fraction of the colour circle).

    The hexcone model of Smith (1978, SIGGRAPH '78:12-19), as ``colorsys.rgb_to_hsv`` and
    ``skimage.color.rgb2hsv`` compute it (written here with numpy: several times faster on a whole image).
    """
    rgb = np.asarray(rgb, dtype=np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    value = rgb.max(axis=-1)
    chroma = value - rgb.min(axis=-1)
    safe_chroma = np.where(chroma > 0, chroma, 1.0)
    saturation = np.where(value > 0, chroma / np.where(value > 0, value, 1.0), 0.0)
    hue = np.where(
        value == r,
        ((g - b) / safe_chroma) % 6.0,
        np.where(value == g, (b - r) / safe_chroma + 2.0, (r - g) / safe_chroma + 4.0),
    )
    hue = np.where(chroma > 0, hue / 6.0, 0.0)
    return np.stack([hue, saturation, value], axis=-1).astype(np.float32)


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """Luminance in [0, 1]: 0.2125 R + 0.7154 G + 0.0721 B (ITU-R BT.709), as skimage's ``rgb2gray``."""
    return np.asarray(rgb, dtype=np.float32) @ np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)


# ----------------------------------------------------------------------------------------------------------
# Leaf mask
# ----------------------------------------------------------------------------------------------------------
def background_distance(rgb: np.ndarray) -> np.ndarray:
    """Colour distance of every pixel from the background colour, the median of a border strip [0, sqrt 3].

    The strip is 1/32 of the shorter side wide (at least 2 px): a leaf photographed on a card rarely fills
    more than half of the image border, so the median there is the card's colour.
    """
    rgb = np.asarray(rgb, dtype=np.float32)
    width = max(2, min(rgb.shape[:2]) // 32)
    border = np.concatenate(
        [
            rgb[:width].reshape(-1, 3),
            rgb[-width:].reshape(-1, 3),
            rgb[:, :width].reshape(-1, 3),
            rgb[:, -width:].reshape(-1, 3),
        ]
    )
    background = np.median(border, axis=0)
    return np.sqrt(((rgb - background) ** 2).sum(axis=-1))


def leaf_mask(rgb: np.ndarray, min_fraction: float = 0.05, max_fraction: float = 0.98) -> np.ndarray | None:
    """Boolean mask of the leaf: Otsu's threshold on the colour distance from the background card.

    The distance of each pixel from the card's colour (:func:`background_distance`) is split with Otsu's
    threshold (Otsu 1979, IEEE Trans. SMC-9:62-66); the result is opened (3 x 3, twice) to drop specks, the
    largest connected part is kept and its holes are filled. Green, yellow, brown and black-necrotic tissue
    all differ from a grey, white or lilac card, so lesions at the leaf margin stay inside the mask (a
    threshold on saturation alone loses the dark necrotic tips of the dataset's black-spot leaves). This is
    meant for a leaf photographed on a plain card (the dataset's lab setting, and the recommended field
    protocol); on a canopy or soil background the "leaf" it finds is not reliable.

    Returns
    -------
    numpy.ndarray of bool, shape (rows, cols), or None
        None when the mask covers less than ``min_fraction`` or more than ``max_fraction`` of the image
        (no leaf on a plain background was found).
    """
    from scipy import ndimage
    from skimage.filters import threshold_otsu

    distance = background_distance(rgb)
    if float(distance.max() - distance.min()) < 1e-3:
        return None
    mask = distance > threshold_otsu(distance)
    mask = ndimage.binary_opening(mask, structure=np.ones((3, 3), bool), iterations=2)
    labels, n = ndimage.label(mask)
    if n == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    mask = ndimage.binary_fill_holes(labels == (int(np.argmax(sizes)) + 1))
    fraction = float(mask.mean())
    if not min_fraction <= fraction <= max_fraction:
        return None
    return mask


# ----------------------------------------------------------------------------------------------------------
# Colour
# ----------------------------------------------------------------------------------------------------------
def _masked(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    return values.ravel() if mask is None else values[mask]


def hsv_histograms(
    hsv: np.ndarray,
    mask: np.ndarray | None = None,
    hue_bins: int = 16,
    saturation_bins: int = 8,
    value_bins: int = 8,
) -> np.ndarray:
    """Normalised marginal histograms of H, S and V over the (masked) pixels, then mean and sd of S and V.

    Returns
    -------
    numpy.ndarray, length hue_bins + saturation_bins + value_bins + 4; histograms sum to 1 each.
    """
    parts = []
    for channel, bins in ((0, hue_bins), (1, saturation_bins), (2, value_bins)):
        values = _masked(hsv[..., channel], mask)
        counts, _ = np.histogram(values, bins=bins, range=(0.0, 1.0))
        parts.append(counts / max(counts.sum(), 1))
    s, v = _masked(hsv[..., 1], mask), _masked(hsv[..., 2], mask)
    stats = [float(s.mean()), float(s.std()), float(v.mean()), float(v.std())] if s.size else [0.0] * 4
    return np.concatenate([*parts, np.asarray(stats)])


# ----------------------------------------------------------------------------------------------------------
# Texture
# ----------------------------------------------------------------------------------------------------------
def lbp_codes(grey: np.ndarray, points: int = 8, radius: float = 1) -> np.ndarray:
    """Rotation-invariant uniform local binary pattern code of every pixel (0 … P + 1).

    References
    ----------
    Ojala, T., Pietikäinen, M., Mäenpää, T. (2002). Multiresolution gray-scale and rotation invariant texture
    classification with local binary patterns. IEEE TPAMI 24(7):971-987.
    ``skimage.feature.local_binary_pattern`` with ``method="uniform"``.
    """
    from skimage.feature import local_binary_pattern

    grey_u8 = np.round(np.clip(grey, 0, 1) * 255).astype(np.uint8)  # integer input: no float-noise codes
    return local_binary_pattern(grey_u8, points, radius, method="uniform").astype(np.int64)


def lbp_histogram(codes: np.ndarray, points: int = 8, mask: np.ndarray | None = None) -> np.ndarray:
    """Normalised histogram (P + 2 bins) of LBP codes (:func:`lbp_codes`) over the (masked) pixels."""
    counts = np.bincount(_masked(codes, mask), minlength=points + 2)[: points + 2]
    return counts / max(counts.sum(), 1)


def glcm_features(
    grey: np.ndarray, mask: np.ndarray | None = None, levels: int = 32, distances=(1, 3)
) -> np.ndarray:
    """Haralick texture properties of the grey-level co-occurrence matrix, averaged over 0°, 45°, 90°, 135°.

    With a mask, the pixels outside it get their own grey level 0 and every pair involving level 0 is dropped,
    so only pairs of pixels both inside the mask count.

    Returns
    -------
    numpy.ndarray, length len(distances) * 6 (contrast, dissimilarity, homogeneity, energy, correlation, ASM)

    References
    ----------
    Haralick, R.M., Shanmugam, K., Dinstein, I. (1973). Textural features for image classification. IEEE
    Trans. Systems, Man, and Cybernetics SMC-3(6):610-621. ``skimage.feature.graycomatrix`` / ``graycoprops``.
    """
    from skimage.feature import graycomatrix, graycoprops

    angles = [0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]
    quantised = np.minimum((np.clip(grey, 0, 1) * (levels - 1)).astype(np.uint8), levels - 2) + 1
    if mask is not None:
        quantised = np.where(mask, quantised, 0).astype(np.uint8)
    matrix = graycomatrix(
        quantised, distances=list(distances), angles=angles, levels=levels, symmetric=True, normed=False
    )[1:, 1:].astype(np.float64)
    totals = matrix.sum(axis=(0, 1), keepdims=True)
    matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    values = [graycoprops(matrix, prop).mean(axis=1) for prop in GLCM_PROPERTIES]  # (distances,) each
    return np.nan_to_num(np.stack(values, axis=1).ravel(), nan=0.0)


# ----------------------------------------------------------------------------------------------------------
# The feature vector
# ----------------------------------------------------------------------------------------------------------
def feature_names(settings: FeatureSettings | None = None, colour: bool = True) -> list[str]:
    """Names of the entries of :func:`image_features`, in order."""
    s = settings or FeatureSettings()
    names = []
    if colour:
        names += [f"hue_hist_{i}" for i in range(s.hue_bins)]
        names += [f"saturation_hist_{i}" for i in range(s.saturation_bins)]
        names += [f"value_hist_{i}" for i in range(s.value_bins)]
        names += ["saturation_mean", "saturation_sd", "value_mean", "value_sd"]
    for p, r in zip(s.lbp_points, s.lbp_radius, strict=True):
        names += [f"lbp_p{p}_r{r}_{i}" for i in range(p + 2)]
    for d in s.glcm_distances:
        names += [f"glcm_{prop.lower()}_d{d}" for prop in GLCM_PROPERTIES]
    return names


def colour_columns(settings: FeatureSettings | None = None) -> np.ndarray:
    """Boolean selector of the colour entries in a full feature vector (for the no-colour evaluation)."""
    names = feature_names(settings)
    return np.array([not (n.startswith("lbp_") or n.startswith("glcm_")) for n in names])


def image_features(
    rgb: np.ndarray, settings: FeatureSettings | None = None, mask: np.ndarray | None = None
) -> np.ndarray:
    """The colour + texture feature vector of an RGB image [0, 1], over ``mask`` if given.

    Returns
    -------
    numpy.ndarray, float64, length ``len(feature_names(settings))``
    """
    return masked_features(rgb, [mask], settings)[0]


def masked_features(rgb: np.ndarray, masks, settings: FeatureSettings | None = None) -> list[np.ndarray]:
    """Feature vectors of one image over several masks (None = whole image), colour and LBP computed once.

    An all-false mask counts as no mask (the whole image).
    """
    s = settings or FeatureSettings()
    hsv = rgb_to_hsv(rgb)
    grey = to_grey(rgb)
    codes = [lbp_codes(grey, p, r) for p, r in zip(s.lbp_points, s.lbp_radius, strict=True)]
    vectors = []
    for mask in masks:
        if mask is not None and not mask.any():
            mask = None
        parts = [hsv_histograms(hsv, mask, s.hue_bins, s.saturation_bins, s.value_bins)]
        parts += [lbp_histogram(c, p, mask) for c, p in zip(codes, s.lbp_points, strict=True)]
        parts.append(glcm_features(grey, mask, s.glcm_levels, s.glcm_distances))
        vectors.append(np.concatenate(parts).astype(np.float64))
    return vectors


def features_of(
    source: str | os.PathLike | bytes, settings: FeatureSettings | None = None, region: str = "whole"
) -> np.ndarray:
    """Feature vector of an image file or bytes; ``region`` is "whole", "leaf" or "background".

    "leaf" and "background" use :func:`leaf_mask`; where no mask is found, "leaf" falls back to the whole
    image and "background" gives NaNs (there is no background to describe).
    """
    s = settings or FeatureSettings()
    rgb = load_rgb(source, s.size_px)
    if region == "whole":
        return image_features(rgb, s)
    mask = leaf_mask(rgb, s.min_leaf_fraction, s.max_leaf_fraction)
    if region == "leaf":
        return image_features(rgb, s, mask)
    if region == "background":
        if mask is None:
            return np.full(len(feature_names(s)), np.nan)
        return image_features(rgb, s, ~mask)
    raise ValueError(f"region must be whole, leaf or background, not {region!r}")
