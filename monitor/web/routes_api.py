"""JSON API (documented at /docs, schema at /openapi.json): issues, posts, trends, exports, push ingest."""

from __future__ import annotations

import hmac
import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Select, select

from collectors.base import RawItem
from collectors.common import MAX_COUNT
from monitor.domain.personal_urls import author_alias, public_url
from monitor.kernel.clock import to_wib
from monitor.kernel.config import secret
from monitor.stages.lapor import tickets_of_issue
from monitor.store.models import Issue, IssuePost, Post
from monitor.web import actions, exports, queries
from monitor.web.auth import Principal
from monitor.web.deps import current_principal, now_of, require_csrf, require_roles, web
from monitor.web.routes_pages import export_response

log = logging.getLogger(__name__)
IssueId = Annotated[int, Path(ge=1, le=queries.MAX_ID, description="Nomor isu (angka setelah # di dasbor, mis. 12)")]
router = APIRouter(prefix="/api")

# Query parameters several endpoints share: one definition, one description in the API docs.
BucketQ = Annotated[
    Literal["hour", "day", "week", "month"],
    Query(description="Lebar satu titik waktu: `hour`, `day`, `week` atau `month` (kalender WIB)"),
]
StartQ = Annotated[str | None, Query(max_length=10, description="Awal periode, YYYY-MM-DD (WIB)")]
EndQ = Annotated[str | None, Query(max_length=10, description="Akhir periode, YYYY-MM-DD (WIB), termasuk hari itu")]
TopicQ = Annotated[
    str | None,
    Query(max_length=40, description="Kunci topik, mis. `infrastruktur` atau `air_bersih`; kosong = semua"),
]
AgencyQ = Annotated[
    str | None,
    Query(max_length=40, description="Kode OPD dari config (mis. `pupr`); pengguna OPD selalu hanya melihat OPD-nya"),
]
KecamatanQ = Annotated[
    str | None, Query(max_length=40, description="Nama kecamatan, mis. `Kayu Agung`; kosong = semua")
]
SourceQ = Annotated[
    str | None, Query(max_length=30, description="Nama sumber dari config, mis. `mastodon-oki`; kosong = semua")
]
RegionQ = Annotated[
    str | None,
    Query(
        max_length=5,
        description="Kode kabupaten/kota Kemendagri, mis. `16.01`; kosong = semua wilayah dalam wewenang Anda",
    ),
]
PostIssueQ = Annotated[
    int | None,
    Query(
        ge=1,
        le=queries.MAX_ID,
        description="Hanya unggahan dari isu bernomor ini; kosong = semua isu yang boleh Anda lihat",
    ),
]
SinceQ = Annotated[
    datetime | None, Query(description="Hanya unggahan sejak waktu ini (ISO-8601; tanpa zona waktu dibaca UTC)")
]
UntilQ = Annotated[
    datetime | None, Query(description="Hanya unggahan sebelum waktu ini (ISO-8601; tanpa zona waktu dibaca UTC)")
]
PlatformQ = Annotated[
    str | None, Query(max_length=30, description="Platform sumber, mis. `x`, `facebook`, `mastodon`; kosong = semua")
]

MAX_INGEST_BYTES = 5 * 1024 * 1024
MAX_INGEST_ITEMS = 10_000
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Tidak masuk / token tidak valid"},
    403: {"description": "Peran tidak diizinkan"},
    404: {"description": "Tidak ditemukan atau di luar wewenang"},
}
FileFormatQ = Annotated[
    Literal["csv", "xlsx"], Query(description="Bentuk berkas: `csv` (UTF-8 dengan BOM) atau `xlsx`; kolom sama")
]
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    200: {"content": {"text/csv": {}, exports.XLSX_MEDIA_TYPE: {}}},
}
"""The answers of an export endpoint: the file (CSV or XLSX, as ``format`` asks) or one of :data:`ERRORS`."""


