"""An issue's history as Bahasa sentences: what the issue page shows instead of stored event codes and dicts.

Pure functions of the stored ``issue_events`` rows (kind, detail, actor): every code in a detail
(stage, topic, agency, status, channel, field) is turned into its name here, so nothing shown on
the page is a key or a Python value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from monitor.domain.display import channel_label, receiver_label, sentence, stage_label, topic_label
from monitor.domain.response import status_label
from monitor.kernel.clock import format_wib
from monitor.stages.lapor import event_sentence as lapor_sentence

FIELD_NAMES = {
    "topic": "topik",
    "kecamatan": "kecamatan",
    "agency": "OPD",
    "relevant": "relevan",
    "is_complaint": "keluhan",
}


def correction_text(field: str, value: str, agency_name: Callable[[str | None], str]) -> str:
    """A label correction as words: ``topic``/``air_bersih`` → "topik menjadi Air bersih"."""
    if field == "topic":
        shown = topic_label(value)
    elif field == "agency":
        shown = agency_name(value)
    else:
        shown = value
    return f"{FIELD_NAMES.get(field, 'label')} menjadi {shown}"


def _by(actor: str | None) -> str:
    return "" if not actor or actor == "sistem" else f" oleh {actor}"


def _issue(detail: Mapping[str, Any], key: str) -> str:
    value = detail.get(key)
    return f"#{value}" if isinstance(value, int) else "lain"


def _time(value: Any) -> str:
    if isinstance(value, str):
        try:
            return format_wib(datetime.fromisoformat(value))
        except ValueError:
            return "-"
    return "-"


def event_sentence(
    kind: str, detail: Mapping[str, Any] | None, actor: str | None, agency_name: Callable[[str | None], str]
) -> str:
    """One event of an issue's history as a sentence (Bahasa); an unknown kind still reads as words."""
    d: Mapping[str, Any] = detail or {}
    by = _by(actor)
    agency = agency_name(d.get("agency")) if d.get("agency") else "OPD"
    via = f" lewat {channel_label(d.get('channel'))}" if d.get("channel") else ""
    note = f": “{d['note']}”" if d.get("note") else "."
    if kind == "created":
        return "Isu terbentuk dari unggahan pertama."
    if kind == "stage":
        reasons = [str(r) for r in d.get("reasons") or []]
        why = f" ({'; '.join(reasons)})" if reasons else ""
        return f"Tahap berubah dari {stage_label(d.get('from'))} ke {stage_label(d.get('to'))}{why}."
    if kind == "primary":
        return f"Topik utama berubah dari {topic_label(d.get('from'))} ke {topic_label(d.get('to'))}."
    if kind == "regression":
        return "Muncul lagi: ada unggahan baru setelah isu ditandai selesai."
    if kind == "closed_quiet":
        return "Ditutup karena tenang: tidak ada unggahan baru."
    if kind == "resolved":
        return f"Ditandai selesai{by}."
    if kind == "merged":
        return f"Isu {_issue(d, 'from')} digabung ke isu ini{by}."
    if kind == "merged_into":
        return f"Digabung ke isu {_issue(d, 'into')}{by}."
    if kind == "split":
        moved = d.get("posts")
        count = f"{len(moved)} unggahan" if isinstance(moved, list) else "Unggahan"
        return f"{count} dipisah ke isu baru {_issue(d, 'to')}{by}."
    if kind == "split_from":
        return f"Dibuat dari unggahan yang dipisah dari isu {_issue(d, 'from')}{by}."
    if kind == "acknowledged":
        told = f" (peringatan untuk {receiver_label(d['receiver'], agency_name)})" if d.get("receiver") else ""
        return f"Diterima{by}{told}."
    if kind == "label_corrected":
        what = correction_text(str(d.get("field", "")), str(d.get("value", "")), agency_name)
        return f"Label unggahan #{d.get('post', '?')} dikoreksi{by}: {what}."
    if kind == "status":
        return f"{agency} menandai isu {status_label(d.get('status')).lower()}{by}{via}{note}"
    if kind == "reroute":
        target = agency_name(d.get("to_agency")) if d.get("to_agency") else "OPD lain"
        return f"{agency} menyatakan salah dinas{by}{via}; isu dialihkan ke {target}{note}"
    if kind == "assigned":
        return f"Isu masuk ke {agency}; batas waktu tanggapan mulai dihitung."
    if kind == "snoozed":
        return f"Ditunda sampai {_time(d.get('until'))}{by}{via}{note}"
    if kind == "lapor_status":
        return lapor_sentence(d)
    if kind == "reopened":
        return sentence(f"dibuka kembali untuk {agency}{by} (belum ditanggapi)")
    return sentence(f"perubahan pada isu dicatat{by}")
