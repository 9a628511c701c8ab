"""The agency's answer to an issue: which steps are allowed, and why a step is refused.

Pure: no database, no clock. :mod:`alerts.respond` reads the issue, asks these functions and
applies the :class:`Step` (or shows the :class:`Refusal`'s message, which names the field).

The answer is separate from the virality stage (``baru``/``naik``/``viral``/``mereda``)::

    belum_ditanggapi ─► diterima ─► diproses ─► selesai
            │               │           │ (another note)
            └──────┬────────┴───────────┴─► bukan_keluhan
                   └─► salah_dinas: the issue moves to another agency and starts there as belum_ditanggapi

``diproses`` and ``selesai`` need a note, ``selesai`` may carry a link to evidence, and
``bukan_keluhan`` needs a reason. ``selesai`` and ``bukan_keluhan`` end the agency's work; a
regression (new posts after ``selesai``) reopens the issue as ``belum_ditanggapi``.

The wording below is the one wording of every channel (dashboard, Telegram, e-mail).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

BELUM = "belum_ditanggapi"
DITERIMA = "diterima"
DIPROSES = "diproses"
SELESAI = "selesai"
BUKAN_KELUHAN = "bukan_keluhan"
SALAH_DINAS = "salah_dinas"

STATUSES: tuple[str, ...] = (BELUM, DITERIMA, DIPROSES, SELESAI, BUKAN_KELUHAN)
"""What an issue's ``response_status`` can be (``salah_dinas`` is a step, not a resting state)."""
SETTABLE: tuple[str, ...] = (DITERIMA, DIPROSES, SELESAI, BUKAN_KELUHAN)
"""Statuses a person may set (``POST /api/issues/{id}/status``)."""

STATUS_LABELS: dict[str, str] = {
    BELUM: "Belum ditanggapi",
    DITERIMA: "Diterima",
    DIPROSES: "Diproses",
    SELESAI: "Selesai",
    BUKAN_KELUHAN: "Bukan keluhan",
    SALAH_DINAS: "Salah dinas (dialihkan)",
}
"""How a status is named everywhere users see it."""

ACTION_LABELS: dict[str, str] = {
    DITERIMA: "Terima",
    DIPROSES: "Diproses",
    SELESAI: "Selesai",
    BUKAN_KELUHAN: "Bukan keluhan",
    SALAH_DINAS: "Salah dinas",
    "snooze24": "Tunda 24 jam",
    "snooze72": "Tunda 3 hari",
}
"""The button of each step, the same on the dashboard, in Telegram and in e-mail."""

NOTE_PROMPTS: dict[str, str] = {
    DIPROSES: "Tulis catatan tindak lanjut (apa yang sedang dikerjakan)",
    SELESAI: "Tulis catatan penyelesaian (boleh sertakan tautan bukti)",
    BUKAN_KELUHAN: "Tulis alasan mengapa ini bukan keluhan",
    "snooze": "Tulis alasan penundaan",
}
"""What the person is asked to write for a step that needs a note."""

NEEDS_NOTE: frozenset[str] = frozenset({DIPROSES, SELESAI, BUKAN_KELUHAN})
FINAL: frozenset[str] = frozenset({SELESAI, BUKAN_KELUHAN})
"""After these the agency's work is over (a regression reopens ``selesai``)."""

ALLOWED: dict[str, frozenset[str]] = {
    BELUM: frozenset({DITERIMA, DIPROSES, SELESAI, BUKAN_KELUHAN, SALAH_DINAS}),
    DITERIMA: frozenset({DIPROSES, SELESAI, BUKAN_KELUHAN, SALAH_DINAS}),
    DIPROSES: frozenset({DIPROSES, SELESAI, BUKAN_KELUHAN, SALAH_DINAS}),
    SELESAI: frozenset(),
    BUKAN_KELUHAN: frozenset(),
}
"""From a status, the steps that may follow. ``diproses`` again adds a progress note."""

NOTE_MAX = 2000
"""Longest note kept (a few paragraphs; a longer text is refused, not cut)."""
SNOOZE_HOURS: tuple[int, ...] = (24, 72)
"""The snoozes offered on buttons (24 hours, 3 days)."""
SNOOZE_MAX_HOURS = 72
"""An agency may snooze its issue for up to three days; longer quiet is a comms silence."""
SILENCE_MAX_HOURS = 24 * 7


@dataclass(frozen=True)
class Refusal:
    """A step that cannot be done; ``message`` (Bahasa Indonesia) names ``field``."""

    code: str
    field: str
    message: str


@dataclass(frozen=True)
class Step:
    """A step to apply to the issue."""

    previous: str
    status: str
    """The issue's status after the step (``belum_ditanggapi`` for the new agency after a reroute)."""
    note: str | None = None
    evidence_url: str | None = None
    noop: bool = False
    """Nothing changes (e.g. ``diterima`` pressed twice): answered as done, nothing recorded."""
    acknowledges: bool = False
    """Counts as the agency's acknowledgement (stops escalation), also when skipping ``diterima``."""