class IssueOut(BaseModel):
    """An issue as listed."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    topic: str
    agency_code: str | None
    kecamatan: str | None
    desa: str | None
    status: str
    stage: str
    score: float
    p_viral: float
    eta_minutes: float | None
    urgent: bool
    buzzer_suspected: bool
    regression: bool
    post_count: int
    author_count: int
    engagement: float
    first_seen: datetime
    last_seen: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    merged_into_id: int | None


class PostOut(BaseModel):
    """A post as shown to users: the author is an alias, never the stored handle."""

    id: int
    platform: str
    url: str | None
    author: str
    title: str | None
    text: str | None
    created_at: datetime
    likes: int
    shares: int
    replies: int
    views: int
    issue_id: int | None = None
    is_spread: bool | None = None


class SignalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    stage: str
    score: float
    p_viral: float
    eta_minutes: float | None
    mentions: int
    engagement: float
    velocity: float
    reasons: list[Any]


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    receiver: str
    kind: str
    stage: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class LaporTicketOut(BaseModel):
    """An SP4N-LAPOR! ticket in the issue (``monitor/stages/lapor.py``)."""

    tracking_id: str
    url: str | None
    status: str
    kategori: str
    instansi: str
    created_at: datetime


class IssueDetailOut(IssueOut):
    posts: list[PostOut]
    signals: list[SignalOut]
    alerts: list[AlertOut]
    lapor: list[LaporTicketOut] = []
    """The issue's LAPOR! tickets, oldest first, with their public links."""


class AckOut(BaseModel):
    issue_id: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    alerts_acknowledged: int


class TrendPoint(BaseModel):
    bucket: datetime
    posts: int
    complaints: int
    engagement: float


class TrendSeries(BaseModel):
    key: str
    points: list[TrendPoint]


class TrendsOut(BaseModel):
    dimension: str
    bucket: str
    start: datetime
    end: datetime
    series: list[TrendSeries]
    warnings: list[str]


class IngestItem(BaseModel):
    """One pushed item; ``created_at`` must carry a timezone."""

    model_config = ConfigDict(extra="ignore")

    source: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    external_id: str = Field(min_length=1, max_length=300)
    url: str | None = Field(None, max_length=2000)
    author: str | None = Field(None, max_length=300)
    title: str | None = Field(None, max_length=1000)
    text: str = Field(max_length=100_000)
    created_at: datetime
    platform: str = Field("import", min_length=1, max_length=30, pattern=r"^[a-z0-9_]+$")
    likes: int = Field(0, ge=0, le=MAX_COUNT)
    shares: int = Field(0, ge=0, le=MAX_COUNT)
    replies: int = Field(0, ge=0, le=MAX_COUNT)
    views: int = Field(0, ge=0, le=MAX_COUNT)

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("created_at needs a timezone, e.g. 2026-11-29T08:00:00+07:00")
        return value.astimezone(UTC)

    def to_raw(self) -> RawItem:
        return RawItem(
            source=self.source,
            platform=self.platform,
            external_id=self.external_id,
            text=self.text,
            created_at=self.created_at,
            url=self.url,
            author=self.author,
            title=self.title,
            likes=self.likes,
            shares=self.shares,
            replies=self.replies,
            views=self.views,
        )


class IngestError(BaseModel):
    index: int
    error: str


class IngestOut(BaseModel):
    received: int
    valid: int
    stored: int
    duplicates: int
    updated: int
    rejected: int
    filtered: int
    errors: list[IngestError]


# ---------------------------------------------------------------- issues and posts


