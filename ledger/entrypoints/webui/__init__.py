"""The read-only web UI that ``serve`` answers under ``/ui/``, beside the AWS API.

- ``app.py``: routing, the viewer, the moment, the answer (``WebUI.handle``, shaped as ``AwsJsonService``);
- ``access.py``: who may see what (the whole ledger, or one account's share with ``--strict``);
- ``hosts.py``: which ``Host`` it answers without ``--strict`` (DNS rebinding: others get 421);
- ``params.py``: every query parameter, checked in one place (undeclared ones dropped, numbers and
  instants in range, a relative moment pinned in every link);
- ``moments.py``: the time slider's moment (``?at=`` / ``?position=``, through ``ledger.at()``);
- ``context.py``: what every page reads (parameters, links that keep the moment, one handshake as of then);
- ``ledger_pages.py``, ``handshake_page.py``, ``analytics_page.py``, ``audit_page.py``: the pages;
- ``rendering.py``: Jinja2 templates (``templates/``), static files (``static/``: CSS, the slider's
  script, and Chart.js with its license, shipped as package data) and the answers' headers.

The queries the pages need beyond the AWS reads live in ``projections/browse.py``.
"""

from ledger.entrypoints.webui.app import WebUI

__all__ = ["WebUI"]
