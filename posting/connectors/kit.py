"""What every connector needs and no vendor differs in: settings read from the environment or
dlt config, requests in chunks, JSON answers read Decimal-exact, tokens kept for the run and in
the encrypted store between runs, the "a 401 gets one fresh token" send, and the "create one
attempt at a time, look before sending again" loop. A connector module then holds only its
vendor's settings and wire format (OData helpers: `posting/connectors/odata.py`; the OAuth
authorization-code consent and rotating refresh tokens: `posting/oauth.py`).

Settings are a frozen dataclass extending `ErpSettings`, each field read from configuration
declared with `setting()`:

    @dataclass(frozen=True)
    class AcmeSettings(ErpSettings):
        ERP: ClassVar[str] = "acme"
        LABEL: ClassVar[str] = "Acme"
        api_key: str = setting(secret=True)                 # required: no default
        ledger: str = setting("GL")                          # optional, with its default
        batch_size: int = setting(50, parse=whole_number)    # text -> int, or a clear error

`AcmeSettings.from_config()` reads each from env `ERP__ACME__<NAME>`, else dlt's `erp.acme.<name>`
(`.dlt/config.toml` or `.dlt/secrets.toml`; a `secret=True` setting only from dlt's secret
providers: `.dlt/secrets.toml`, never `.dlt/config.toml`), and names every missing required
variable in one ConfigurationError. Checks across fields go in `check()`, which runs whenever
settings are made, from configuration or by hand (`AcmeSettings(...)`, `dataclasses.replace`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, TypeVar

import httpx

from closeout import money
from closeout.errors import ConfigurationError, ErpBudgetSpent, ErpError, ErpRefusal
from closeout.token_store import TokenStore, fernet_from_env

T = TypeVar("T")
S = TypeVar("S", bound="ErpSettings")
_SETTING = "closeout.setting"
_RAISE: Any = object()


# -- settings ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """How one settings field is read: its config name, and what turns the text into a value."""

    name: str | None = None  # the config name, when it is not the field's
    secret: bool = False  # read from env or .dlt/secrets.toml only, never config.toml
    parse: Callable[[str], Any] | None = None  # raises ValueError("must ...") or ConfigurationError
    empty: bool = False  # an empty environment variable is a value, not "unset"
    help: str = ""  # what the value is, added to the "not configured" message


def setting(
    default: Any = MISSING,
    *,
    name: str | None = None,
    secret: bool = False,
    parse: Callable[[str], Any] | None = None,
    empty: bool = False,
    help: str = "",
) -> Any:
    """A settings field read by `ErpSettings.from_config`; required when it has no default."""
    spec = Setting(name, secret, parse, empty, help)
    return field(default=default, metadata={_SETTING: spec})


def env_name(erp: str, name: str) -> str:
    return f"ERP__{erp.upper()}__{name.upper()}"


def config_value(erp: str, name: str, *, empty: bool = False, secret: bool = False) -> str | None:
    """Setting `name` of `erp` as stripped text: env ERP__<ERP>__<NAME>, else dlt's
    `erp.<erp>.<name>` (a `secret` only from dlt's secret providers, so never from
    .dlt/config.toml); None when unset. An empty value is unset unless `empty` (and then only
    from the environment, where "set to nothing" can be said)."""
    raw = os.environ.get(env_name(erp, name))
    if raw is not None and (raw.strip() or empty):
        return raw.strip()
    import dlt

    value = (dlt.secrets if secret else dlt.config).get(f"erp.{erp}.{name}")
    text = "" if value is None else str(value).strip()
    return text or None


def whole_number(text: str) -> int:
    if not text.isdigit():
        raise ValueError("must be a whole number")
    return int(text)


class ErpSettings:
    """Base of a connector's settings dataclass (see the module docstring)."""

    ERP: ClassVar[str]  # the section: ERP__<ERP>__*, erp.<erp>.*
    LABEL: ClassVar[str]  # how the operator knows the ERP: "Sage Intacct"
    HINT: ClassVar[str] = ""  # appended to the "not configured" message

    @classmethod
    def from_config(cls: type[S]) -> S:
        return cls(**read_settings(cls))  # check() runs in __post_init__

    def __post_init__(self) -> None:
        self.check()

    @classmethod
    def env(cls, name: str) -> str:
        """The environment variable of setting `name`, for messages."""
        return env_name(cls.ERP, name)

    def check(self) -> None:
        """Checks across fields; raise ConfigurationError naming the variables to fix. Runs
        whenever settings are made (from_config, by hand, dataclasses.replace)."""