@dataclass(frozen=True)
class Reroute:
    """Hand the issue to ``to_agency``; the old agency's clock stops."""

    previous: str
    from_agency: str | None
    to_agency: str
    note: str | None


@dataclass(frozen=True)
class Snooze:
    hours: int
    note: str


def status_label(status: str | None) -> str:
    """The Bahasa name of a response status (unknown values shown as they are)."""
    return STATUS_LABELS.get(status or BELUM, status or "-")


def step_label(kind: str, status: str, to_agency_name: str | None = None) -> str:
    """One step of the history in words, the same on the dashboard and in messages."""
    if kind == "assigned":
        return "Masuk ke OPD (belum ditanggapi)"
    if kind == "rerouted":
        return f"Salah dinas: dialihkan ke {to_agency_name or '?'}"
    if kind == "snoozed":
        return "Ditunda"
    if kind == "reopened":
        return "Muncul lagi: dibuka kembali (belum ditanggapi)"
    return status_label(status)


def _clean_note(note: str | None) -> str:
    return (note or "").strip()


def _note_problem(note: str, required: bool, what: str) -> Refusal | None:
    if required and not note:
        return Refusal("note_required", "note", f"note: {what} wajib diisi")
    if len(note) > NOTE_MAX:
        return Refusal("note_too_long", "note", f"note: catatan terlalu panjang (maksimal {NOTE_MAX} karakter)")
    return None


def _evidence_problem(url: str) -> Refusal | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url) or len(url) > 2000:
        return Refusal(
            "evidence_url_invalid", "evidence_url", "evidence_url: tautan bukti harus alamat http(s) yang lengkap"
        )
    return None


def _issue_problem(issue_status: str) -> Refusal | None:
    if issue_status == "merged":
        return Refusal("issue_merged", "status", "status: isu ini sudah digabung ke isu lain; tanggapi isu itu")
    return None


def decide_status(
    current: str, target: str, note: str | None, *, issue_status: str = "open", evidence_url: str | None = None
) -> Step | Refusal:
    """May the agency move its issue from ``current`` to ``target`` with this note?"""
    if target not in SETTABLE:
        return Refusal(
            "status_unknown",
            "status",
            f"status: {str(target)[:40]!r} tidak dikenal; pilih {', '.join(SETTABLE)}",
        )
    refused = _issue_problem(issue_status)
    if refused is not None:
        return refused
    current = current if current in ALLOWED else BELUM
    text = _clean_note(note)
    what = "alasan" if target == BUKAN_KELUHAN else "catatan"
    refused = _note_problem(text, target in NEEDS_NOTE, what)
    if refused is not None:
        return refused
    link = (evidence_url or "").strip()
    if link:
        if target != SELESAI:
            return Refusal(
                "evidence_not_allowed", "evidence_url", "evidence_url: tautan bukti hanya untuk status selesai"
            )
        refused = _evidence_problem(link)
        if refused is not None:
            return refused
    if target == current and target == DITERIMA:
        return Step(previous=current, status=current, noop=True)
    if target not in ALLOWED[current]:
        return Refusal(
            "transition_not_allowed",
            "status",
            f"status: isu berstatus {status_label(current)}; tidak bisa diubah menjadi {status_label(target)}",
        )
    return Step(
        previous=current,
        status=target,
        note=text or None,
        evidence_url=link or None,
        acknowledges=target != BUKAN_KELUHAN,
    )


def resolve_agency(given: str | None, agencies: Iterable[tuple[str, str]]) -> str | Refusal:
    """An agency code from what a person typed or picked: its code or its name, any case.

    ``agencies`` are (code, name) pairs. "Dinas Sosial OKI", "dinas sosial oki" and "dinsos" all
    give ``dinsos``.
    """
    wanted = " ".join((given or "").split()).casefold()
    if not wanted:
        return Refusal("agency_required", "agency", "agency: pilih OPD tujuan")
    pairs = list(agencies)
    for code, name in pairs:
        if wanted in (code.casefold(), " ".join(name.split()).casefold()):
            return code
    return Refusal(
        "agency_unknown",
        "agency",
        f"agency: OPD {str(given)[:60]!r} tidak dikenal; pilih salah satu nama OPD dari daftar",
    )


def decide_reroute(
    current: str,
    from_agency: str | None,
    given_agency: str | None,
    note: str | None,
    agencies: Iterable[tuple[str, str]],
    *,
    issue_status: str = "open",
) -> Reroute | Refusal:
    """May the issue move to the agency named ``given_agency`` (code or name)?"""
    refused = _issue_problem(issue_status)
    if refused is not None:
        return Refusal(refused.code, "agency", refused.message.replace("status:", "agency:", 1))
    code = resolve_agency(given_agency, agencies)
    if isinstance(code, Refusal):
        return code
    if code == from_agency:
        return Refusal("agency_same", "agency", "agency: isu ini sudah di OPD tersebut; pilih OPD lain")
    current = current if current in ALLOWED else BELUM
    if SALAH_DINAS not in ALLOWED[current]:
        return Refusal(
            "transition_not_allowed",
            "agency",
            f"agency: isu berstatus {status_label(current)}; tidak bisa dialihkan lagi",
        )
    text = _clean_note(note)
    refused = _note_problem(text, False, "catatan")
    if refused is not None:
        return refused
    return Reroute(previous=current, from_agency=from_agency, to_agency=code, note=text or None)


