"""Forwarded photos and screenshots: OCR with Tesseract (Indonesian), its bounds, and `oki-monitor read-image`."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from collectors.laporan import find_links, parse_opengraph, parse_telegram, parse_whatsapp
from collectors.ocr import ImageRefused, OcrLimits, binarise, otsu_level, read_image
from monitor.demo.screenshot import chat_screenshot
from tests.cli_support import run_main

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
COMPLAINT = "Jalan di Desa Sukamulya Kecamatan Tanjung Lubuk rusak parah dan banjir saat hujan"


def words(text: str) -> set[str]:
    return {w.strip(".,").lower() for w in text.split()}


def test_screenshot_text_is_read_back_light_and_dark() -> None:
    for dark in (False, True):
        result = read_image(chat_screenshot(COMPLAINT, dark=dark))
        assert words(COMPLAINT) <= words(result.text), (dark, result.text)
        assert result.format == "PNG"


def test_read_image_command_prints_the_drawn_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shot = tmp_path / "laporan.png"
    shot.write_bytes(chat_screenshot(COMPLAINT))
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", "cli-test-key-0123456789")
    done = run_main(capsys, "read-image", str(shot))
    assert done.returncode == 0, done.stderr
    assert words(COMPLAINT) <= words(done.stdout)


def test_read_image_command_refuses_a_non_image_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "bukan.png"
    bogus.write_bytes(b"%PDF-1.7 not an image at all")
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("OKI_MONITOR_AUTHOR_KEY", raising=False)  # as before: the command needs no author key
    done = run_main(capsys, "read-image", str(bogus))
    assert done.returncode == 2
    assert "bukan gambar" in done.stderr and "Traceback" not in done.stderr


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 255).save(out, format="PNG", optimize=True)
    return out.getvalue()


def test_hostile_images_are_refused_with_a_reason() -> None:
    with pytest.raises(ImageRefused, match="bukan gambar"):
        read_image(b"<html>hello</html>")
    with pytest.raises(ImageRefused, match="kosong"):
        read_image(b"")
    # A small file claiming many pixels (decompression bomb) is refused from its header.
    bomb = _png(9000, 9000)
    assert len(bomb) < 200_000
    with pytest.raises(ImageRefused, match="piksel"):
        read_image(bomb, OcrLimits(max_pixels=50_000_000))
    with pytest.raises(ImageRefused, match="terlalu besar"):
        read_image(chat_screenshot(COMPLAINT), OcrLimits(max_bytes=2048))
    # Truncated data: a valid header, then nothing.
    with pytest.raises(ImageRefused, match="rusak"):
        read_image(chat_screenshot(COMPLAINT)[:400])


def test_ocr_time_is_bounded() -> None:
    with pytest.raises(ImageRefused, match="batas"):
        read_image(chat_screenshot(COMPLAINT * 4), OcrLimits(timeout_seconds=0.01))


def test_otsu_splits_two_levels_and_dark_mode_is_inverted() -> None:
    histogram = [0] * 256
    histogram[30], histogram[220] = 100, 900
    assert 30 <= otsu_level(histogram) < 220
    dark = Image.new("L", (40, 40), 20)
    dark.paste(230, (10, 10, 20, 20))
    out = binarise(dark)
    assert out.getpixel((0, 0)) == 255 and out.getpixel((15, 15)) == 0  # black ink on white paper


def test_opengraph_title_and_description() -> None:
    html = """<html><head><title>Lain</title>
    <meta property="og:title" content="Warga Keluhkan Jalan Rusak di Pampangan">
    <meta property="og:description" content="Jalan penghubung desa berlubang &amp; tergenang.">
    <meta property="og:site_name" content="Berita OKI"></head><body>x</body></html>"""
    assert parse_opengraph(html) == (
        "Warga Keluhkan Jalan Rusak di Pampangan",
        "Jalan penghubung desa berlubang & tergenang.",
        "Berita OKI",
    )
    assert parse_opengraph("<title>Judul saja</title>") == ("Judul saja", "", "")


def test_telegram_messages_are_reports_only_in_private_chats() -> None:
    user = {"id": 4242, "is_bot": False, "first_name": "Camat", "username": "camat_pampangan"}
    private = {"id": 4242, "type": "private"}
    photo = {
        "message_id": 7,
        "from": user,
        "chat": private,
        "date": 1796000000,
        "caption": "lihat https://contoh.example/berita.",
        "photo": [
            {"file_id": "small", "width": 90, "height": 160, "file_size": 900},
            {"file_id": "big", "width": 720, "height": 1280, "file_size": 90000},
        ],
    }
    inbound = parse_telegram(photo, NOW)
    assert inbound is not None and inbound.media is not None
    assert inbound.media.ref == "big" and inbound.media.size == 90000
    assert inbound.links == ("https://contoh.example/berita",)
    assert inbound.names == ("4242", "@camat_pampangan") and inbound.reply_to == "4242"
    assert parse_telegram({**photo, "chat": {"id": -100, "type": "supergroup"}}, NOW) is None
    assert parse_telegram({**photo, "from": {**user, "is_bot": True}}, NOW) is None
    pdf = {"message_id": 8, "from": user, "chat": private, "document": {"file_id": "d", "mime_type": "application/pdf"}}
    refused = parse_telegram(pdf, NOW)
    assert refused is not None and refused.problem is not None and "application/pdf" in refused.problem
    assert parse_telegram({"message_id": 9, "from": user, "chat": private, "text": "/start"}, NOW) is None


def test_whatsapp_inbound_kinds() -> None:
    image = {
        "from": "6281200000001",
        "id": "wamid.A",
        "timestamp": "1796000000",
        "type": "image",
        "image": {"id": "MEDIA1", "mime_type": "image/jpeg", "sha256": "x", "caption": "jalan rusak"},
    }
    inbound = parse_whatsapp(image, "6281200000001", NOW)
    assert inbound is not None and inbound.media is not None and inbound.media.ref == "MEDIA1"
    assert inbound.sender == "whatsapp:+6281200000001" and inbound.key == "wa:wamid.A"
    button = {"id": "wamid.B", "type": "button", "button": {"payload": "ack:x"}}
    assert parse_whatsapp(button, "6281200000001", NOW) is None
    voice = {"id": "wamid.C", "type": "audio", "audio": {"id": "M2"}}
    refused = parse_whatsapp(voice, "6281200000001", NOW)
    assert refused is not None and refused.problem is not None


def test_links_from_entities_and_text() -> None:
    entities = [{"type": "text_link", "offset": 0, "length": 4, "url": "https://a.example/x"}]
    assert find_links("baca ini: http://b.example/y, ok", entities) == ("https://a.example/x", "http://b.example/y")
    assert find_links("ftp://no.example javascript:alert(1)") == ()