def read_settings(cls: type[ErpSettings]) -> dict[str, Any]:
    """The fields of `cls` declared with `setting()` that are configured, parsed."""
    values: dict[str, Any] = {}
    missing: list[str] = []
    for item in fields(cls):  # type: ignore[arg-type]
        spec: Setting | None = item.metadata.get(_SETTING)
        if spec is None:
            continue
        variable = cls.env(spec.name or item.name)
        text = config_value(cls.ERP, spec.name or item.name, empty=spec.empty, secret=spec.secret)
        if text is None:
            if item.default is MISSING:
                missing.append(f"{variable} to {spec.help}" if spec.help else variable)
            continue
        try:
            values[item.name] = spec.parse(text) if spec.parse else text
        except ValueError as exc:
            raise ConfigurationError(f"{variable} {exc}, got {text!r}") from None
    if missing:
        secrets = any(getattr(f.metadata.get(_SETTING), "secret", False) for f in fields(cls))  # type: ignore[arg-type]
        raise ConfigurationError(
            f"{cls.LABEL} is not configured: set {', '.join(missing)} (or the same keys under "
            f"[erp.{cls.ERP}] in .dlt/config.toml"
            + (", secrets only in .dlt/secrets.toml" if secrets else "")
            + f"){cls.HINT}."
        )
    return values


