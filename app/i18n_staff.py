"""Messages of the agronomist and extension pages (zh-CN first, en), merged into ``i18n.CATALOGUES``.

Kept apart from the grower messages in ``i18n.py`` so each set of pages owns its file.
"""

from __future__ import annotations

CATALOGUES: dict[str, dict[str, str]] = {
    "zh-CN": {},
    "en": {},
}
