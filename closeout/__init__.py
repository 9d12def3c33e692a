"""What the loaders, the dbt runner, the posting step and the CLI share: the exceptions an
operator sees (`closeout.errors`), where the warehouse lives (`closeout.warehouse`), the
encrypted token store (`closeout.token_store`) and money (`closeout.money`).

Nothing here imports `loaders`, `posting` or `cli`; they import this.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("closeout")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