# -- requests and answers ----------------------------------------------------------------------
def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size` (the last may be shorter)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def json_body(
    response: httpx.Response,
    erp: str,
    *,
    default: Any = _RAISE,
    error: type[ErpError] = ErpRefusal,
    what: str | None = None,
    shown: int = 300,
    quoted: bool = False,
) -> Any:
    """The answer's JSON, every number with a fraction a Decimal (never a float). A body that is
    not JSON gives `default` when one is passed, else `error` naming the ERP and the answer:
    its first `shown` characters, as a Python literal when `quoted` (so control characters and
    an empty body show)."""
    try:
        return money.loads(response.content)
    except ValueError:
        if default is not _RAISE:
            return default
        excerpt = response.text[:shown]
        raise error(
            f"{erp} answered {what or f'HTTP {response.status_code}'} with a body that "
            f"is not JSON: {repr(excerpt) if quoted else excerpt}"
        ) from None


def token_answer(response: httpx.Response, erp: str) -> tuple[dict, Any]:
    """A token endpoint's answer: its JSON body ({} when it is not a JSON object) and the access
    token, None when the answer refuses one (not HTTP 200, or no access_token in it)."""
    body = json_body(response, erp, default={})
    if not isinstance(body, dict):
        body = {}
    return body, (body.get("access_token") if response.status_code == 200 else None) or None


def token_error(body: dict, response: httpx.Response) -> str:
    """What a token endpoint said went wrong: its OAuth `error`, else the HTTP status."""
    return str(body.get("error") or f"HTTP {response.status_code}")


# -- sending ------------------------------------------------------------------------------------
def send_renewing(
    send: Callable[[str], httpx.Response],
    token: Callable[[], str],
    renew: Callable[[str], str],
    *,
    again: Callable[[httpx.Response], bool] | None = None,
) -> httpx.Response:
    """`send(token())`; the first HTTP 401 gets `renew(refused)` (the token to use instead:
    expired or revoked early) and one more send. The answer after that is returned whatever it
    is: a second 401 is the caller's to report (the ERP refuses even a fresh token). When
    `again(answer)` is true (Exact waiting out a 429) the request is sent again with `token()`,
    the renewal still spent if it was."""
    renewed = False
    used = token()
    while True:
        response = send(used)
        if response.status_code == 401 and not renewed:
            renewed = True
            used = renew(used)
        elif again is not None and again(response):
            used = token()
        else:
            return response


class Throttled(Exception):
    """An answer that says the request was not executed (HTTP 429): wait `wait` seconds (None:
    the caller's backoff) and send it again."""

    def __init__(self, wait: float | None):
        super().__init__("429")
        self.wait = wait


def create_looking_first(
    send: Callable[[], T],
    find: Callable[[], str | None],
    *,
    attempts: int,
    lost: tuple[type[Exception], ...],
    backoff: Callable[[int], float],
    sleep: Callable[[float], None],
    before_looking: Callable[[], None] | None = None,
    exhausted: Callable[[], Exception] | None = None,
) -> T | str:
    """Create a document the ERP has no idempotency key for: `send()` one attempt at a time
    (its ErpHttp must not retry it). An answer that is lost (`lost`: a dropped connection, a
    5xx) may hide a stored document, so `find()` looks for it before the next attempt: found,
    its id is the answer; not, wait `backoff(attempt)` and send again. Throttled means not
    executed: wait and send again without looking. ErpBudgetSpent (nothing sent) is raised as
    it is. After the last attempt, `exhausted()` is raised (having looked once more), or, when
    there is none, the last lost answer as it is, without looking."""
    for attempt in range(1, attempts + 1):
        try:
            return send()
        except ErpBudgetSpent:
            raise
        except Throttled as exc:
            sleep(exc.wait if exc.wait is not None else backoff(attempt))
        except lost:
            if exhausted is None and attempt == attempts:
                raise
            if before_looking is not None:
                before_looking()
            found = find()
            if found:
                return found
            sleep(backoff(attempt))
    if exhausted is None:
        raise AssertionError("unreachable")
    raise exhausted()


# -- state kept between runs --------------------------------------------------------------------
def default_token_store() -> TokenStore | None:
    """The encrypted store for tokens and sessions, when CLOSEOUT_SECRET_KEY is set."""
    fernet = fernet_from_env()
    if fernet is None:
        return None
    from closeout.warehouse import state_dir

    return TokenStore(state_dir() / "tokens.enc", fernet)


class CachedToken:
    """A bearer token (or session) and when it ends: kept for the run, and between runs in the
    encrypted `store` under `name` when there is one. It counts as ended `margin` seconds early,
    so it is renewed rather than refused mid-request."""

    def __init__(self, store: TokenStore | None, name: str, margin: float):
        self.store, self.name, self.margin = store, name, margin
        self.value: str | None = None
        self.expires_at = 0.0

    def usable(self, expires_at: float | None = None) -> bool:
        """Whether a token ending at `expires_at` (default: this one's) may still be used."""
        return (self.expires_at if expires_at is None else expires_at) - self.margin > time.time()

    def valid(self) -> str | None:
        """The token, while it is usable."""
        return self.value if self.value and self.usable() else None

    def stored(self) -> tuple[str, float] | None:
        """What an earlier run saved, when it is still usable."""
        entry = self.store.load(self.name) if self.store is not None else None
        return entry if entry and self.usable(entry[1]) else None

    def keep(self, value: str, expires_at: float, *, save: bool = True) -> str:
        """Use `value` from now on; saved for the next run unless it came from the store."""
        self.value, self.expires_at = value, expires_at
        if save:
            self.save(value, expires_at)
        return value

    def save(self, value: str, expires_at: float) -> None:
        if self.store is not None:
            self.store.save(self.name, value, expires_at)


def keys_held(connector: Any, journals: Sequence[Any]) -> dict[str, str]:
    """key -> document id of those of `journals` whose exact key the ERP holds completely:
    `existing` in terms of `held`, for connectors that find documents by identity."""
    wanted = {journal.key for journal in journals}
    found: dict[str, str] = {}
    for documents in connector.held(journals).values():
        for document in documents:
            if document.key in wanted:
                found.setdefault(document.key, document.document_id)
    return found


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header given in seconds; None when absent or not a number."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
