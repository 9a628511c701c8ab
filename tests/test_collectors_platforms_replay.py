"""The replay server of recorded platform API exchanges (``tests/platform_replay.py``) serves and records."""

from __future__ import annotations

import json

from tests.platform_replay import FIXTURES, Reply, replay


def test_replay_serves_in_order_and_records() -> None:
    with replay() as (server, client):
        server.add("GET", "/a", Reply(200, {"n": 1}), Reply(429, {"n": 2}, {"x-rate-limit-remaining": "0"}))
        first = client.get(server.base_url + "/a", params={"q": "1"})
        second = client.get(server.base_url + "/a")
        third = client.get(server.base_url + "/a")
        missing = client.get(server.base_url + "/b")
    assert first.json() == {"n": 1}
    assert second.status_code == 429 and second.headers["x-rate-limit-remaining"] == "0"
    assert third.status_code == 429
    assert missing.status_code == 404
    assert [r.query for r in server.calls("/a")] == [{"q": "1"}, {}, {}]


def test_every_fixture_is_a_recorded_exchange_with_a_cited_source() -> None:
    folders = [
        p for p in FIXTURES.iterdir() if p.is_dir() and p.name in {"x", "youtube", "facebook", "instagram", "tiktok"}
    ]
    assert len(folders) == 5
    for folder in folders:
        readme = (folder / "README.md").read_text(encoding="utf-8")
        assert "https://" in readme, f"{folder.name}: README must cite the documentation page"
        files = list(folder.glob("*.json"))
        assert files, folder
        for path in files:
            data = json.loads(path.read_text(encoding="utf-8"))
            assert isinstance(data.get("status"), int), path
            assert "body" in data, path