@router.get(
    "/issues",
    response_model=list[IssueOut],
    responses=ERRORS,
    summary="Daftar isu",
    description="Isu yang boleh Anda lihat (pengguna OPD: hanya OPD-nya), skor naik tertinggi dulu.",
)
def api_issues(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    status: Annotated[
        Literal["open", "closed", "resolved", "merged"] | None,
        Query(
            description=(
                "Status isu: `open` (terbuka), `closed`, `resolved` (selesai) atau `merged` (digabung); kosong = semua"
            )
        ),
    ] = None,
    stage: Annotated[
        Literal["baru", "naik", "viral", "mereda"] | None,
        Query(description="Tahap viral: `baru`, `naik`, `viral` atau `mereda`; kosong = semua"),
    ] = None,
    topic: TopicQ = None,
    agency: AgencyQ = None,
    kecamatan: KecamatanQ = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Jumlah baris paling banyak dalam satu jawaban")] = 50,
    offset: Annotated[
        int, Query(ge=0, le=1_000_000, description="Lewati sekian baris pertama (untuk halaman berikutnya)")
    ] = 0,
    region: RegionQ = None,
) -> list[IssueOut]:
    """Issues in your scope (agency users: own agency only), highest score first.

    For a caller of several regions a kecamatan is one region's: the one named by ``region``, else the
    only one of its regions that has it; a name two of them share without ``region`` is a 422, never
    both regencies' issues mixed.
    """
    ctx = web(request)
    regions = ctx.regions_for(principal)
    if kecamatan and len(regions) > 1:
        place = actions.choose_kecamatan(ctx.config, regions, kecamatan, region, key=str)
        if place.shared:
            raise HTTPException(422, place.problem)
        region = place.region  # a name none of them has stays as given: it matches what was stored under it
    with ctx.read() as session:
        rows = queries.list_issues(
            session,
            principal,
            status=status,
            stage=stage,
            topic=topic,
            agency=agency,
            kecamatan=kecamatan,
            limit=limit,
            offset=offset,
            region=region,
        )
        return [IssueOut.model_validate(i) for i in rows]


def _post_out(p: Any, pseudonymise: bool, issue_id: int | None = None, is_spread: bool | None = None) -> PostOut:
    return PostOut(
        id=p.id,
        platform=p.platform,
        url=public_url(p.url, pseudonymise=pseudonymise),
        author=author_alias(p.author_key),
        title=p.title,
        text=p.text,
        created_at=p.created_at,
        likes=p.likes,
        shares=p.shares,
        replies=p.replies,
        views=p.views,
        issue_id=issue_id,
        is_spread=is_spread,
    )


@router.get(
    "/issues/{issue_id}",
    response_model=IssueDetailOut,
    responses=ERRORS,
    summary="Detail isu",
    description=(
        "Satu isu dengan unggahan buktinya, sinyal viral dan peringatannya. Setiap pembukaan dicatat di log audit."
    ),
)
def api_issue(
    request: Request, issue_id: IssueId, principal: Annotated[Principal, Depends(current_principal)]
) -> IssueDetailOut:
    """One issue with its evidence posts, virality signals and alerts (the view is audit-logged)."""
    ctx = web(request)
    hide = ctx.config.privacy.pseudonymise_authors  # post URLs without author handles
    out: IssueDetailOut | None = None
    with ctx.read() as session:
        issue = queries.visible_issue_row(session, principal, issue_id)
        if issue is not None:
            d = ctx.issue_detail(session, issue, max_posts=100, page=False)
            out = IssueDetailOut(
                **IssueOut.model_validate(issue).model_dump(),
                posts=[_post_out(e.post, hide, issue.id, e.is_spread) for e in d.posts],
                signals=[SignalOut.model_validate(x) for x in d.signals],
                alerts=[AlertOut.model_validate(a) for a in d.alerts],
                lapor=[LaporTicketOut.model_validate(t) for t in tickets_of_issue(session, issue.id)],
            )
    if out is None:
        ctx.audit(principal.username, "access_denied", f"issue:{issue_id}")
        raise HTTPException(404, f"Isu #{issue_id} tidak ditemukan atau bukan wewenang Anda.")
    ctx.audit_view(principal.username, "view_issue", f"issue:{issue_id}", via="api")
    return out


