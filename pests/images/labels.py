"""The fixed label vocabulary of the image library: pest and disease codes with Chinese and English names.

A label is a short code (``canker``); the app shows the name in the user's language. ``unknown`` is the label
of a photo nobody has named yet. Dataset folder names (``black-spot``) and common spellings are mapped to
codes by :func:`normalise_label`, which refuses anything outside the vocabulary, so a typo never creates a new
class.
"""

from __future__ import annotations

from orchard.errors import InputError

#: Label code -> (English name, Chinese name, EPPO code). The EPPO code is given where the pest parameter
# files : and science notes cite it, "" elsewhere (not one organism, or not checked yet).
LABELS: dict[str, tuple[str, str, str]] = {
    "black_spot": ("Citrus black spot", "柑橘黑斑病", "GUIGCI"),
    "canker": ("Citrus canker", "柑橘溃疡病", "XANTCI"),
    "greening": ("Huanglongbing (greening)", "柑橘黄龙病", ""),
    "melanose": ("Melanose", "柑橘树脂病（沙皮病）", ""),
    "scab": ("Citrus scab", "柑橘疮痂病", ""),
    "anthracnose": ("Anthracnose", "柑橘炭疽病", ""),
    "red_mite": ("Citrus red mite", "柑橘全爪螨（红蜘蛛）", "PANOCI"),
    "rust_mite": ("Citrus rust mite", "柑橘锈螨（锈壁虱）", ""),
    "leaf_miner": ("Citrus leaf miner", "柑橘潜叶蛾", "PHYNCI"),
    "aphid": ("Brown citrus aphid", "橘蚜", ""),
    "scale": ("Scale insects", "柑橘介壳虫", ""),
    "nutrient_deficiency": ("Nutrient deficiency", "缺素症", ""),
    "healthy": ("Healthy", "健康", ""),
    "unknown": ("Unknown", "未知", ""),
}

UNKNOWN = "unknown"

#: Other spellings accepted on input (dataset folder names, English names) -> label code.
ALIASES: dict[str, str] = {
    "black-spot": "black_spot",
    "blackspot": "black_spot",
    "black spot": "black_spot",
    "hlb": "greening",
    "huanglongbing": "greening",
    "citrus greening": "greening",
    "red-mite": "red_mite",
    "spider_mite": "red_mite",
    "spider mite": "red_mite",
    "rust-mite": "rust_mite",
    "leaf-miner": "leaf_miner",
    "leafminer": "leaf_miner",
    "nutrient-deficiency": "nutrient_deficiency",
}


def normalise_label(text: str, where: str = "label") -> str:
    """The label code for ``text`` (a code, a dataset folder name or an alias, any case).

    Raises
    ------
    orchard.errors.InputError
        ``text`` is not in the vocabulary; the message lists the codes.
    """
    key = str(text or "").strip().lower()
    code = ALIASES.get(key, key.replace("-", "_").replace(" ", "_"))
    if code not in LABELS:
        raise InputError(f"{where} '{text}' is not a known pest or disease; use one of {', '.join(LABELS)}.")
    return code


def label_name(code: str, language: str = "en") -> str:
    """The display name of a label code in ``language`` ("en" or "zh"/"zh-CN")."""
    english, chinese, _ = LABELS.get(code, (code, code, ""))
    return chinese if language.lower().startswith("zh") else english
