"""Reading forwarded photos and phone screenshots: Pillow pre-processing, then Tesseract (Indonesian data).

Tesseract runs as a subprocess (Debian ``tesseract-ocr`` + ``tesseract-ocr-ind``; scripts/system-deps.sh
installs them): no Python binding to keep in step with the C library, and a timeout that really
stops it (``subprocess.run`` kills the child). Every input is bounded before any pixel is decoded:

* bytes (:attr:`OcrLimits.max_bytes`), checked on the raw file;
* pixels (:attr:`OcrLimits.max_pixels`), checked on the header only, so a 20 KB PNG that claims
  50 000 × 50 000 pixels (a decompression bomb) is refused without allocating it;
* seconds (:attr:`OcrLimits.timeout_seconds`) for Tesseract itself.

Pre-processing is tuned for phone screenshots (chat bubbles, dark mode, small UI text): grayscale,
dark backgrounds inverted, upscaled when the text is likely small, and an Otsu threshold so
coloured bubbles become white paper with black ink. :func:`read_image` raises
:class:`ImageRefused` with a Bahasa reason for anything it cannot or will not read; the caller
stores the reason (the forwarder's reply says it), nothing else is lost.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = frozenset({"PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"})
"""Formats a phone or messenger sends; others (PSD, EPS with its Ghostscript call ...) are refused."""

DEFAULT_LANG = "ind"
INSTALL_HINT = "pasang dengan: sudo apt-get install tesseract-ocr tesseract-ocr-ind"


class ImageRefused(ValueError):
    """The file is not an image we read, or breaks a bound; the message (Bahasa) says which."""


class OcrUnavailable(RuntimeError):
    """Tesseract or its language data is missing on this machine (an operator problem, not the file's)."""


@dataclass(frozen=True, slots=True)
class OcrLimits:
    """Bounds for one image."""

    max_bytes: int = 10 * 1024 * 1024
    """Largest file accepted (Telegram sends photos up to ~10 MB; WhatsApp images up to 5 MB)."""
    max_pixels: int = 40_000_000
    """Largest width × height decoded (a tall scrolling screenshot is ~1080 × 20 000)."""
    max_side: int = 4000
    """Upscaling stops here; larger sides are shrunk (Tesseract's time grows with the area)."""
    timeout_seconds: float = 30.0
    lang: str = DEFAULT_LANG


@dataclass(frozen=True, slots=True)
class OcrResult:
    text: str
    width: int
    height: int
    format: str


def prepare(data: bytes, limits: OcrLimits = OcrLimits()) -> tuple[Image.Image, str]:
    """The black-on-white grayscale image Tesseract reads best, and the file's format.

    Raises :class:`ImageRefused` for a file over the byte or pixel bound, or one that is not an image.
    """
    if len(data) > limits.max_bytes:
        raise ImageRefused(f"berkas gambar {len(data):,} byte terlalu besar (maks {limits.max_bytes:,} byte)")
    if not data:
        raise ImageRefused("berkas gambar kosong")
    try:
        opened = Image.open(io.BytesIO(data))  # reads the header only
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ImageRefused("berkas ini bukan gambar yang dikenali (kirim foto atau tangkapan layar PNG/JPEG)") from None
    fmt = str(opened.format or "")
    if fmt not in FORMATS:
        raise ImageRefused(f"format gambar {fmt or 'tak dikenal'} tidak dibaca (kirim PNG atau JPEG)")
    width, height = opened.size
    if width * height > limits.max_pixels:
        raise ImageRefused(
            f"gambar {width} × {height} piksel terlalu besar (maks {limits.max_pixels:,} piksel); potong dulu"
        )
    try:
        opened.load()
        image: Image.Image = ImageOps.exif_transpose(opened) or opened
        gray = ImageOps.grayscale(image.convert("RGB") if image.mode in ("P", "RGBA", "LA", "CMYK") else image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageRefused(f"gambar rusak atau terpotong ({exc.__class__.__name__})") from None
    return binarise(scale(gray, limits.max_side)), fmt


def scale(gray: Image.Image, max_side: int) -> Image.Image:
    """Upscale small images (phone UI text is ~20 px high; Tesseract wants ~30), shrink huge ones."""
    width, height = gray.size
    factor = 1.0
    if max(width, height) < 1600:
        factor = 2.0
    factor = min(factor, max_side / max(width, height))
    if abs(factor - 1.0) < 0.05:
        return gray
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return gray.resize(size, Image.Resampling.LANCZOS)


def otsu_level(histogram: list[int]) -> int:
    """The gray level that best splits a 256-bin histogram into two classes (Otsu's method)."""
    total = sum(histogram)
    if total == 0:
        return 128
    sum_all = sum(i * h for i, h in enumerate(histogram))
    weight_bg = 0
    sum_bg = 0.0
    best, level = -1.0, 128
    for i, h in enumerate(histogram):
        weight_bg += h
        if weight_bg == 0:
            continue
        weight_fg = total - weight_bg
        if weight_fg == 0:
            break
        sum_bg += i * h
        mean_bg = sum_bg / weight_bg
        mean_fg = (sum_all - sum_bg) / weight_fg
        between = weight_bg * weight_fg * (mean_bg - mean_fg) ** 2
        if between > best:
            best, level = between, i
    return level


def binarise(gray: Image.Image) -> Image.Image:
    """Black text on white: dark-mode screenshots are inverted first, then an Otsu threshold."""
    histogram = gray.histogram()[:256]
    pixels = sum(histogram) or 1
    mean = sum(i * h for i, h in enumerate(histogram)) / pixels
    if mean < 110:  # mostly dark: light text on a dark background
        gray = ImageOps.invert(gray)
        histogram = gray.histogram()[:256]
    gray = ImageOps.autocontrast(gray, cutoff=1)
    level = otsu_level(gray.histogram()[:256])
    return gray.point(lambda p: 255 if p > level else 0, mode="L")


_JUNK_LINE = re.compile(r"^[\W_]{0,3}$")


def clean_ocr(text: str) -> str:
    """Tesseract's output without empty lines and UI crumbs (lines of only punctuation), spaces collapsed."""
    lines = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if line and not _JUNK_LINE.fullmatch(line) and any(ch.isalnum() for ch in line):
            lines.append(line)
    return "\n".join(lines)


def run_tesseract(image: Image.Image, limits: OcrLimits = OcrLimits()) -> str:
    """Tesseract's text for a prepared image, within ``limits.timeout_seconds``."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    # One thread: the machine is shared, and OpenMP threads make Tesseract slower on small images.
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        done = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", limits.lang, "--psm", "3"],
            input=buffer.getvalue(),
            capture_output=True,
            timeout=limits.timeout_seconds,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        raise OcrUnavailable(f"program tesseract tidak ditemukan; {INSTALL_HINT}") from None
    except subprocess.TimeoutExpired:
        raise ImageRefused(
            f"pembacaan gambar melewati batas {limits.timeout_seconds:g} detik; kirim potongan yang lebih kecil"
        ) from None
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", errors="replace")
        if "Failed loading language" in err or "Error opening data file" in err:
            raise OcrUnavailable(f"data bahasa {limits.lang!r} Tesseract tidak ada; {INSTALL_HINT}")
        raise ImageRefused(f"Tesseract gagal membaca gambar (kode {done.returncode})")
    return done.stdout.decode("utf-8", errors="replace")


def read_image(data: bytes, limits: OcrLimits = OcrLimits()) -> OcrResult:
    """The text of a photo or screenshot, as the intake stores it (see the module docstring for bounds)."""
    image, fmt = prepare(data, limits)
    text = clean_ocr(run_tesseract(image, limits))
    return OcrResult(text=text, width=image.width, height=image.height, format=fmt)