@router.post(
    "/issues/{issue_id}/ack",
    response_model=AckOut,
    responses=ERRORS,
    summary="Terima (acknowledge) isu",
    description=(
        "Tandai isu dan peringatannya yang terbuka sudah diterima (ditangani). Sesi peramban wajib "
        "mengirim header X-CSRF-Token."
    ),
)
def api_ack(
    request: Request,
    issue_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles("admin", "comms", "agency"))],
    x_csrf_token: Annotated[
        str | None,
        Header(
            max_length=100,
            description="Token CSRF halaman; wajib bila memakai sesi peramban, tidak perlu dengan token API",
        ),
    ] = None,
) -> AckOut:
    """Acknowledge an issue and its open alerts. Browser sessions must send X-CSRF-Token."""
    require_csrf(request, x_csrf_token)
    ctx = web(request)
    with ctx.db.session() as session:
        issue = queries.get_visible_issue(session, principal, issue_id)
        if issue is not None:
            n = actions.acknowledge(session, issue, principal.username, now_of(request), channel="api")
            ctx.changed()
            return AckOut(
                issue_id=issue.id,
                acknowledged_at=issue.acknowledged_at,
                acknowledged_by=issue.acknowledged_by,
                alerts_acknowledged=n,
            )
    ctx.audit(principal.username, "access_denied", f"issue:{issue_id}")
    raise HTTPException(404, f"Isu #{issue_id} tidak ditemukan atau bukan wewenang Anda.")


@router.get(
    "/posts",
    response_model=list[PostOut],
    responses=ERRORS,
    summary="Unggahan dalam isu",
    description=(
        "Unggahan yang termasuk isu dalam wewenang Anda, terbaru dulu. Akun penulis tampil sebagai alias "
        "(`akun-...`) selama penyamaran penulis aktif."
    ),
)
def api_posts(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    issue_id: PostIssueQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
    platform: PlatformQ = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Jumlah baris paling banyak dalam satu jawaban")] = 100,
    offset: Annotated[
        int, Query(ge=0, le=1_000_000, description="Lewati sekian baris pertama (untuk halaman berikutnya)")
    ] = 0,
) -> list[PostOut]:
    """Posts that belong to issues in your scope, newest first."""
    query = _posts_query(principal, issue_id, since, until, platform).limit(limit).offset(offset)
    ctx = web(request)
    pseudonymise = ctx.config.privacy.pseudonymise_authors
    with ctx.read() as session:
        return [_post_out(p, pseudonymise, p.issue_id, p.is_spread) for p in session.execute(query)]


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _posts_query(
    principal: Principal,
    issue_id: int | None,
    since: datetime | None,
    until: datetime | None,
    platform: str | None,
) -> Select[*tuple[Any, ...]]:
    """Posts of issues in the principal's scope (the agency rule lives in ``scoped_issues``), newest first."""
    query = select(*queries.POST_COLUMNS, IssuePost.issue_id, IssuePost.is_spread).join(
        IssuePost, IssuePost.post_id == Post.id
    )
    if not principal.sees_everything:
        visible = queries.scoped_issues(principal).with_only_columns(Issue.id)
        query = query.where(IssuePost.issue_id.in_(visible))
    if issue_id is not None:
        query = query.where(IssuePost.issue_id == issue_id)
    if since is not None:
        query = query.where(Post.created_at >= _aware(since))
    if until is not None:
        query = query.where(Post.created_at < _aware(until))
    if platform:
        query = query.where(Post.platform == platform)
    return query.order_by(Post.created_at.desc(), Post.id.desc())


