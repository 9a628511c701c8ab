"""How long OCR of one forwarded screenshot takes (Pillow pre-processing, then Tesseract 'ind'), and how
well it reads: a light and a dark chat screenshot, a long one, and a phone-size photo-like JPEG.

Seconds per image (wall, median of N runs) and the share of drawn words read back. Tesseract runs
with one thread (OMP_THREAD_LIMIT=1), as the intake runs it. Prints numbers; asserts nothing.
Run: .venv/bin/python bench/ocr.py [runs]
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from collectors.ocr import read_image
from monitor.demo.screenshot import chat_screenshot

TEXT = (
    "Jalan poros Desa Sungai Lumpur Kecamatan Cengal rusak parah, lubang besar, truk sawit amblas lagi. "
    "Tolong Pemkab OKI segera perbaiki"
)


def jpeg(png: bytes, scale: float = 1.5, quality: int = 70) -> bytes:
    """The screenshot as a phone camera-size JPEG (what a forwarded photo of a screen looks like, roughly)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.resize((int(image.width * scale), int(image.height * scale)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def words(text: str) -> set[str]:
    return {w.strip(".,").lower() for w in text.split()}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    cases = {
        "terang 720 px": chat_screenshot(TEXT),
        "gelap 720 px": chat_screenshot(TEXT, dark=True),
        "panjang (4x teks)": chat_screenshot(" ".join([TEXT] * 4)),
        "JPEG 1080 px q70": jpeg(chat_screenshot(TEXT)),
    }
    print(f"{'gambar':<20} {'byte':>8} {'median s':>9} {'maks s':>7} {'kata terbaca':>13}")
    for name, data in cases.items():
        times = []
        text = ""
        for _ in range(runs):
            started = time.perf_counter()
            text = read_image(data).text
            times.append(time.perf_counter() - started)
        drawn = words(TEXT)
        share = len(drawn & words(text)) / len(drawn)
        print(f"{name:<20} {len(data):>8} {statistics.median(times):>9.2f} {max(times):>7.2f} {share:>12.0%}")


if __name__ == "__main__":
    main()
