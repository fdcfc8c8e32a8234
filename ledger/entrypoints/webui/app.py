"""The web UI's one entry: a ``SignedRequest`` under ``/ui/`` in, a ``Response`` out.

It has the shape of ``AwsJsonService`` (``handle``, ``answers_at_once``), so ``http_server.py``
routes ``/ui/`` here and everything else to the AWS API as before. Pages are GET only and read
only: the moment comes from ``?at=`` or ``?position=`` (``moments.py``; in strict mode ``?at=``
only), the viewer from ``access.py``. A request with ``X-Fragment: view`` gets only the page's ``view`` block: the slider
swaps it in without reloading the page. Whatever a client sends, the answer is a page: 4xx for
its faults (a bad parameter, an unknown path, a method other than GET), 5xx only for ours.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any, Callable, Mapping
from urllib.parse import unquote

from ledger.domain import errors
from ledger.entrypoints.accounts import Accounts
from ledger.entrypoints.aws_json import Response
from ledger.entrypoints.facade import Ledger
from ledger.entrypoints.identity import SignedRequest
from ledger.entrypoints.webui import analytics_page, audit_page, handshake_page, ledger_pages, transfers_page
from ledger.entrypoints.webui.access import REALM, scope_of
from ledger.entrypoints.webui.context import Page, PageRequest, Redirect, url_of
from ledger.entrypoints.webui.errors import (BadRequest, MethodNotAllowed, Misdirected, NotFound, PageError,
                                             Unauthorized)
from ledger.entrypoints.webui.hosts import Hosts
from ledger.entrypoints.webui.moments import read_slider
from ledger.entrypoints.webui.params import Rule, read_query, shown
from ledger.entrypoints.webui.rendering import STATIC_PREFIX, StaticFiles, html_response, render, templates
from projections.browse import LedgerBrowser

PREFIX = "/ui"
HANDSHAKE_PREFIX = "/ui/handshakes/"
TRANSFER_PREFIX = "/ui/transfers/"
Handler = Callable[[PageRequest], "Page | Redirect"]
# Each page and the query parameters it reads (params.py: any other is dropped, the moment is read for all)
PAGES: dict[str, tuple[Handler, Mapping[str, Rule]]] = {
    "/ui/": (ledger_pages.handshakes_page, ledger_pages.HANDSHAKES_PARAMETERS),
    "/ui/organizations": (ledger_pages.organizations_page, ledger_pages.ORGANIZATIONS_PARAMETERS),
    "/ui/transfers": (transfers_page.transfers_page, transfers_page.PARAMETERS),
    "/ui/analytics": (analytics_page.analytics_page, analytics_page.PARAMETERS),
    "/ui/analytics/organizations": (analytics_page.organizations_page, analytics_page.ORGANIZATIONS_PARAMETERS),
    "/ui/audit": (audit_page.audit_page, audit_page.PARAMETERS),
    "/ui/search": (ledger_pages.search, ledger_pages.SEARCH_PARAMETERS),
}


class WebUI:
    """The read-only web UI of one ledger. ``strict``: sign in with a key of ``accounts``; else
    only a ``Host`` naming this server, or one of ``allowed_hosts``, is answered (``hosts.py``)."""

    def __init__(self, ledger: Ledger, accounts: Accounts, *, strict: bool = False,
                 allowed_hosts: tuple[str, ...] = ()):
        self.ledger, self.accounts, self.strict = ledger, accounts, strict
        self.allowed_hosts = allowed_hosts
        self.hosts = Hosts.of(None, None, allowed_hosts)
        self.browser = LedgerBrowser(ledger.queries)
        self.static = StaticFiles()
        self.templates = templates(self.static)
        for name in self.templates.list_templates():  # compiled now, not by the first visitor
            self.templates.get_template(name)

    def listening_on(self, host: str, port: int) -> None:
        """The address the server is bound to: its name and port join the Hosts it answers."""
        self.hosts = Hosts.of(host, port, self.allowed_hosts)

    @staticmethod
    def serves(path: str) -> bool:
        """Whether a request target is the UI's (``/ui``, ``/ui/...``, ``/ui?...``)."""
        return path == PREFIX or path.startswith((PREFIX + "/", PREFIX + "?"))

    def answers_at_once(self, request: SignedRequest) -> bool:
        """Static files come from memory; pages query the view and may take a while."""
        return request.method == "GET" and request.path.startswith(STATIC_PREFIX)

    def handle(self, request: SignedRequest) -> Response:
        try:
            return self._handle(request)
        except PageError as refusal:
            return self._error(refusal, request)
        except errors.OrganizationsError as error:
            if error.status >= 500:
                raise
            return self._error(BadRequest(f"{error.code}: {error.message}"), request)
        except Exception:
            print(f"handshake-ledger: UI request {request.path!r} failed\n{traceback.format_exc()}",
                  file=sys.stderr, flush=True)
            return html_response(500, "<!doctype html><title>Server error</title><h1>Server error</h1>"
                                      "<p>The UI failed; the server's log says why.</p>", request.headers)

    def _handle(self, request: SignedRequest) -> Response:
        if not self.strict and not self.hosts.answers(request.headers.get("host")):
            raise Misdirected(f"This server does not answer for the host {shown(request.headers['host'])}: use "
                              f"http://127.0.0.1, http://localhost or the host it was started with, or "
                              f"start it with --allowed-hosts naming this one.")
        if request.method != "GET":
            raise MethodNotAllowed(f"Method {request.method} is not allowed: the UI is read-only.")
        target, _, query = request.path.partition("?")
        try:
            path = unquote(target, errors="strict")
        except UnicodeDecodeError:
            raise BadRequest("The address is not valid UTF-8 once percent-decoded.") from None
        if path.startswith(STATIC_PREFIX):
            static = self.static.response(path[len(STATIC_PREFIX):], request.headers)
            if static is None:
                raise NotFound(f"No static file {path!r}.")
            return static
        handler, rules = self._route(path)
        params = read_query(query, rules)
        if path == PREFIX:
            return Response(308, {"Location": url_of(PREFIX + "/", params)}, b"")
        scope = scope_of(request.headers, self.accounts, strict=self.strict)
        slider = read_slider(self.ledger, self.browser, params, strict=self.strict)
        page_request = PageRequest(self.ledger, self.browser, slider, scope, path, params)
        result = handler(page_request)
        if isinstance(result, Redirect):
            return Response(303, {"Location": result.location, "Cache-Control": "no-store"}, b"")
        return self._page(result, page_request, request)

    def _route(self, path: str) -> tuple[Handler, Mapping[str, Rule]]:
        if path == PREFIX:
            return PAGES[PREFIX + "/"]
        if path.startswith(HANDSHAKE_PREFIX) and "/" not in path[len(HANDSHAKE_PREFIX):]:
            handshake_id = path[len(HANDSHAKE_PREFIX):]
            return (lambda page_request: handshake_page.handshake_page(page_request, handshake_id)), handshake_page.PARAMETERS
        if path.startswith(TRANSFER_PREFIX) and "/" not in path[len(TRANSFER_PREFIX):]:
            transfer_id = path[len(TRANSFER_PREFIX):]
            return (lambda page_request: transfers_page.transfer_page(page_request, transfer_id)), \
                transfers_page.TRANSFER_PARAMETERS
        if path not in PAGES:
            raise NotFound(f"No page {shown(path)}: see the links at the top of {PREFIX}/.")
        return PAGES[path]

    def _page(self, page: Page, page_request: PageRequest, request: SignedRequest) -> Response:
        variables: dict[str, Any] = {**page.variables, "request": page_request, "slider": page_request.slider,
                                     "scope": page_request.scope}
        fragment = request.headers.get("x-fragment") == "view"
        html = render(self.templates.get_template(page.template), variables, fragment=fragment)
        extra = {"X-Moment": json.dumps(page_request.moment_summary())} if fragment else {}
        return html_response(page.status, html, request.headers, extra)

    def _error(self, refusal: PageError, request: SignedRequest) -> Response:
        context = self._error_context(refusal, request)
        html = self.templates.get_template("error.html").render(
            title=refusal.title, message=refusal.message, status=refusal.status, section=None,
            slider=context.slider if context else None, request=context, scope=context.scope if context else None)
        extra = {"WWW-Authenticate": REALM} if isinstance(refusal, Unauthorized) else \
            {"Allow": "GET"} if isinstance(refusal, MethodNotAllowed) else {}
        return html_response(refusal.status, html, request.headers, extra)

    def _error_context(self, refusal: PageError, request: SignedRequest) -> PageRequest | None:
        """What an error page's navigation needs: the viewer and the moment asked for (live if that
        was the fault). None where the page must show nothing of the ledger: no viewer yet, or a
        Host that is not this server's."""
        if isinstance(refusal, (Unauthorized, Misdirected)):
            return None
        try:
            scope = scope_of(request.headers, self.accounts, strict=self.strict)
            params = read_query(request.path.partition("?")[2], {})
            try:
                slider = read_slider(self.ledger, self.browser, params, strict=self.strict)
            except PageError:
                params, slider = {}, read_slider(self.ledger, self.browser, {}, strict=self.strict)
        except PageError:
            return None
        return PageRequest(self.ledger, self.browser, slider, scope, PREFIX + "/", params)