@router.get(
    "/posts/export",
    responses=FILE_RESPONSES,
    response_class=Response,
    summary="Ekspor unggahan (CSV/XLSX)",
    description=(
        "Unggahan dari isu dalam wewenang Anda sebagai berkas, terbaru dulu; judul kolom berbahasa "
        "Indonesia, waktu dalam WIB. Setiap ekspor dicatat di log audit."
    ),
)
def api_posts_export(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    format: FileFormatQ = "csv",
    issue_id: PostIssueQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
    platform: PlatformQ = None,
    limit: Annotated[
        int, Query(ge=1, le=exports.MAX_POST_ROWS, description="Jumlah unggahan paling banyak dalam berkas")
    ] = 10_000,
) -> Response:
    """Posts of issues in your scope as a file, newest first (the export is audit-logged).

    Authors appear as stable aliases (``akun-…``) unless the operator turned author
    pseudonymisation off (``privacy.pseudonymise_authors: false``).
    """
    ctx = web(request)
    handles = not ctx.config.privacy.pseudonymise_authors
    query = _posts_query(principal, issue_id, since, until, platform).limit(limit)
    with ctx.read() as session:
        rows = [
            exports.PostRow(
                post_id=p.id,
                issue_id=p.issue_id,
                created_at=p.created_at,
                platform=p.platform,
                author=(p.author_key or "") if handles else author_alias(p.author_key),
                url=public_url(p.url, pseudonymise=not handles) or "",  # no handle in the `tautan` column
                title=p.title or "",
                text=p.text or "",
                likes=p.likes,
                shares=p.shares,
                replies=p.replies,
                views=p.views,
                is_spread=bool(p.is_spread),
            )
            for p in session.execute(query)
        ]
    ctx.audit(
        principal.username,
        "export",
        "posts",
        format=format,
        rows=len(rows),
        issue_id=issue_id,
        since=_aware(since).isoformat() if since else None,
        until=_aware(until).isoformat() if until else None,
        platform=platform,
        authors="handles" if handles else "aliases",
    )
    stamp = to_wib(now_of(request)).strftime("%Y%m%d")  # the user's date, not UTC's
    name = f"unggahan-{issue_id}-{stamp}" if issue_id else f"unggahan-{stamp}"
    if format == "xlsx":
        body, media = exports.posts_to_xlsx(rows), exports.XLSX_MEDIA_TYPE
    else:
        body, media = exports.posts_to_csv(rows), "text/csv; charset=utf-8"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'})


# ---------------------------------------------------------------- trends and exports


def _api_filter(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    start: StartQ = None,
    end: EndQ = None,
    topic: TopicQ = None,
    agency: AgencyQ = None,
    kecamatan: KecamatanQ = None,
    source: SourceQ = None,
    region: RegionQ = None,
) -> tuple[queries.TrendFilter, list[str]]:
    """The trend filter of the shared query parameters, with warnings for unknown values; bad dates are a 422.

    The kecamatan is one of the regions the caller sees; for a caller of several regions it brings its region.
    """
    raw = actions.FilterInput(start, end, topic, agency, kecamatan, source, region)
    ctx = web(request)
    try:
        return actions.trend_filter(ctx.config, raw, now_of(request), regions=ctx.regions_for(principal))
    except actions.DateOutOfRange as exc:
        raise HTTPException(422, str(exc)) from None


# The filter's parameters as one dependency: the endpoints that share them declare them once.
ApiFilter = Annotated[tuple[queries.TrendFilter, list[str]], Depends(_api_filter)]


@router.get(
    "/trends",
    response_model=TrendsOut,
    responses=ERRORS,
    summary="Deret waktu keluhan",
    description=(
        "Jumlah keluhan per titik waktu untuk setiap nilai `dimension`. Saringan yang tidak dikenal "
        "diabaikan dan disebut di `warnings`."
    ),
)
def api_trends(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    dimension: Annotated[
        Literal["topic", "kecamatan", "agency", "source", "region"],
        Query(
            description=(
                "Deret per `topic` (topik), `kecamatan`, `agency` (OPD), `source` (sumber) atau `region` "
                "(wilayah: kode kabupaten/kota)"
            )
        ),
    ] = "topic",
    bucket: BucketQ = "week",
    *,
    filtered: ApiFilter,
) -> TrendsOut:
    """Complaint counts per bucket for each value of ``dimension``; unknown filter values are reported in warnings."""
    flt, warnings = filtered
    with web(request).read() as session:
        by_key = queries.trend_series(session, principal, flt, bucket, dimension)
    series = [
        TrendSeries(
            key=key,
            points=[
                TrendPoint(bucket=b, posts=int(v[0]), complaints=int(v[1]), engagement=round(v[2], 2))
                for b, v in sorted(points.items())
            ],
        )
        for key, points in sorted(by_key.items())
    ]
    return TrendsOut(dimension=dimension, bucket=bucket, start=flt.start, end=flt.end, series=series, warnings=warnings)


