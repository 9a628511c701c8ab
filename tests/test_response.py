"""The agency's answer as pure rules (monitor.domain.response): one test per way a step is refused or taken."""

from __future__ import annotations

import pytest

from monitor.domain import response as r

AGENCIES = [("pupr", "Dinas PUPR OKI"), ("dinsos", "Dinas Sosial OKI"), ("pdam", "PDAM Tirta Agung OKI")]


def refused(result: object, code: str, field: str) -> r.Refusal:
    assert isinstance(result, r.Refusal), result
    assert (result.code, result.field) == (code, field)
    assert result.message.startswith(f"{field}:"), "the message names the field"
    return result


def test_ack_from_new_is_a_step_that_acknowledges() -> None:
    step = r.decide_status(r.BELUM, r.DITERIMA, None)
    assert isinstance(step, r.Step) and step.status == r.DITERIMA and step.acknowledges and not step.noop


def test_ack_twice_changes_nothing() -> None:
    step = r.decide_status(r.DITERIMA, r.DITERIMA, "")
    assert isinstance(step, r.Step) and step.noop


def test_diproses_needs_a_note() -> None:
    refused(r.decide_status(r.DITERIMA, r.DIPROSES, "   "), "note_required", "note")
    step = r.decide_status(r.DITERIMA, r.DIPROSES, " Tim ke lokasi besok ")
    assert isinstance(step, r.Step) and step.note == "Tim ke lokasi besok"


def test_diproses_again_adds_a_progress_note() -> None:
    step = r.decide_status(r.DIPROSES, r.DIPROSES, "Aspal datang")
    assert isinstance(step, r.Step) and step.status == r.DIPROSES and not step.noop


def test_selesai_needs_a_note_and_may_carry_evidence() -> None:
    refused(r.decide_status(r.DIPROSES, r.SELESAI, None), "note_required", "note")
    step = r.decide_status(r.DIPROSES, r.SELESAI, "Sudah ditambal", evidence_url="https://okikab.example/foto/1")
    assert isinstance(step, r.Step) and step.evidence_url == "https://okikab.example/foto/1"


def test_skipping_diterima_still_acknowledges() -> None:
    step = r.decide_status(r.BELUM, r.DIPROSES, "Langsung dikerjakan")
    assert isinstance(step, r.Step) and step.acknowledges


def test_bukan_keluhan_needs_a_reason_and_is_no_acknowledgement() -> None:
    refused(r.decide_status(r.BELUM, r.BUKAN_KELUHAN, ""), "note_required", "note")
    step = r.decide_status(r.BELUM, r.BUKAN_KELUHAN, "Ini ucapan terima kasih")
    assert isinstance(step, r.Step) and not step.acknowledges


def test_unknown_status_is_refused() -> None:
    refused(r.decide_status(r.BELUM, "beres", "x"), "status_unknown", "status")
    refused(r.decide_status(r.BELUM, r.BELUM, "x"), "status_unknown", "status")


def test_no_way_back_after_selesai() -> None:
    refused(r.decide_status(r.SELESAI, r.DIPROSES, "lagi"), "transition_not_allowed", "status")
    refused(r.decide_status(r.BUKAN_KELUHAN, r.DITERIMA, None), "transition_not_allowed", "status")


def test_merged_issue_is_refused() -> None:
    refused(r.decide_status(r.BELUM, r.DITERIMA, None, issue_status="merged"), "issue_merged", "status")


def test_note_too_long() -> None:
    refused(r.decide_status(r.DITERIMA, r.DIPROSES, "x" * (r.NOTE_MAX + 1)), "note_too_long", "note")


def test_evidence_link_must_be_http() -> None:
    refused(
        r.decide_status(r.DIPROSES, r.SELESAI, "ok", evidence_url="javascript:alert(1)"),
        "evidence_url_invalid",
        "evidence_url",
    )


def test_evidence_link_only_for_selesai() -> None:
    refused(
        r.decide_status(r.DITERIMA, r.DIPROSES, "ok", evidence_url="https://x.example/1"),
        "evidence_not_allowed",
        "evidence_url",
    )


def test_agency_by_name_or_code_any_case() -> None:
    assert r.resolve_agency("Dinas Sosial OKI", AGENCIES) == "dinsos"
    assert r.resolve_agency("  dinas   sosial oki ", AGENCIES) == "dinsos"
    assert r.resolve_agency("DINSOS", AGENCIES) == "dinsos"


