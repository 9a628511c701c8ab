"""A made-up phone screenshot of a chat message (Pillow), for the demo and the intake tests.

Drawn like a WhatsApp chat: a header bar, a light-green bubble with the message, a time stamp.
The words are known, so a test can check that OCR gives them back.
"""

from __future__ import annotations

import io
import textwrap

from PIL import Image, ImageDraw, ImageFont

from monitor.reports.brief import font_dir


def chat_screenshot(message: str, *, sender: str = "Grup Warga Desa", dark: bool = False, width: int = 720) -> bytes:
    """PNG bytes of a chat screenshot showing ``message`` (wrapped) in one bubble."""
    font = ImageFont.truetype(str(font_dir() / "DejaVuSans.ttf"), 26)
    bold = ImageFont.truetype(str(font_dir() / "DejaVuSans-Bold.ttf"), 28)
    lines = textwrap.wrap(message, width=38)
    height = 220 + 40 * len(lines)
    background, bubble, ink, header = (
        ((11, 20, 26), (0, 92, 75), (233, 237, 239), (32, 44, 51))
        if dark
        else ((236, 229, 221), (220, 248, 198), (17, 27, 33), (0, 128, 105))
    )
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 90), fill=header)
    draw.text((30, 28), sender, font=bold, fill=(255, 255, 255))
    draw.rounded_rectangle((24, 120, width - 24, 150 + 40 * len(lines) + 40), radius=16, fill=bubble)
    for i, line in enumerate(lines):
        draw.text((48, 140 + 40 * i), line, font=font, fill=ink)
    draw.text((width - 130, 140 + 40 * len(lines)), "09.41", font=font, fill=(120, 130, 135))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