@router.get(
    "/export",
    responses=FILE_RESPONSES,
    response_class=Response,
    summary="Ekspor baris tren (CSV/XLSX)",
    description=(
        "Baris tren yang tersaring sebagai berkas (nama topik dan OPD, waktu WIB). Setiap ekspor dicatat di log audit."
    ),
)
def api_export(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    format: FileFormatQ = "csv",
    bucket: BucketQ = "week",
    *,
    filtered: ApiFilter,
) -> Response:
    """The filtered trend rows as a file (the export is audit-logged)."""
    flt, _warnings = filtered
    with web(request).read() as session:
        rows = queries.trend_rows(session, principal, flt, bucket)
    return export_response(request, principal, rows, format, flt, bucket)


# ---------------------------------------------------------------- push ingest


def parse_ingest_body(body: bytes) -> tuple[list[Any], list[IngestError]]:
    """A JSON array, a single object, or JSON lines → raw values; unparsable lines become errors."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return [], []
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
        values: list[Any] = []
        errors: list[IngestError] = []
        for i, line in enumerate(text.splitlines()):
            if not line.strip():
                continue
            try:
                values.append(json.loads(line))
            except json.JSONDecodeError as exc:
                values.append(None)
                errors.append(IngestError(index=len(values) - 1, error=f"line {i + 1}: not valid JSON ({exc.msg})"))
        return values, errors
    if isinstance(data, list):
        return data, []
    return [data], []


@router.post(
    "/ingest",
    response_model=IngestOut,
    responses={
        401: {"description": "Token salah"},
        413: {"description": "Terlalu besar"},
        503: {"description": "Ingest dimatikan"},
    },
    summary="Kirim unggahan (push import)",
    description=(
        "Kirim unggahan sebagai larik JSON atau baris JSON (JSON lines) dengan `Authorization: Bearer "
        "<token ingest>`. Baris yang rusak ditolak sendiri-sendiri dengan alasannya; yang lain disimpan."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": IngestItem.model_json_schema()}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def api_ingest(request: Request) -> JSONResponse:
    """Push items as a JSON array or JSON lines with ``Authorization: Bearer <ingest token>``.

    Valid items are stored even when others in the same request are bad; each bad item gets an error.
    """
    ctx = web(request)
    expected = secret(ctx.config.web.ingest_token_env)
    if not expected:
        return JSONResponse(
            {"detail": f"Push ingest is off: set the environment variable {ctx.config.web.ingest_token_env}."},
            status_code=503,
        )
    auth = request.headers.get("authorization", "")
    given = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        return JSONResponse(
            {"detail": "Wrong or missing ingest token (Authorization: Bearer ...)."},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_INGEST_BYTES:
            return JSONResponse({"detail": "Body over 5 MB: send smaller batches."}, status_code=413)
    values, errors = parse_ingest_body(body)
    if len(values) > MAX_INGEST_ITEMS:
        return JSONResponse({"detail": f"More than {MAX_INGEST_ITEMS} items: send smaller batches."}, status_code=413)
    bad = {e.index for e in errors}
    items: list[RawItem] = []
    for index, value in enumerate(values):
        if index in bad:
            continue
        if not isinstance(value, dict):
            errors.append(IngestError(index=index, error="item must be a JSON object"))
            continue
        try:
            items.append(IngestItem.model_validate(value).to_raw())
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "item"
            errors.append(IngestError(index=index, error=f"{where}: {first['msg']}"))
    from monitor.stages.ingest import ingest_raw

    report = ingest_raw(ctx.db, ctx.config, items, now_of(request), kind="push") if items else None
    out = IngestOut(
        received=len(values),
        valid=len(items),
        stored=report.stored if report else 0,
        duplicates=report.duplicates if report else 0,
        updated=report.updated if report else 0,
        rejected=(report.rejected if report else 0) + len(errors),
        filtered=report.filtered if report else 0,
        errors=sorted(errors, key=lambda e: e.index)
        + [IngestError(index=-1, error=m[:300]) for m in (report.errors if report else [])],
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=200)
