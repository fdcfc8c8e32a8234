"""The ledger as its users hold it: ``Ledger`` (live: commands append events, queries read views
caught up to the log) and ``LedgerAt`` (the ledger as it stood at a moment: read-only).

Both answer every AWS operation through ``call`` (the one dispatch, ``dispatch.py``), hand out
in-process boto3 clients, and read analytics, history and what changed. They are composed by
``bootstrap.open_ledger``, which injects their collaborators; this module builds nothing.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Callable, Iterator, Protocol

from ledger.domain import errors
from ledger.domain.instants import EPOCH, from_us, is_relative, parse_instant
from ledger.entrypoints.dispatch import Command, Handler, dispatch
from ledger.service_layer.application import HandshakeLedger
from ledger.service_layer.audit import AuditedCall, Caller, api_call
from ledger.service_layer.history import HistoryEntry, handshake_as_of, history, history_page
from ledger.service_layer.requests import parse_request
from ledger.service_layer.shapes import describe_handshake
from ledger.storage.stores import Occupancy, Store
from projections.transfer_analytics import transfer_analytics
from projections.aws_reads import LedgerReads
from projections.changes import changes
from projections.cloudtrail import EventHistory
from projections.feed import change_feed
from projections.paging import TokenCodec
from projections.queries import Moment, ViewQueries
from projections.rollup_reads import rollup_analytics
from projections.runner import ViewRunner
from projections.view import HandshakeView, log_head


class Clients(Protocol):
    """boto3 clients of one ledger (``client.Clients``)."""

    def get(self, account_id: str, service: str = "organizations") -> Any: ...


ClientsFactory = Callable[["LedgerReader"], Clients]


class LedgerReader:
    """What every ledger answers: the AWS operations, boto3 clients, analytics."""

    view: HandshakeView
    queries: ViewQueries
    reads: LedgerReads
    trail: EventHistory  # the audit log, as CloudTrail's event history
    clients_for: ClientsFactory  # injected by the composition root (``bootstrap.py``)

    def moment(self) -> Moment:
        """What queries read: which versions of the view, judged at which instant."""
        raise NotImplementedError

    def moment_for(self, next_token: str | None) -> Moment:
        """The moment a request reads: a NextToken's pinned one when the moment was asked for in
        words that depend on when (``/as-of/-3d``: every page reads the first page's moment)."""
        moment = self.moment()
        pinned = self.reads.tokens.pinned(next_token) if next_token and moment.label else None
        return Moment(pinned[0], from_us(pinned[1]), moment.label) if pinned else moment

    def now(self) -> datetime:
        return self.moment().instant

    def command(self, command: Command, caller: Caller, operation: str,
                params: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def at(self, instant: str | datetime | None = None, *, position: int | None = None) -> LedgerAt:
        """The ledger as it stood at ``instant`` or ``position`` (``Ledger.at``)."""
        raise NotImplementedError

    def query(self, handler: Handler, caller: Caller, request: Any) -> dict[str, Any]:
        return handler(self, caller, request, self.moment_for(getattr(request, "NextToken", None)))

    def record_refusal(self, caller: Caller, operation: str, params: dict[str, Any] | None,
                       error: errors.OrganizationsError) -> None:
        """Audit a call refused before it reached a command (``aws_json``: no such operation, a body
        that is not JSON): recorded now, in the live ledger, whatever moment it was sent to."""
        raise NotImplementedError

    def call(self, caller: Caller | str, operation: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Answer one AWS operation for ``caller`` (a ``Caller``, or an account id); the HTTP
        service and the clients both come through here."""
        if isinstance(caller, str):
            caller = Caller(caller)
        return dispatch(self, caller, operation, params)

    def client(self, account_id: str, service: str = "organizations") -> Any:
        """A real boto3 (botocore) client for ``account_id``, answered in-process (no socket)."""
        clients = self.__dict__.get("_clients")
        if clients is None:
            clients = self.__dict__.setdefault("_clients", self.clients_for(self))
        return clients.get(account_id, service)

    def analytics(self, by: str = "organization") -> list[dict[str, Any]]:
        """Outcomes, acceptance rate, time to decision (nearest-rank p50/p90 within 2.47%), requests
        per day, per organization and action (or per action), at the moment: read from the rollup's
        counters and one day's rows (``projections/rollup_reads.py``), not from every handshake."""
        return rollup_analytics(self.view, self.moment(), by=by)

    def transfer_analytics(self) -> dict[str, Any]:
        """Billing transfers by status (as read at the moment), in effect, and time to answer (seconds,
        exact nearest-rank p50/p90): ``projections.transfer_analytics``, at the moment."""
        moment = self.moment()
        return transfer_analytics(self.reads.transfer_queries.facts(moment), now=moment.instant)


class Ledger(LedgerReader):
    """The live ledger: commands append events; queries read views caught up to the log."""

    def __init__(self, app: HandshakeLedger, store: Store, view: HandshakeView, tokens: TokenCodec, *,
                 clients_for: ClientsFactory):
        self.app = app
        self.clients_for = clients_for
        self.store = store
        self.view = view
        self.queries = ViewQueries(view)
        self.reads = LedgerReads(self.queries, tokens)
        self.trail = EventHistory(app.recorder)
        self.clock = app.clock
        self.runner: ViewRunner | None = None
        self._occupancy: Occupancy | None = None
        self._reached = 0
        self._catching = threading.Lock()  # one catch-up at a time; those waiting may find theirs done
        # Every command catches the (shared) views up before it answers, so its writer and
        # everyone else read it next. Queries catch up too, unless a runner follows the log
        # (here or in a sibling process) to pick up writers that died before catching up.
        self.views_followed = False

    def moment(self) -> Moment:
        return Moment(None, self.clock.now())

    def command(self, command: Command, caller: Caller, operation: str,
                params: dict[str, Any]) -> dict[str, Any]:
        """Validate and run one command call; audit it, accepted (with its events) or refused (alone)."""
        now = self.moment().instant
        audit: AuditedCall[Any] = AuditedCall(operation, caller, params, now,
                                              answer=lambda result: command.answer(self.app, caller, result, now))
        try:
            request = parse_request(operation, params)
        except errors.OrganizationsError as invalid:
            self.app.record_refusal(audit.refused(invalid))
            raise
        command.run(self.app, caller, request, audit)
        self.catch_up(upto=self.app.answered_head)  # read-your-writes: the caller's next List sees this command
        return audit.answer_given

    def record_refusal(self, caller: Caller, operation: str, params: dict[str, Any] | None,
                       error: errors.OrganizationsError) -> None:
        self.app.record_refusal(api_call(operation, caller, params, self.clock.now(), error=error))

    def query(self, handler: Handler, caller: Caller, request: Any) -> dict[str, Any]:
        if not self.views_followed:
            self.catch_up()
        return handler(self, caller, request, self.moment())

    def catch_up(self, upto: int | None = None) -> int:
        """Bring the views up to the end of the log: one query when they already are there, none
        when they are at ``upto`` (a position of the log).

        ``_reached`` is how far this process has seen the view go; views only move forward, so
        when the log's head (or ``upto``) is not past it there is nothing to do. Commands that
        committed together wait here for one catch-up, which brings each its own writes.
        """
        if upto is not None and upto <= self._reached:
            return self._reached
        with self._catching:
            if upto is not None and upto <= self._reached:
                return self._reached  # caught up by the command before this one
            if (upto or log_head(self.app)) > self._reached:
                self._reached = max(self._reached, self.view.catch_up(self.app))
        return self._reached

    def follow(self, interval: float = 0.5) -> None:
        """Keep the views following the log in the background (the server does this). The
        location is then held as served (shared): a demo can't write a backdated story into it,
        and while a demo holds it, this raises ``LocationBusy``."""
        if self._occupancy is None:
            self._occupancy = Occupancy(self.store.location, alone=False)
        if self.runner is None:
            self.runner = ViewRunner(self.catch_up, recorder=self.app.recorder, interval=interval).start()
        self.views_followed = True

    # -- audit and time travel --------------------------------------------------------------

    def register_account(self, account_id: str, email: str | None = None, name: str | None = None) -> None:
        self.app.register_account(account_id, email, name)
        self.catch_up()

    def history(self, handshake_id: str, as_of: datetime | None = None) -> list[HistoryEntry]:
        return history(self.app, handshake_id, self.now(), as_of)

    def history_page(self, handshake_id: str, *, refusals: int, before: tuple[int, int] | None = None
                     ) -> tuple[list[HistoryEntry], tuple[int, int] | None]:
        """The history with the newest ``refusals`` refused calls before ``before``, and the key of
        the older ones (``ledger.service_layer.history.history_page``)."""
        return history_page(self.app, handshake_id, self.now(), refusals=refusals, before=before)

    def handshake_as_of(self, handshake_id: str, *, version: int | None = None,
                        instant: datetime | None = None) -> dict[str, Any]:
        """The Describe shape of a handshake after a version, or at an instant (expiry derived then)."""
        handshake = handshake_as_of(self.app, handshake_id, version=version, instant=instant)
        if instant is None:  # after a version: as recorded then; latest: as read now
            instant = handshake.modified_on if version is not None else self.now()
        return describe_handshake(handshake, instant)

    def at(self, instant: str | datetime | None = None, *, position: int | None = None) -> LedgerAt:
        """The ledger as it stood at ``instant`` (ISO 8601, ``now``, ``-3d``, or a datetime), or just
        after the event at log ``position``: read-only, opened in constant time from the view's
        versions (no replay). As of T means the longest prefix of the log recorded at or before T,
        read at T; as of a position, read at the instant of its event. ValueError for an instant
        that can't be read or a position past the end of the log.
        """
        if (instant is None) == (position is None):
            raise ValueError("give an instant or a position")
        if not self.views_followed:
            self.catch_up()
        if instant is not None:
            when = parse_instant(instant, self.clock.now())
            label = instant if isinstance(instant, str) and is_relative(instant) else None
            return LedgerAt(self, Moment(self.queries.position_at(when), when, label), asked=label or when.isoformat())
        if position is None or position < 0 or position > self.view.position():
            raise ValueError(f"position {position} is not in the log yet")  # its length is no caller's business
        return LedgerAt(self, Moment(position, self.queries.instant_of(position) or EPOCH), asked=f"position {position}")

    def changes(self, since: str | datetime, until: str | datetime = "now", *, organization_id: str | None = None,
                account_id: str | None = None) -> list[dict[str, Any]]:
        """Every handshake whose DescribeHandshake answer differs between two instants, with both
        answers (None where it was not visible): new versions, expiries and retention's ends."""
        return list(self.iter_changes(since, until, organization_id=organization_id, account_id=account_id))

    def iter_changes(self, since: str | datetime, until: str | datetime = "now", *,
                     organization_id: str | None = None, account_id: str | None = None) -> Iterator[dict[str, Any]]:
        """``changes``, streamed (newest request first): memory holds a chunk, not the window."""
        before, after = self.at(since), self.at(until)
        return changes(self.reads, before.moment(), after.moment(), organization_id=organization_id,
                       account_id=account_id)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Replay the whole log into fresh views and swap them in; the old ones answer meanwhile."""
        self._reached = self.view.rebuild(self.app, progress=progress)
        return self._reached

    def events(self, after: int = 0, *, follow: bool = False, poll: float = 0.2,
               stop: threading.Event | None = None) -> Iterator[dict[str, Any]]:
        return change_feed(self.app, after=after, follow=follow, poll=poll, stop=stop)

    def close(self) -> None:
        if self.runner is not None:
            self.runner.stop()
        if self._occupancy is not None:
            self._occupancy.close()
        self.app.close()
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LedgerAt(LedgerReader):
    """The ledger as it stood at a moment: every read operation and analytics; commands refused."""

    def __init__(self, ledger: Ledger, moment: Moment, asked: str | None = None):
        """``asked``: the moment as the caller named it (an instant, ``-3d``, ``position 12``): what a
        refusal may repeat (neither the log's position at an instant nor the instant of a position)."""
        self.view, self.queries, self.reads, self.trail = ledger.view, ledger.queries, ledger.reads, ledger.trail
        self.clients_for = ledger.clients_for
        self._live = ledger
        self._moment = moment
        self._asked = asked or moment.instant.isoformat()

    @property
    def position(self) -> int:
        return self._moment.position or 0

    @property
    def instant(self) -> datetime:
        return self._moment.instant

    def moment(self) -> Moment:
        return self._moment

    def command(self, command: Command, caller: Caller, operation: str,
                params: dict[str, Any]) -> dict[str, Any]:
        """Refused, and audited as any refused command is (in the live ledger, now)."""
        refusal = errors.AccessDeniedException(
            f"The ledger as of {self._asked} is read-only: "
            "send commands to the live endpoint."
        )
        self.record_refusal(caller, operation, params, refusal)
        raise refusal

    def record_refusal(self, caller: Caller, operation: str, params: dict[str, Any] | None,
                       error: errors.OrganizationsError) -> None:
        self._live.record_refusal(caller, operation, params, error)

    def at(self, instant: str | datetime | None = None, *, position: int | None = None) -> LedgerAt:
        """Another moment of the same ledger (``Ledger.at``)."""
        return self._live.at(instant, position=position)

    def close(self) -> None:
        """Nothing to release: a moment is two numbers over the live ledger's view."""

    def __enter__(self) -> LedgerAt:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
