"""Pages for people: the demo form at /, the MedlinePlus Connect web-application path
/application (always HTML) and NLM's legacy path for it, /medlineplus/services/mpconnect.cfm,
and the security headers every HTML response carries."""

from __future__ import annotations

import functools

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

from ..render import html
from ..services import current_services
from . import cors
from .hooks import plain_answer_safe
from .infobutton import knowledge_response, request_params

bp = Blueprint("pages", __name__)
# NLM's own path for the MedlinePlus Connect web application, hard-coded in clients in the field.
LEGACY_APPLICATION_PATH = "/medlineplus/services/mpconnect.cfm"

# No script at all; styles and images only from here (and MedlinePlus topic images); forms only
# to here; framed only by this service and the EHR origins of INFOBUTTON_FRAME_ORIGINS (EHRs show
# the click page in a frame; anyone else framing it could dress it up as their own).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' https://medlineplus.gov; form-action 'self'; base-uri 'none'"
)


@functools.cache
def content_security_policy(frame_origins: str) -> str:
    """The pages' policy with ``frame-ancestors`` for these (comma-separated) origins."""
    ancestors = " ".join(["'self'", *(o.strip().rstrip("/") for o in frame_origins.split(",") if o.strip())])
    return f"{CONTENT_SECURITY_POLICY}; frame-ancestors {ancestors}"


# The query string carries patient context (age, gender, codes): never send it onward.
REFERRER_POLICY = "no-referrer"
PUBLIC = {None, "pages", "infobutton"}  # None: paths no route matched (404 pages)


@bp.after_app_request
@plain_answer_safe  # HTML only, which the fast path never answers
def page_headers(response: Response) -> Response:
    """CSP, nosniff and Referrer-Policy on the public HTML responses, answers and errors alike
    (other blueprints, such as the admin UI, set their own policy and are left alone)."""
    if response.mimetype in ("text/html", "application/xhtml+xml") and request.blueprint in PUBLIC:
        policy = content_security_policy(current_services().settings.frame_origins)
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    return response


@bp.route("/application", methods=["GET", "POST"])
@bp.route(LEGACY_APPLICATION_PATH, methods=["GET", "POST"])
def application():
    """MedlinePlus Connect's web-application mode: the same parameters, always the page."""
    params = MultiDict(
        (name, value)
        for name, value in request_params().items(multi=True)
        if name.lower() not in ("knowledgeresponsetype", "callback")
    )
    return knowledge_response(params, default_type="text/html")


@bp.after_request
def _cors(response: Response) -> Response:
    """The answer page may be read cross-origin like the other formats (``web.cors``)."""
    if request.endpoint == "pages.application":
        cors.add_headers(response, cors.policy(current_services().settings.cors_origins))
    return response


@bp.get("/")
def demo():
    base = current_services().settings.base_url or request.host_url
    response = Response(html.demo(base), content_type=html.CONTENT_TYPE)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
