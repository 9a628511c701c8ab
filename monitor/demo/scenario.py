"""The bundled demo scenario: two simulated days of posts about OKI.

Background chatter, a few small complaints that never grow, look-alike posts
about other regencies and about "Oki" the celebrity, and one damaged-road
complaint in Kecamatan Cengal that starts with a post or two and grows into a
viral issue around hour 38. Deterministic: the same seed gives the same posts.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from collectors.base import RawItem

START = datetime(2026, 11, 1, 17, 0, tzinfo=UTC)
"""Monday 2 November 2026, 00:00 WIB."""
HOURS = 48
ROAD_START_HOUR = 6.0
ROAD_TAKEOFF_HOUR = 16.0
ROAD_PEAK_HOUR = 38.0

# Which demo source carries which platform (names match the demo config).
SOURCE_OF = {
    "rss": "demo-berita",
    "mastodon": "demo-mastodon",
    "bluesky": "demo-bluesky",
    "telegram": "demo-telegram",
    "x": "demo-x",
    "youtube": "demo-youtube",
}


@dataclass(frozen=True)
class ScenarioPost:
    """A post plus how its engagement grows after publication (for tracking replays)."""

    item: RawItem
    role: str
    """road | small | chatter | lookalike"""
    growth_per_hour: float = 0.0

    def at(self, now: datetime) -> RawItem:
        """The item as a source would report it at ``now`` (engagement grown since publication)."""
        hours = max((now - self.item.created_at).total_seconds() / 3600, 0.0)
        factor = 1.0 + self.growth_per_hour * min(hours, 24.0)
        return replace(
            self.item,
            likes=int(self.item.likes * factor),
            shares=int(self.item.shares * factor),
            replies=int(self.item.replies * factor),
            views=int(self.item.views * factor),
        )


ROAD_TEXTS = [
    "Jalan di Desa Sungai Lumpur Kec. Cengal rusak parah, lubang sebesar kolam, motor warga jatuh tiap hari #OKI",
    "Min @pemkaboki jalan poros Cengal dak pacak dilewati lagi, kapan diperbaiki?",
    "Jalan Sungai Lumpur Cengal makin ancur, truk sawit amblas lagi pagi ini. Pemkab OKI kemana?",
    "Sudah 3 bulan jalan desa Sungai Lumpur rusak, anak sekolah jalan kaki lewat lumpur. Tolong Dinas PUPR OKI",
    "jln ke sungai lumpur cengal ancur nian, mobil ambulans dak biso masuk 😡 #kabupatenoki",
    "Warga Cengal OKI tanam pohon pisang di tengah jalan rusak sebagai protes",
    "Ini jalan kabupaten apa kubangan kerbau? Sungai Lumpur, Cengal, Ogan Komering Ilir",
    "Parah galak jalan di Cengal ni, lubang dimano-mano, la berapa kali motor nyungsep",
    "Jalan rusak di Desa Sungai Lumpur Cengal viral, warga minta Bupati OKI turun langsung",
    "Tolong diviralkan! Jalan poros Sungai Lumpur Kecamatan Cengal OKI rusak berat bertahun-tahun",
    "Kondisi jalan Cengal OKI pas ujan, lumpur sedengkul. Kapan diaspal pak?",
    "Anak2 sekolah di Sungai Lumpur Cengal harus dorong motor tiap pagi gara2 jalan rusak",
    "Pemkab OKI jangan diam aja, jalan Cengal ni la hancur, ekonomi warga lumpuh",
    "Jalan rusak Cengal OKI: truk terguling, sopir luka. Sampai kapan dibiarkan?",
    "Ikut nyuarakan jalan rusak di Desa Sungai Lumpur Kec Cengal Kab OKI 🙏 semoga cepat ditangani",
]
ROAD_NEWS = [
    "Warga Desa Sungai Lumpur Keluhkan Jalan Rusak Parah di Kecamatan Cengal OKI",
    "Jalan Poros Cengal OKI Rusak Berat, Warga Tanam Pisang sebagai Protes",
    "Video Jalan Rusak di Cengal OKI Viral, DPRD Minta Dinas PUPR Bertindak",
]
SMALL = [
    (
        "air_bersih",
        [
            "Air PDAM di Kelurahan Jua-Jua Kayuagung keruh dari kemarin, baunya amis",
            "Air PDAM Tirta Agung mati lagi di Jua-Jua Kayu Agung, sudah 2 hari",
        ],
    ),
    (
        "adminduk",
        [
            "Blanko KTP-el habis lagi di Disdukcapil OKI, disuruh balik bulan depan",
            "Urus KK di Disdukcapil OKI antre dari subuh, sistem offline terus",
            "Sudah sebulan nunggu KTP di Kayuagung belum jadi juga, blanko habis katanya",
        ],
    ),
    (
        "bansos",
        [
            "BLT dana desa di Desa Pedamaran VI belum cair, padahal desa lain sudah. Kenapa ya?",
        ],
    ),
]
CHATTER = [
    "Selamat pagi Kayuagung, cuaca cerah hari ini ☀️",
    "Bupati OKI Muchendi hadiri peresmian masjid di Kecamatan Tanjung Lubuk",
    "Festival Bende Seguguk di Kayuagung meriah, ribuan warga hadir",
    "Pemkab OKI gelar vaksinasi gratis di Puskesmas Kayu Agung minggu ini",
    "Pempek di pasar Kayuagung paling lemak, mampir yo",
    "Tim sepak bola OKI juara turnamen antar kabupaten di Palembang",
    "Pelayanan di Mal Pelayanan Publik Kayuagung cepat, terima kasih petugas",
    "Disdukcapil OKI buka layanan jemput bola di Kecamatan Pampangan hari Sabtu",
    "Pasar bedug Ramadan di Kayuagung ramai pengunjung",
    "Dinas Pertanian OKI bagikan bibit padi untuk petani Pedamaran",
]
LOOKALIKES = [
    "Ceramah Ustazah Oki Setiana Dewi bikin adem, masyaallah",
    "KTT OKI kecam serangan Israel ke Gaza, negara anggota sepakat bersikap",
    "Jalan rusak di Baturaja OKU belum juga diperbaiki, warga kesal",
    "Banjir di Mesuji Lampung rendam ratusan rumah warga",
    "Printer OKI C332 saya error terus, ada yang bisa servis?",
    "Oki Setiana Dewi dan Ria Ricis liburan bareng keluarga",
    "Jalan berlubang di Indralaya Ogan Ilir bikin pengendara celaka",
]


def _road_rate(hour: float) -> float:
    """Posts per hour about the road: a trickle, then accelerating growth to a peak, then decline."""
    if hour < ROAD_START_HOUR:
        return 0.0
    if hour < ROAD_TAKEOFF_HOUR:
        return 0.5
    if hour <= ROAD_PEAK_HOUR:
        return min(0.5 * math.exp((hour - ROAD_TAKEOFF_HOUR) / 5.5), 30.0)
    return max(30.0 * math.exp(-(hour - ROAD_PEAK_HOUR) / 3.0), 0.3)


def _diurnal(hour: float) -> float:
    """Indonesian social media is quiet at night (WIB) and busiest in the evening."""
    local = hour % 24
    return 0.25 if local < 5 else (1.4 if 18 <= local <= 22 else 1.0)


def build_scenario(seed: int = 7) -> list[ScenarioPost]:
    """Every post of the two-day scenario, ordered by time."""
    rng = random.Random(seed)
    posts: list[ScenarioPost] = []
    counter = 0

    def add(
        hour: float,
        text: str,
        platform: str,
        role: str,
        *,
        title: str | None = None,
        likes: int = 0,
        shares: int = 0,
        replies: int = 0,
        views: int = 0,
        growth: float = 0.0,
    ) -> None:
        nonlocal counter
        counter += 1
        created = START + timedelta(hours=hour)
        kind = "news" if platform == "rss" else ("comment" if platform == "youtube" else "post")
        item = RawItem(
            source=SOURCE_OF[platform],
            platform=platform,
            external_id=f"{platform}-{counter:05d}",
            text=text,
            created_at=created,
            title=title,
            url=f"https://demo.invalid/{platform}/{counter}",
            author=f"warga{rng.randint(1, 400)}",
            kind=kind,
            likes=likes,
            shares=shares,
            replies=replies,
            views=views,
        )
        posts.append(ScenarioPost(item, role, growth))

    social = ["mastodon", "bluesky", "telegram", "x", "youtube"]
    # The damaged road in Cengal.
    hour = ROAD_START_HOUR
    while hour < HOURS:
        rate = _road_rate(hour) * _diurnal(hour)
        if rate <= 0:
            hour += 0.25
            continue
        hour += rng.expovariate(rate)
        if hour >= HOURS:
            break
        heat = _road_rate(hour) / 30.0
        platform = rng.choice(social)
        base = 1 + heat * 60
        add(
            hour,
            rng.choice(ROAD_TEXTS),
            platform,
            "road",
            likes=int(base * rng.uniform(2, 6)),
            shares=int(base * rng.uniform(0.5, 2)),
            replies=int(base * rng.uniform(0.5, 3)),
            views=int(base * rng.uniform(50, 200)),
            growth=0.3 + heat,
        )
    for i, title in enumerate(ROAD_NEWS):
        add(
            28.0 + i * 3.5,
            f"{title}. Warga berharap Pemkab OKI segera memperbaiki jalan poros desa.",
            "rss",
            "road",
            title=title,
        )
    # Small complaints that stay small.
    for _topic, texts in SMALL:
        start = rng.uniform(2, 30)
        for j, text in enumerate(texts):
            add(
                start + j * rng.uniform(3, 9),
                text,
                rng.choice(social),
                "small",
                likes=rng.randint(0, 8),
                shares=rng.randint(0, 2),
                replies=rng.randint(0, 3),
                views=rng.randint(20, 300),
            )
    # Background chatter and look-alikes, with a daily rhythm.
    hour = 0.0
    while hour < HOURS:
        hour += rng.expovariate(2.5 * _diurnal(hour))
        if hour >= HOURS:
            break
        if rng.random() < 0.35:
            add(
                hour,
                rng.choice(LOOKALIKES),
                rng.choice(social),
                "lookalike",
                likes=rng.randint(0, 500),
                shares=rng.randint(0, 80),
                views=rng.randint(100, 20000),
            )
        else:
            platform = rng.choice(["rss", *social])
            text = rng.choice(CHATTER)
            add(
                hour,
                text,
                platform,
                "chatter",
                title=text if platform == "rss" else None,
                likes=rng.randint(0, 30),
                views=rng.randint(10, 800),
            )
    posts.sort(key=lambda p: p.item.created_at)
    return posts


def peak_time(posts: list[ScenarioPost], role: str = "road", bin_hours: float = 1.0) -> datetime:
    """When the busiest hour of the posts with ``role`` began."""
    counts: dict[int, int] = {}
    for p in posts:
        if p.role == role:
            b = int((p.item.created_at - START).total_seconds() // (bin_hours * 3600))
            counts[b] = counts.get(b, 0) + 1
    best = max(counts, key=lambda b: (counts[b], -b))
    return START + timedelta(hours=best * bin_hours)
