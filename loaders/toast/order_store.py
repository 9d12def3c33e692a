"""Orders go from their Arrow batches straight into DuckDB, in a thread beside the dlt pipeline
that writes restaurants, configuration and time entries.

Why not through dlt: dlt's merge writes each batch to a Parquet file, copies it into a staging
table, then deletes and inserts into the final table, one pipeline run (with its fixed cost) per
commit. On the rate-limited benchmark (10 locations x 2,000 orders, ~200 MB of order JSON, on a
2-core machine) that cost ~6 s of writing, more than the 4.4 s Toast's limits take to serve the
pages, so the load ended seconds after the last page. Deleting and inserting straight from the
Arrow batch costs ~2 s and keeps pace with the download. The merge semantics are the same:
(restaurant, order guid) is the key, the newest read wins, nothing doubles.

Each commit writes the orders fetched since the previous one together with the watermark of
every location whose last page they include, in one transaction: a crash keeps what was
committed and the next run re-reads from a watermark that never ran ahead of its orders.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from loaders.toast.orders import ParsedPage

ORDERS_TABLE = "orders"
REJECTS_TABLE = "rejects"
WATERMARKS_TABLE = "order_watermarks"
# The same columns dlt gave these tables when it wrote them, so older warehouses carry on.
ORDERS_COLUMNS = """restaurant_guid varchar not null, order_guid varchar not null,
    business_date date, opened_at timestamptz, modified_at timestamptz,
    extracted_at timestamptz, order_json varchar"""
REJECTS_COLUMNS = """reject_id varchar not null, restaurant_guid varchar, record_guid varchar,
    reason varchar, source_url varchar, rejected_at timestamptz, raw_text varchar"""
WATERMARKS_COLUMNS = """restaurant_guid varchar primary key, modified_through timestamptz not null,
    committed_at timestamptz not null"""
# Written since the last checkpoint: past this, fold the WAL into the file while fetching goes
# on, so the checkpoint at the end of the load stays small.
CHECKPOINT_BYTES = 32 * 2**20
# DuckDB's default number of vacuum tasks per checkpoint, restored for a large load's last one.
DEFAULT_VACUUM_TASKS = 100
# A load that wrote this much merges its row groups when it closes (see __init__).
MERGE_AT_CLOSE_BYTES = 256 * 2**20


def leave_merging_to_the_store(con: duckdb.DuckDBPyConnection) -> None:
    """No vacuum in this connection's checkpoints. A checkpoint that vacuums merges the small
    row groups of every table, written by it or not: the load's audit records, written after
    the store closed, merged a 200 MB day's orders at the load's end (0.9 s). The setting is
    the database's, so it holds for every connection the process has open to the file."""
    con.execute("set max_vacuum_tasks = 0")


