"""What every connector needs and no vendor differs in: settings read from the environment or
dlt config, requests in chunks, JSON answers read Decimal-exact, the token store kept between
runs. A connector module then holds only its vendor's settings and wire format.

Settings are a frozen dataclass extending `ErpSettings`, each field read from configuration
declared with `setting()`:

    @dataclass(frozen=True)
    class AcmeSettings(ErpSettings):
        ERP: ClassVar[str] = "acme"
        LABEL: ClassVar[str] = "Acme"
        api_key: str = setting(secret=True)                 # required: no default
        ledger: str = setting("GL")                          # optional, with its default
        batch_size: int = setting(50, parse=whole_number)    # text -> int, or a clear error

`AcmeSettings.from_config()` reads each from env `ERP__ACME__<NAME>`, else dlt config and secrets
`erp.acme.<name>` (`.dlt/config.toml`, `.dlt/secrets.toml`), names every missing required
variable in one ConfigurationError, and runs the class's `check()`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, TypeVar

import httpx

from closeout import money
from closeout.errors import ConfigurationError, ErpError, ErpRefusal
from closeout.token_store import TokenStore, fernet_from_env

T = TypeVar("T")
S = TypeVar("S", bound="ErpSettings")
_SETTING = "closeout.setting"
_RAISE: Any = object()


# -- settings ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """How one settings field is read: its config name, and what turns the text into a value."""
    name: str | None = None          # the config name, when it is not the field's
    secret: bool = False             # belongs in .dlt/secrets.toml (named so in the message)
    parse: Callable[[str], Any] | None = None  # raises ValueError("must ...") or ConfigurationError
    empty: bool = False              # an empty environment variable is a value, not "unset"
    help: str = ""                   # what the value is, added to the "not configured" message


def setting(default: Any = MISSING, *, name: str | None = None, secret: bool = False,
            parse: Callable[[str], Any] | None = None, empty: bool = False,
            help: str = "") -> Any:
    """A settings field read by `ErpSettings.from_config`; required when it has no default."""
    spec = Setting(name, secret, parse, empty, help)
    return field(default=default, metadata={_SETTING: spec})


def env_name(erp: str, name: str) -> str:
    return f"ERP__{erp.upper()}__{name.upper()}"


def config_value(erp: str, name: str, *, empty: bool = False) -> str | None:
    """Setting `name` of `erp` as stripped text: env ERP__<ERP>__<NAME>, else dlt config and
    secrets `erp.<erp>.<name>`; None when unset. An empty value is unset unless `empty` (and
    then only from the environment, where "set to nothing" can be said)."""
    raw = os.environ.get(env_name(erp, name))
    if raw is not None and (raw.strip() or empty):
        return raw.strip()
    import dlt

    value = dlt.config.get(f"erp.{erp}.{name}")
    text = "" if value is None else str(value).strip()
    return text or None


def whole_number(text: str) -> int:
    if not text.isdigit():
        raise ValueError("must be a whole number")
    return int(text)


class ErpSettings:
    """Base of a connector's settings dataclass (see the module docstring)."""

    ERP: ClassVar[str]               # the section: ERP__<ERP>__*, erp.<erp>.*
    LABEL: ClassVar[str]             # how the operator knows the ERP: "Sage Intacct"
    HINT: ClassVar[str] = ""         # appended to the "not configured" message

    @classmethod
    def from_config(cls: type[S]) -> S:
        settings = cls(**read_settings(cls))
        settings.check()
        return settings

    @classmethod
    def env(cls, name: str) -> str:
        """The environment variable of setting `name`, for messages."""
        return env_name(cls.ERP, name)

    def check(self) -> None:
        """Checks across fields; raise ConfigurationError naming the variables to fix."""


def read_settings(cls: type[ErpSettings]) -> dict[str, Any]:
    """The fields of `cls` declared with `setting()` that are configured, parsed."""
    values: dict[str, Any] = {}
    missing: list[str] = []
    for item in fields(cls):  # type: ignore[arg-type]
        spec: Setting | None = item.metadata.get(_SETTING)
        if spec is None:
            continue
        variable = cls.env(spec.name or item.name)
        text = config_value(cls.ERP, spec.name or item.name, empty=spec.empty)
        if text is None:
            if item.default is MISSING:
                missing.append(f"{variable} ({spec.help})" if spec.help else variable)
            continue
        try:
            values[item.name] = spec.parse(text) if spec.parse else text
        except ValueError as exc:
            raise ConfigurationError(f"{variable} {exc}, got {text!r}") from None
    if missing:
        secrets = any(getattr(f.metadata.get(_SETTING), "secret", False)
                      for f in fields(cls))  # type: ignore[arg-type]
        raise ConfigurationError(
            f"{cls.LABEL} is not configured: set {', '.join(missing)} (or the same keys under "
            f"[erp.{cls.ERP}] in .dlt/config.toml"
            + (", secrets in .dlt/secrets.toml" if secrets else "") + f"){cls.HINT}.")
    return values


# -- requests and answers ----------------------------------------------------------------------
def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size` (the last may be shorter)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def json_body(response: httpx.Response, erp: str, *, default: Any = _RAISE,
              error: type[ErpError] = ErpRefusal, what: str | None = None) -> Any:
    """The answer's JSON, every number with a fraction a Decimal (never a float). A body that is
    not JSON gives `default` when one is passed, else `error` naming the ERP and the answer."""
    try:
        return money.loads(response.content)
    except ValueError:
        if default is not _RAISE:
            return default
        raise error(f"{erp} answered {what or f'HTTP {response.status_code}'} with a body that "
                    f"is not JSON: {response.text[:300]}") from None


# -- state kept between runs --------------------------------------------------------------------
def default_token_store() -> TokenStore | None:
    """The encrypted store for tokens and sessions, when CLOSEOUT_SECRET_KEY is set."""
    fernet = fernet_from_env()
    if fernet is None:
        return None
    from closeout.warehouse import state_dir

    return TokenStore(state_dir() / "tokens.enc", fernet)
