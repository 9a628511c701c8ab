"""The complaint topic keys (shared/design/taxonomy.md): a contract with `classify`, routing and evaluation."""

from __future__ import annotations

TOPIC_LABELS: dict[str, str] = {
    "infrastruktur": "Infrastruktur",
    "air_bersih": "Air bersih",
    "listrik": "Listrik",
    "kesehatan": "Kesehatan",
    "pendidikan": "Pendidikan",
    "adminduk": "Administrasi kependudukan",
    "bansos": "Bantuan sosial",
    "lingkungan": "Lingkungan",
    "bencana": "Bencana",
    "transportasi": "Transportasi",
    "ketenagakerjaan": "Ketenagakerjaan",
    "pungli_korupsi": "Pungli/korupsi",
    "pertanian": "Pertanian",
    "ketertiban": "Ketertiban",
    "harga_kebutuhan": "Harga kebutuhan",
    "pelayanan_publik": "Pelayanan publik",
}
"""Each key with the name users see (Bahasa Indonesia), in the taxonomy's order."""

TOPICS: tuple[str, ...] = tuple(TOPIC_LABELS)

TOPIC_LONG_LABELS: dict[str, str] = {
    **TOPIC_LABELS,
    "infrastruktur": "Infrastruktur (jalan, jembatan, drainase)",
    "air_bersih": "Air bersih (PDAM)",
    "listrik": "Listrik (PLN)",
    "lingkungan": "Lingkungan hidup",
    "ketertiban": "Ketertiban umum",
    "harga_kebutuhan": "Harga kebutuhan pokok",
}
"""The longer names alert messages use, where a hint says which service is meant."""
