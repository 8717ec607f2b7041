"""Checking an uploaded or imported image before anything is stored, and reading its EXIF date and position.

An image is accepted only when it is small enough (bytes and pixels), decodes completely with Pillow, and is a
JPEG, PNG or WebP (decided by its content, never its name: OWASP file-upload rules, science note ecosystem
§12). Every refusal is one sentence. The checks run on bytes in memory; nothing touches the library folder.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

from orchard.config import CHINA_UTC_OFFSET_H
from orchard.errors import InputError, check_input_file
from orchard.params import ParameterSet, load_parameters

#: Image formats accepted (Pillow's format names) and the file extension each is stored with.
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
PARAMETER_FILE = Path(__file__).resolve().parent / "parameters" / "images.toml"

# EXIF tags (EXIF 2.32, CIPA DC-008-2019): IFD pointers and the fields we read.
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME_ORIGINAL = 0x9011
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4


@cache
def parameters() -> ParameterSet:
    """The image-library parameter set (``pests/images/parameters/images.toml``)."""
    return load_parameters(PARAMETER_FILE)


@dataclass(frozen=True)
class CheckedImage:
    """An image that passed :func:`check_image`: its bytes and what was read from them."""

    data: bytes = field(repr=False)
    image_format: str  # JPEG, PNG or WEBP
    width_px: int
    height_px: int
    lat: float | None = None  # EXIF GPS [degrees north]
    lon: float | None = None  # EXIF GPS [degrees east]
    taken_utc: datetime | None = None  # EXIF DateTimeOriginal

    @property
    def size_bytes(self) -> int:
        return len(self.data)

    @property
    def extension(self) -> str:
        return FORMATS[self.image_format]


def read_image_bytes(
    source: str | os.PathLike | bytes, name: str | None = None, max_bytes: int | None = None
) -> tuple[bytes, str]:
    """The bytes of an image file (or the bytes given) and a name for messages, refusing oversized input.

    The size is checked on the file's length *before* it is read.
    """
    limit = max_bytes if max_bytes is not None else max_file_bytes()
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        what = name or "the uploaded image"
        if not data:
            raise InputError(f"{what}: the image is empty; take or choose the photo again.")
        _check_size(what, len(data), limit)
        return data, what
    path = check_input_file(source, what="image")
    what = str(path)
    _check_size(what, path.stat().st_size, limit)
    return path.read_bytes(), what


def max_file_bytes() -> int:
    """Largest accepted image file [bytes] (``limits.max_file_size``)."""
    return int(parameters()["limits.max_file_size"] * 1024 * 1024)


def _check_size(what: str, size: int, limit: int) -> None:
    if size > limit:
        raise InputError(
            f"{what}: the image is {size / 1024**2:.1f} MB, more than the {limit / 1024**2:.0f} MB "
            "limit; send a smaller photo (reduce the resolution or the JPEG quality)."
        )


def check_image(
    source: str | os.PathLike | bytes,
    name: str | None = None,
    *,
    max_bytes: int | None = None,
    max_pixels: int | None = None,
) -> CheckedImage:
    """Validate an image completely and read its EXIF capture time and GPS position.

    Parameters
    ----------
    source : path-like or bytes
        The image file or its content.
    name : str, optional
        How to call the image in messages (default: the path, or "the uploaded image").
    max_bytes, max_pixels : int, optional
        Limits [bytes], [pixels]; default ``limits.max_file_size`` and ``limits.max_pixels`` of images.toml.

    Returns
    -------
    CheckedImage

    Raises
    ------
    orchard.errors.InputError
        Too large (bytes or pixels), not an image, a format other than JPEG/PNG/WebP, or a damaged image.
    """
    from PIL import Image, UnidentifiedImageError

    data, what = read_image_bytes(source, name, max_bytes)
    pixel_limit = max_pixels if max_pixels is not None else int(parameters()["limits.max_pixels"] * 1e6)
    with warnings.catch_warnings():
        # Pillow warns (and above twice its limit refuses) on huge images; our own limit is checked first.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:  # reads the header only
                image_format = probe.format
                width, height = probe.size
                if image_format not in FORMATS:
                    raise InputError(
                        f"{what}: the image is {image_format}, not JPEG, PNG or WebP; save it "
                        "as JPEG and add it again."
                    )
                _check_pixels(what, width, height, pixel_limit)
                probe.verify()  # structure and checksums (PNG CRCs)
            with Image.open(io.BytesIO(data)) as image:  # verify() leaves the image unusable: reopen
                image.load()  # decode every pixel: truncated data fails here
                exif = image.getexif()
        except InputError:
            raise
        except UnidentifiedImageError:
            raise InputError(
                f"{what}: the file is not an image (its content is not JPEG, PNG or WebP, "
                "whatever its name); choose a photo file."
            ) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InputError(
                f"{what}: the image has too many pixels to decode safely (limit "
                f"{pixel_limit / 1e6:.0f} Mpx); send a smaller photo."
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
            # Pillow reports damaged data with these types (truncated stream, bad CRC, broken chunk).
            raise InputError(
                f"{what}: the image is damaged and cannot be decoded ({_first_line(exc)}); "
                "copy the photo again from the camera or phone."
            ) from None
    lat, lon = gps_position(exif)
    return CheckedImage(
        data=data,
        image_format=image_format,
        width_px=width,
        height_px=height,
        lat=lat,
        lon=lon,
        taken_utc=capture_time_utc(exif),
    )


def _check_pixels(what: str, width: int, height: int, limit: int) -> None:
    if width < 1 or height < 1:
        raise InputError(f"{what}: the image has no pixels ({width} x {height}); choose another photo.")
    min_side = int(parameters()["limits.min_side"])
    if min(width, height) < min_side:
        raise InputError(f"{what}: the image is only {width} x {height} pixels, too small to show a leaf "
                         f"or fruit (at least {min_side} pixels a side); send the photo itself, not a "
                         "thumbnail.")
    if width * height > limit:
        raise InputError(
            f"{what}: the image has {width * height / 1e6:.0f} Mpx ({width} x {height}), more than "
            f"the {limit / 1e6:.0f} Mpx limit; send a smaller photo."
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ----------------------------------------------------------------------------------------------------------
# EXIF
# ----------------------------------------------------------------------------------------------------------
def dms_to_degrees(dms, ref: str | None) -> float | None:
    """Degrees, minutes, seconds (EXIF rationals) to signed decimal degrees [deg].

    Parameters
    ----------
    dms : sequence of three numbers
        Degrees, minutes and seconds, as EXIF GPSLatitude / GPSLongitude store them (rationals).
    ref : str
        "N"/"S" for latitude, "E"/"W" for longitude; "S" and "W" give negative degrees.

    Returns
    -------
    float or None
        None when the value is missing or not three finite numbers.

    References
    ----------
    EXIF 2.32 (CIPA DC-008-2019) §4.6.6: GPSLatitude is "degrees, minutes, and seconds" as three RATIONALs.
    """
    try:
        d, m, s = (float(x) for x in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60.0 + s / 3600.0
    if value != value or value in (float("inf"), float("-inf")):
        return None
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    return -value if str(ref or "").strip().upper() in ("S", "W") else value


def gps_position(exif) -> tuple[float | None, float | None]:
    """(latitude, longitude) [deg] from a Pillow ``Image.Exif``; (None, None) without a usable GPS block."""
    try:
        gps = exif.get_ifd(_GPS_IFD)
    except Exception:  # noqa: BLE001 - a broken GPS block is treated as absent, never fatal
        return None, None
    if not gps:
        return None, None
    lat = dms_to_degrees(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF))
    lon = dms_to_degrees(gps.get(_GPS_LON), gps.get(_GPS_LON_REF))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None  # 0, 0 is what cameras without a fix write
    return lat, lon


def capture_time_utc(exif) -> datetime | None:
    """EXIF DateTimeOriginal as an aware UTC datetime, or None.

    EXIF times are local camera time without a zone. OffsetTimeOriginal (EXIF 2.31) gives the offset when the
    camera wrote it; otherwise China Standard Time (UTC+8, ``orchard.config.CHINA_UTC_OFFSET_H``) is assumed,
    the zone of every district the toolkit serves.
    """
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:  # noqa: BLE001 - a broken EXIF block is treated as absent
        return None
    text = sub.get(_DATETIME_ORIGINAL) or exif.get(0x0132)  # 0x0132 DateTime (last change) as fallback
    if not isinstance(text, str):
        return None
    try:
        local = datetime.strptime(text.strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = timedelta(hours=CHINA_UTC_OFFSET_H)
    raw_offset = sub.get(_OFFSET_TIME_ORIGINAL)
    if isinstance(raw_offset, str) and len(raw_offset.strip()) == 6:
        sign = -1 if raw_offset.strip()[0] == "-" else 1
        try:
            hours, minutes = int(raw_offset.strip()[1:3]), int(raw_offset.strip()[4:6])
            offset = sign * timedelta(hours=hours, minutes=minutes)
        except ValueError:
            pass
    return local.replace(tzinfo=timezone(offset)).astimezone(UTC)