class OrderStore:
    def __init__(self, path: Path, schema: str, memory_limit: str):
        self.schema = schema
        self._con = duckdb.connect(str(path))
        self._con.execute(f"set memory_limit = '{memory_limit}'")
        # Past the limit DuckDB spills to <file>.tmp, its default. Not set explicitly: once a
        # connection has spilled, DuckDB refuses every later SET temp_directory, which dlt's
        # connections would run on each open.
        self._con.execute("set preserve_insertion_order = false")
        self._con.execute("set enable_progress_bar = false")  # a long merge drew one on stdout
        # Each checkpoint of the load leaves its orders in a row group of their own, and
        # DuckDB's vacuum merges it into the last one, rewriting that again and again (the
        # history's last row group too): 1.3 GB of order JSON in 32 MiB checkpoints took 20 s
        # of checkpoints, 2.6 s without vacuum. A large load merges them once when it closes;
        # a small one leaves its few to the next checkpoint that vacuums, so its end is not
        # held up by a merge (0.9 s on a 200 MB rate-limited day).
        leave_merging_to_the_store(self._con)
        self._written_bytes = 0
        self._unchecked_bytes = 0
        self.commits = 0
        self._con.execute(f"create schema if not exists {schema}")
        for table, columns in (
            (ORDERS_TABLE, ORDERS_COLUMNS),
            (REJECTS_TABLE, REJECTS_COLUMNS),
            (WATERMARKS_TABLE, WATERMARKS_COLUMNS),
        ):
            self._con.execute(f"create table if not exists {schema}.{table} ({columns})")

    def watermarks(self) -> dict[str, str]:
        """restaurant guid -> the modified time its orders are loaded through (ISO text)."""
        rows = self._con.execute(
            f"select restaurant_guid, modified_through from {self.schema}.{WATERMARKS_TABLE}"
        ).fetchall()
        return {guid: through.isoformat() for guid, through in rows}

    def write(
        self,
        pages: list[ParsedPage],
        finished: dict[str, datetime],
        committed_at: datetime,
        replace_same_version: bool = True,
    ) -> None:
        """One transaction: the orders and rejects of `pages`, and the watermarks of the
        locations in `finished` (whose last orders are among them or already committed).
        A stored order with the same modifiedDate is replaced only if `replace_same_version`
        (a later read of the API; not a webhook's copy, which lacks the guest's details)."""
        orders = _latest_per_order([page.table() for page in pages if page.order_count])
        rejects = [row for page in pages for row in page.rejects]
        if self._unchecked_bytes >= CHECKPOINT_BYTES:
            # Before this commit rather than after it, so the load's last commit is left for
            # the checkpoint in `close`: one with nothing to write does not vacuum either.
            self._checkpoint()
        con = self._con
        con.begin()
        try:
            if orders is not None:
                self._replace_orders(orders, replace_same_version)
            if rejects:
                self._write_rejects(rejects)
            if finished:
                con.executemany(
                    f"insert or replace into {self.schema}.{WATERMARKS_TABLE} values (?, ?, ?)",
                    [(guid, through, committed_at) for guid, through in finished.items()],
                )
            con.commit()
        except BaseException:
            con.rollback()
            raise
        self.commits += 1

    def _replace_orders(self, orders: pa.Table, replace_same_version: bool = True) -> None:
        """The newer modifiedDate wins (the later read, when equal): a re-read replaces an
        order, a stale copy never overwrites a newer one. The comparisons touch the key
        columns only; the order JSON is copied once, by the insert."""
        con, table = self._con, f"{self.schema}.{ORDERS_TABLE}"
        con.register("incoming_orders", orders)
        # One join on the key columns finds every stored version of an incoming order: the
        # newer ones make the incoming copy stale, the rest are replaced. Deleted by a
        # semi-join on their keys: a correlated EXISTS is planned by grouping every stored key
        # (0.13 s a commit at 750k orders, growing with the history; this takes 0.04 s), and
        # DELETE ... USING carries the incoming JSON into its hash table (out of memory on a
        # batch larger than the memory limit).
        stored = con.sql(f"""
            select stored.restaurant_guid, stored.order_guid, stored.modified_at,
                stored.modified_at {">" if replace_same_version else ">="} incoming.modified_at
                    as is_newer
            from incoming_orders as incoming
            join {table} as stored using (restaurant_guid, order_guid)""").to_arrow_table()
        con.register("replaced_versions", stored.filter(pc.invert(stored["is_newer"])))
        con.execute(f"""
            delete from {table}
            where (restaurant_guid, order_guid, modified_at) in (
                select restaurant_guid, order_guid, modified_at from replaced_versions)""")
        con.unregister("replaced_versions")
        newer = stored.filter(stored["is_newer"])
        if newer.num_rows:
            keys = pc.binary_join_element_wise(newer["restaurant_guid"], newer["order_guid"], "/")
            orders = orders.filter(
                pc.invert(
                    pc.is_in(
                        pc.binary_join_element_wise(
                            orders["restaurant_guid"], orders["order_guid"], "/"
                        ),
                        keys,
                    )
                )
            )
            con.register("incoming_orders", orders)
        con.execute(f"insert into {table} by name select * from incoming_orders")
        con.unregister("incoming_orders")
        self._unchecked_bytes += orders.nbytes
        self._written_bytes += orders.nbytes

    def _write_rejects(self, rejects: list[dict]) -> None:
        by_id = {row["reject_id"]: row for row in rejects}  # the same bad order read twice
        columns = (
            "reject_id",
            "restaurant_guid",
            "record_guid",
            "reason",
            "source_url",
            "rejected_at",
            "raw_text",
        )
        self._con.execute(
            f"delete from {self.schema}.{REJECTS_TABLE} where reject_id in "
            f"({', '.join('?' * len(by_id))})",
            list(by_id),
        )
        self._con.executemany(
            f"insert into {self.schema}.{REJECTS_TABLE} ({', '.join(columns)}) "
            f"values ({', '.join('?' * len(columns))})",
            [[row[c] for c in columns] for row in by_id.values()],
        )

    def _checkpoint(self) -> None:
        try:
            self._con.execute("checkpoint")
        except duckdb.TransactionException:
            return  # dlt is mid-transaction on the same file: try again after the next commit
        self._unchecked_bytes = 0

    def close(self) -> None:
        """After a large load, checkpoint with vacuum, merging its row groups into full ones
        (3.5 s for 1.3 GB of orders); then close."""
        if self._written_bytes >= MERGE_AT_CLOSE_BYTES:
            self._con.execute(f"set max_vacuum_tasks = {DEFAULT_VACUUM_TASKS}")
            try:
                self._con.execute("checkpoint")
            except duckdb.TransactionException:
                pass  # dlt is mid-transaction (a load that failed): a later checkpoint merges
        self._con.close()


def _latest_per_order(tables: list[pa.Table]) -> pa.Table | None:
    """The batches as one table with one row per (restaurant, order): the latest modifiedDate,
    and of equal ones the later read. An order appears twice when Toast's pages shift under a
    read or it is modified between two windows of one load."""
    if not tables:
        return None
    table = pa.concat_tables(tables)
    keys = list(
        zip(
            table.column("restaurant_guid").to_pylist(),
            table.column("order_guid").to_pylist(),
            strict=True,
        )
    )
    if len(set(keys)) == len(keys):
        return table
    modified = table.column("modified_at").to_pylist()
    keep: dict[tuple[str, str], int] = {}
    for index, key in enumerate(keys):
        kept = keep.get(key)
        if kept is None or modified[index] >= modified[kept]:
            keep[key] = index
    return table.take(sorted(keep.values()))
