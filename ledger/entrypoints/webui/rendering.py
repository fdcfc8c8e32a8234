"""HTML out: Jinja2 templates (autoescaped: every string from the data is text, never markup), the
static files shipped in the package (Chart.js among them: nothing is fetched from elsewhere), and
the headers every UI answer carries."""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from typing import Any, Mapping

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from ledger.entrypoints.aws_json import Response

PACKAGE = "ledger.entrypoints.webui"
STATIC_PREFIX = "/ui/static/"
GZIP_FROM = 1024  # bytes: smaller answers go as they are
# Everything from this server and nothing inline: the pages' data reach scripts as JSON text.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    content_type: str
    version: str  # a digest of the body: URLs carry it, so browsers may keep the file for good


class StaticFiles:
    """The package's ``static/`` folder, read once into memory (and gzipped once)."""

    def __init__(self) -> None:
        self.assets: dict[str, Asset] = {}
        for item in (resources.files(PACKAGE) / "static").iterdir():
            body = item.read_bytes()
            kind = mimetypes.guess_type(item.name)[0] or "application/octet-stream"
            kind += "; charset=utf-8" if kind.startswith("text/") or kind.endswith("javascript") else ""
            self.assets[item.name] = Asset(body, gzip.compress(body, 9, mtime=0), kind,
                                           hashlib.sha256(body).hexdigest()[:12])

    def url(self, name: str) -> str:
        return f"{STATIC_PREFIX}{name}?v={self.assets[name].version}"

    def response(self, name: str, headers: Mapping[str, str]) -> Response | None:
        asset = self.assets.get(name)
        if asset is None:
            return None
        out = {"Content-Type": asset.content_type, "Cache-Control": "public, max-age=31536000, immutable",
               "Vary": "Accept-Encoding", **SECURITY_HEADERS}
        if accepts_gzip(headers):
            out["Content-Encoding"] = "gzip"
            return Response(200, out, asset.gzipped)
        return Response(200, out, asset.body)


def accepts_gzip(headers: Mapping[str, str]) -> bool:
    return "gzip" in headers.get("accept-encoding", "").lower()


def html_response(status: int, html: str, headers: Mapping[str, str], extra: Mapping[str, str] = {}) -> Response:
    """A page or fragment: never cached (it is the ledger at a moment), gzipped when worth it."""
    body = html.encode("utf-8")
    out = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
           "Vary": "X-Fragment, Accept-Encoding", **SECURITY_HEADERS, **extra}
    if len(body) >= GZIP_FROM and accepts_gzip(headers):
        out["Content-Encoding"] = "gzip"
        body = gzip.compress(body, 6)
    return Response(status, out, body)


def templates(static: StaticFiles) -> Environment:
    environment = Environment(loader=PackageLoader(PACKAGE, "templates"), autoescape=select_autoescape(["html"]),
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(when=when, pretty=pretty, epoch=lambda t: int(t.timestamp()))
    environment.globals.update(static=static.url)
    return environment


def render(template: Template, variables: dict[str, Any], *, fragment: bool) -> str:
    """The whole page, or only its ``view`` block (what the slider swaps in)."""
    if not fragment:
        return template.render(variables)
    return "".join(template.blocks["view"](template.new_context(variables)))


def when(instant: datetime | None) -> str:
    """An instant as people read it here: UTC, to the second."""
    return "" if instant is None else instant.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def pretty(answer: Any) -> str:
    """An AWS answer as JSON, timestamps as ISO 8601 (boto3 shows datetimes; the wire, epoch seconds)."""
    return json.dumps(answer, indent=2, ensure_ascii=False,
                      default=lambda v: v.astimezone(timezone.utc).isoformat() if isinstance(v, datetime) else str(v))
