"""Every query parameter of the UI, read in one place: each page declares the parameters it reads
and the rule each must follow (an AWS shape, one of a few words, printable text, a keyset cursor);
the slider's moment (``at``, ``position``) is read for every page.

- A parameter a page does not declare is dropped: it never reaches a query nor a link, so junk in
  an address does not grow the page.
- A declared one that breaks its rule is a ``BadRequest`` (400) naming the parameter; the value is
  quoted shortened, so an error page stays small too.
- Numbers are bounded (a cursor's microseconds lie within the years 1970 to 9999, a position has at
  most 19 digits) and instants lie in ``[EPOCH, now + FUTURE]``: nothing the UI passes on can
  overflow a store's integer or a datetime.
- ``at`` is read once, against the ledger's clock: a relative moment (``-3w``, ``+2d``, ``now``) is
  pinned to the instant it named, and every link carries that instant, as the API's NextTokens do.
  A ``+`` written in an address reaches the server as a space (form encoding); ``at`` takes it back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Mapping
from urllib.parse import parse_qsl

from ledger.domain.instants import AHEAD, EPOCH, SPELLINGS, parse_instant, to_us
from ledger.entrypoints.webui.errors import BadRequest
from ledger.service_layer.requests import is_valid

MOMENT_PARAMS = ("at", "position")
FUTURE = AHEAD  # how far past the ledger's clock a moment may lie (derived expiry, retention)
LAST_US = to_us(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc))
MAX_FIELDS = 64  # query parameters in one address, junk included
SHOWN = 64  # characters of a refused value quoted back
CURSOR = re.compile(r"([0-9]{1,18})\.([0-9a-z-]{1,64})", re.ASCII)
POSITION = re.compile(r"[0-9]{1,19}", re.ASCII)


@dataclass(frozen=True)
class Rule:
    """What a parameter's value must be: ``check`` says whether it is; ``expected`` says it in words."""

    check: Callable[[str], bool]
    expected: str


def shape(name: str) -> Rule:
    """A valid string of the AWS model's shape ``name`` (``AccountId``, ``OrganizationId``, ``Email``...)."""
    return Rule(lambda value: is_valid(name, value), f"a valid {name}")


def choice(options: Iterable[str]) -> Rule:
    allowed = tuple(options)
    return Rule(lambda value: value in allowed, f"one of {', '.join(allowed)}")


def pattern(regex: str, expected: str) -> Rule:
    compiled = re.compile(regex)
    return Rule(lambda value: compiled.fullmatch(value) is not None, expected)


TEXT = pattern(r"[^\x00-\x1f\x7f]{1,256}", "printable text, 256 characters at most")
WORD = pattern(r"[A-Za-z]{1,64}", "a word of letters (an operation or an error code)")
KEYSET = Rule(lambda value: parse_cursor(value) is not None, "a cursor from the page's own links")


def parse_cursor(value: str) -> tuple[int, str] | None:
    """A keyset cursor ``<microseconds>.<id>`` as the pages' links write it; None if it is not one."""
    match = CURSOR.fullmatch(value)
    if match is None or int(match.group(1)) > LAST_US:
        return None
    return int(match.group(1)), match.group(2)


def read_query(query: str, rules: Mapping[str, Rule]) -> dict[str, str]:
    """The declared parameters of a query string (moment ones included, unchecked here), stripped;
    empty ones and undeclared ones left out. BadRequest for a value that breaks its rule, a declared
    one given twice, text that is not UTF-8 once percent-decoded, or more than MAX_FIELDS parameters."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise BadRequest("The address is not valid UTF-8 once percent-decoded.") from None
    except ValueError:
        raise BadRequest(f"Too many query parameters: at most {MAX_FIELDS}.") from None
    params: dict[str, str] = {}
    for name, raw in pairs:
        if name in params and (name in MOMENT_PARAMS or name in rules):
            raise BadRequest(f"Give {name} once: the page shows one {name} at a time.")
        if name in MOMENT_PARAMS:
            params[name] = raw  # spaces matter to ``at``: read_moment strips
            continue
        value = raw.strip()
        if name not in rules or not value:
            continue
        check(name, value, rules[name])
        params[name] = value
    return params


def check(name: str, value: str, rule: Rule) -> str:
    if not rule.check(value):
        raise BadRequest(f"Invalid {name} {shown(value)}: {rule.expected}.")
    return value


def shown(value: str) -> str:
    """A value quoted back in a message, at most SHOWN characters of it."""
    return repr(value) if len(value) <= SHOWN else repr(value[:SHOWN]) + f"... ({len(value)} characters)"


def read_moment(params: Mapping[str, str], now: datetime, *,
                positions: bool = True) -> tuple[datetime | None, int | None]:
    """(instant, position) the page is asked at, at most one of them; (None, None) is live.
    BadRequest for both at once, a position that is not a whole number of at most 19 digits, or an
    instant that can't be read or lies outside ``[EPOCH, now + FUTURE]``; for any position when
    ``positions`` is False (strict mode: a position counts every account's events)."""
    at, position = params.get("at", "").strip(), params.get("position", "").strip()
    if position and not positions:
        raise BadRequest("Log positions are not served in strict mode: they count every account's events. "
                         "Ask as of an instant with ?at=<instant> (ISO 8601, now, -3d).")
    if at and position:
        raise BadRequest("Give at=<instant> or position=<N>, not both.")
    if position:
        if not POSITION.fullmatch(position):
            raise BadRequest(f"Invalid position {shown(position)}: a whole number of the log.")
        return None, int(position)
    if not at:
        return None, None
    latest = now + FUTURE
    problem = (f"Invalid at {shown(at)}: use {SPELLINGS}, between {EPOCH:%Y-%m-%d} and {latest:%Y-%m-%d} "
               f"(write + as %2B, or as + where nothing else follows it).")
    instant = _instant(params.get("at", ""), now)
    if instant is None or not EPOCH <= instant <= latest:
        raise BadRequest(problem)
    return instant, None


def _instant(raw: str, now: datetime) -> datetime | None:
    """``raw`` as an instant; a space (a ``+`` the address's form encoding turned into one) is read
    as ``+`` when the text does not read as it stands (``+2d``, ``...T12:00:00+02:00``)."""
    for text in dict.fromkeys((raw.strip(), raw.replace(" ", "+").strip())):
        if len(text) > SHOWN:
            return None
        try:
            return parse_instant(text, now)
        except (ValueError, OverflowError):
            continue
    return None
