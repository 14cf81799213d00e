"""The web page: a style gallery, a job form with preview, live job progress and downloads.

Why pages with no data in them: every page is the same HTML for everyone (so the routes are
public); the browser keeps the tenant's API key (``localStorage``) and its scripts call the REST
API with ``Authorization: Bearer``, so the page can do nothing the key could not do with curl,
and there are no server sessions or cookies to protect. Scripts and styles are served from
``api/web/static/web`` (no CDN, no build step).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, make_response, redirect, render_template, send_from_directory, url_for

from api.auth.bearer import public
from api.common import is_valid_id
from api.extensions import app_settings
from api.schemas import JobStatusName
from shared.errors import NotFoundError
from shared.schemas.jobs import ColorModeName, OutputFormat
from shared.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent / "static" / "web"
STATIC_MAX_AGE_S = 300

bp = Blueprint("web", __name__, url_prefix="/ui", template_folder="templates")
root_bp = Blueprint("web_root", __name__)


def _storage_origin(settings: Settings) -> str | None:
    """Where presigned downloads point (S3 storage): the page's scripts may fetch from there too."""
    if settings.storage_backend != "s3":
        return None
    endpoint = settings.s3_public_endpoint_url or settings.s3_endpoint_url
    if endpoint:
        url = urlsplit(endpoint)
        return f"{url.scheme}://{url.netloc}"
    return "https://*.amazonaws.com"


def content_security_policy(settings: Settings) -> str:
    """Only this farm's own scripts, styles and API (plus presigned storage URLs); no framing."""
    connect = " ".join(filter(None, ["'self'", _storage_origin(settings)]))
    return (
        "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
        f"connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


def _page(template: str, **context: object) -> Response:
    """Render a page with what every page's scripts need to know about this farm's limits."""
    settings = app_settings()
    limits = {
        "max_upload_bytes": settings.max_upload_bytes,
        "max_input_pixels": settings.max_input_pixels,
        "max_output_side": settings.max_output_side,
        "preview_side": settings.preview_side,
        "follow_stall_s": settings.follow_stall_s,
    }
    response = make_response(render_template(template, limits=limits, **context))
    response.headers["Content-Security-Policy"] = content_security_policy(settings)
    return response


@root_bp.get("/")
@public
def home() -> Response:
    """The API's root sends people to the web page."""
    return redirect(url_for("web.gallery"))  # type: ignore[return-value]


@bp.get("/")
@public
def gallery() -> Response:
    """The styles a tenant can use, and a form to add one from an image."""
    return _page("web/gallery.html", page="gallery")


@bp.get("/new")
@public
def new_job() -> Response:
    """The job form: photos, styles or a blend, options, a quick preview, submit."""
    return _page(
        "web/new_job.html",
        page="new",
        color_modes=ColorModeName.__args__,
        output_formats=OutputFormat.__args__,
    )


@bp.get("/jobs")
@public
def job_list() -> Response:
    """The tenant's jobs with a status filter."""
    return _page("web/jobs.html", page="jobs", statuses=JobStatusName.__args__)


@bp.get("/jobs/<job_id>")
@public
def job_detail(job_id: str) -> Response:
    """One job's live progress, its results and downloads."""
    if not is_valid_id(job_id):
        raise NotFoundError(f"job {job_id} not found")
    return _page("web/job.html", page="jobs", job_id=job_id)


@bp.get("/static/<path:filename>")
@public
def static(filename: str) -> Response:
    """The page's own scripts and stylesheet."""
    return send_from_directory(STATIC_DIR, filename, max_age=STATIC_MAX_AGE_S)