def decide_snooze(current: str, hours: object, note: str | None, *, issue_status: str = "open") -> Snooze | Refusal:
    """May the agency snooze its issue for ``hours`` (1 to 72) with this reason?"""
    if isinstance(hours, bool) or not isinstance(hours, int | float) or hours != int(hours):
        return Refusal("hours_invalid", "hours", "hours: isi jumlah jam berupa bilangan bulat, mis. 24 atau 72")
    if not 1 <= int(hours) <= SNOOZE_MAX_HOURS:
        return Refusal("hours_out_of_range", "hours", f"hours: penundaan 1 sampai {SNOOZE_MAX_HOURS} jam (3 hari)")
    if issue_status != "open" or current in FINAL:
        return Refusal("issue_not_open", "hours", "hours: hanya isu yang masih terbuka yang bisa ditunda")
    text = _clean_note(note)
    refused = _note_problem(text, True, "alasan penundaan")
    if refused is not None:
        return refused
    return Snooze(hours=int(hours), note=text)


@dataclass(frozen=True)
class Silencing:
    """A comms silence to create: the alert labels it mutes, for how long, why."""

    matchers: dict[str, list[str]]
    hours: int
    note: str


def decide_silence(
    topic: str | None,
    kecamatan: str | None,
    source: str | None,
    hours: object,
    note: str | None,
    *,
    topics: Iterable[str],
    kecamatan_names: Iterable[str],
    sources: Iterable[str],
) -> Silencing | Refusal:
    """A silence of a topic × kecamatan (either may be left open, not both), or of a source.

    A topic × kecamatan silence mutes issue alerts with those labels; a source silence mutes
    that source's "sumber data diam" alerts (it is down for maintenance, say). 1 hour to 7 days.
    """
    topic, kecamatan, source = (topic or "").strip(), (kecamatan or "").strip(), (source or "").strip()
    if source and (topic or kecamatan):
        return Refusal("silence_mixed", "source", "source: pilih sumber saja, atau topik × kecamatan saja")
    if not (source or topic or kecamatan):
        return Refusal("silence_empty", "topic", "topic: pilih topik dan/atau kecamatan, atau sebuah sumber")
    matchers: dict[str, list[str]] = {}
    if source:
        if source not in set(sources):
            return Refusal("source_unknown", "source", f"source: sumber {source[:60]!r} tidak dikenal")
        matchers["source"] = [source]
    if topic:
        if topic not in set(topics):
            return Refusal("topic_unknown", "topic", f"topic: topik {topic[:40]!r} tidak dikenal")
        matchers["topic"] = [topic]
    if kecamatan:
        if kecamatan not in set(kecamatan_names):
            return Refusal("kecamatan_unknown", "kecamatan", f"kecamatan: {kecamatan[:40]!r} tidak dikenal")
        matchers["kecamatan"] = [kecamatan]
    raw = hours.strip() if isinstance(hours, str) else hours
    if isinstance(raw, str) and raw.isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= SILENCE_MAX_HOURS:
        return Refusal(
            "hours_out_of_range", "hours", f"hours: lama pembisuan 1 sampai {SILENCE_MAX_HOURS} jam (7 hari)"
        )
    text = _clean_note(note)
    refused = _note_problem(text, True, "alasan pembisuan")
    if refused is not None:
        return refused
    return Silencing(matchers=matchers, hours=raw, note=text)


def silence_region(
    matchers: Mapping[str, object], issue_regions: Mapping[str, str], source_regions: Mapping[str, str]
) -> str | None:
    """The region a silence mutes: its own ``region`` matcher, else its issue's (a snooze) or its source's
    region; None: every region (a topic × kecamatan silence of the province's comms, or made before regions).

    ``issue_regions`` and ``source_regions`` map the ids and names it may name to their region codes.
    """

    def first(key: str) -> str | None:
        values = matchers.get(key)
        return str(values[0]) if isinstance(values, list) and values else None

    region, issue, source = first("region"), first("issue_id"), first("source")
    if region is not None:
        return region
    if issue is not None:
        return issue_regions.get(issue)
    if source is not None:
        return source_regions.get(source)
    return None


def describe_silence(matchers: dict[str, object]) -> str:
    """What a silence mutes, in words: "isu OKI-12", "sumber antara-sumsel", "topik jalan × kecamatan X"."""

    def first(key: str) -> str | None:
        values = matchers.get(key)
        return str(values[0]) if isinstance(values, list) and values else None

    if first("issue_id"):
        return f"isu OKI-{first('issue_id')}"
    if first("source"):
        return f"sumber {first('source')}"
    parts = [
        f"topik {first('topic')}" if first("topic") else "",
        f"kecamatan {first('kecamatan')}" if first("kecamatan") else "",
    ]
    return " × ".join(p for p in parts if p) or "semua"
