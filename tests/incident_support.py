"""The posts of issue #18's morning: a bridge collapse in Desa Bangsal (Pampangan) with five facets over three
hours, a look-alike collapse in Ogan Ilir, yesterday's water issue in Desa Sukadana and today's in Kedaton."""

from __future__ import annotations

from datetime import UTC, datetime

# Tuesday 1 December 2026, 09:00 WIB: a working day, outside quiet hours.
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

# (minutes after T0, facet, text). Facets: the event's five, and what runs alongside it.
BRIDGE = [
    # The bridge.
    (
        0,
        "bridge",
        "Jembatan gantung di Desa Bangsal, Kecamatan Pampangan OKI putus pagi ini, warga tidak bisa menyeberang",
    ),
    (
        5,
        "bridge",
        "Innalillahi jembatan gantung Bangsal Pampangan ambruk, tali sling putus, untung dak ado korban jiwa",
    ),
    (
        20,
        "bridge",
        "Video detik-detik jembatan gantung Desa Bangsal Kec. Pampangan roboh ke sungai. Tolong Dinas PUPR OKI",
    ),
    (
        45,
        "bridge",
        "Jembatan gantung satu-satunya akses warga Bangsal Pampangan putus total, motor tidak bisa lewat lagi",
    ),
    (
        90,
        "bridge",
        "Sudah lama warga minta jembatan gantung Bangsal diperbaiki, sekarang ambruk. Pampangan OKI butuh jembatan",
    ),
    (150, "bridge", "Jembatan gantung Bangsal Pampangan harus dibangun cepat, warga terisolir sejak jembatan putus"),
    # Children cannot reach school (half of the posts do not name the bridge at all).
    (
        30,
        "school",
        "Anak-anak SD di Desa Bangsal Pampangan tidak bisa berangkat sekolah karena jembatan gantung ambruk",
    ),
    (60, "school", "Murid SMP Bangsal Pampangan diliburkan sampai ada penyeberangan yang aman"),
    (
        100,
        "school",
        "Anak-anak Desa Bangsal terpaksa bolos, sekolah mereka di seberang dan tidak ada cara menyeberang lagi",
    ),
    (140, "school", "Kasihan anak sekolah di Bangsal Pampangan, jembatan ambruk, sekolah di seberang tidak terjangkau"),
    # Rafts of oil drums to cross the river.
    (40, "raft", "Warga Bangsal Pampangan bikin rakit dari drum bekas untuk menyeberang sungai, anak-anak ikut naik"),
    (
        80,
        "raft",
        "Rakit dari drum bekas jadi penyeberangan darurat warga Desa Bangsal Pampangan pasca jembatan gantung ambruk",
    ),
    (130, "raft", "Ngeri, warga Bangsal Pampangan naik rakit drum menyeberangi sungai karena jembatan putus"),
    # The midwife and the puskesmas cannot get through.
    (50, "health", "Bidan desa Bangsal tidak bisa menjangkau ibu hamil di seberang, warga minta perhatian Dinkes"),
    (
        110,
        "health",
        "Petugas puskesmas Pampangan tidak bisa menjangkau pasien di Desa Bangsal karena jembatan gantung ambruk",
    ),
    (160, "health", "Pasien dari Bangsal Pampangan harus ditandu naik rakit ke puskesmas"),
    # The regency answers.
    (
        120,
        "response",
        "Pemkab OKI janjikan jembatan darurat di Desa Bangsal Pampangan, Dinas PUPR sudah turun ke lokasi",
    ),
    (
        170,
        "response",
        "Bupati OKI menanggapi ambruknya jembatan gantung Bangsal, akan segera dibangun jembatan darurat",
    ),
    (
        175,
        "response",
        "Dinas PUPR OKI menyiapkan jembatan darurat untuk warga Desa Bangsal Pampangan pasca jembatan putus",
    ),
]
LOOKALIKE = [
    (
        35,
        "lookalike",
        "Jembatan ambruk, jangan lewat Tanjung Raja dulu, warga Indralaya Ogan Ilir diminta cari jalan lain",
    ),
    (95, "lookalike", "Jembatan gantung di Tanjung Raja Ogan Ilir putus, warga Indralaya kesulitan menyeberang"),
    (155, "lookalike", "Pemkab Ogan Ilir janjikan perbaikan jembatan ambruk di Tanjung Raja, warga Indralaya lega"),
]
NEW_WATER = [
    (65, "water_new", "Air PDAM keruh di Kelurahan Kedaton Kayuagung, tidak bisa dipakai mandi"),
    (125, "water_new", "Warga Kedaton Kayuagung keluhkan air PDAM keruh pagi ini"),
]
# Yesterday, 13:00 and 13:30 WIB.
OLD_WATER = [
    (-20 * 60, "water_old", "Air PDAM di Desa Sukadana Kayuagung keruh dan bau sejak kemarin"),
    (-20 * 60 + 30, "water_old", "Air PDAM Sukadana Kayuagung keruh kecoklatan, tidak bisa buat masak"),
]
EVENT_FACETS = ("bridge", "school", "raft", "health", "response")