def test_reroute_to_unknown_agency() -> None:
    refused(r.decide_reroute(r.BELUM, "pupr", "Dinas Sosial", None, AGENCIES), "agency_unknown", "agency")


def test_reroute_needs_an_agency() -> None:
    refused(r.decide_reroute(r.BELUM, "pupr", " ", None, AGENCIES), "agency_required", "agency")


def test_reroute_to_the_same_agency() -> None:
    refused(r.decide_reroute(r.DITERIMA, "pupr", "Dinas PUPR OKI", None, AGENCIES), "agency_same", "agency")


def test_reroute_after_selesai_is_refused() -> None:
    refused(r.decide_reroute(r.SELESAI, "pupr", "dinsos", None, AGENCIES), "transition_not_allowed", "agency")


def test_reroute_of_merged_issue_is_refused() -> None:
    refused(
        r.decide_reroute(r.BELUM, "pupr", "dinsos", None, AGENCIES, issue_status="merged"), "issue_merged", "agency"
    )


def test_reroute_by_name() -> None:
    step = r.decide_reroute(r.DIPROSES, "pupr", "Dinas Sosial OKI", "soal bansos", AGENCIES)
    assert step == r.Reroute(previous=r.DIPROSES, from_agency="pupr", to_agency="dinsos", note="soal bansos")


@pytest.mark.parametrize("hours", ["24", 24.5, True, None])
def test_snooze_hours_must_be_a_whole_number(hours: object) -> None:
    refused(r.decide_snooze(r.DITERIMA, hours, "alasan"), "hours_invalid", "hours")


@pytest.mark.parametrize("hours", [0, 73, 24 * 7])
def test_snooze_hours_in_range(hours: int) -> None:
    refused(r.decide_snooze(r.DITERIMA, hours, "alasan"), "hours_out_of_range", "hours")


def test_snooze_needs_a_reason() -> None:
    refused(r.decide_snooze(r.DITERIMA, 24, ""), "note_required", "note")


def test_snooze_only_open_issues() -> None:
    refused(r.decide_snooze(r.SELESAI, 24, "x"), "issue_not_open", "hours")
    refused(r.decide_snooze(r.DITERIMA, 24, "x", issue_status="closed"), "issue_not_open", "hours")
    assert r.decide_snooze(r.DITERIMA, 72, "Menunggu alat berat") == r.Snooze(72, "Menunggu alat berat")


def sil(topic: str, kecamatan: str, source: str, hours: object, note: str) -> r.Silencing | r.Refusal:
    return r.decide_silence(
        topic,
        kecamatan,
        source,
        hours,
        note,
        topics=["infrastruktur", "bansos"],
        kecamatan_names=["Kayu Agung", "Jejawi"],
        sources=["antara-sumsel"],
    )


def test_silence_topic_by_kecamatan() -> None:
    got = sil("infrastruktur", "Jejawi", "", "24", "Perbaikan dijadwalkan")
    assert got == r.Silencing({"topic": ["infrastruktur"], "kecamatan": ["Jejawi"]}, 24, "Perbaikan dijadwalkan")


def test_silence_a_source() -> None:
    got = sil("", "", "antara-sumsel", 72, "Situs perawatan")
    assert isinstance(got, r.Silencing) and got.matchers == {"source": ["antara-sumsel"]}


def test_silence_refusals() -> None:
    refused(sil("", "", "", 24, "x"), "silence_empty", "topic")
    refused(sil("bansos", "", "antara-sumsel", 24, "x"), "silence_mixed", "source")
    refused(sil("", "", "lain", 24, "x"), "source_unknown", "source")
    refused(sil("jalan", "", "", 24, "x"), "topic_unknown", "topic")
    refused(sil("", "Mars", "", 24, "x"), "kecamatan_unknown", "kecamatan")
    refused(sil("bansos", "", "", 24 * 8, "x"), "hours_out_of_range", "hours")
    refused(sil("bansos", "", "", 24, " "), "note_required", "note")


def test_one_wording() -> None:
    assert r.status_label(r.DIPROSES) == "Diproses" and r.ACTION_LABELS[r.DITERIMA] == "Terima"
    assert r.describe_silence({"issue_id": ["12"]}) == "isu OKI-12"
