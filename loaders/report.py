"""What a load put in the warehouse, per location and business date (for `closeout demo`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from closeout import warehouse
from closeout.warehouse import RAW_DATASET


@dataclass(frozen=True)
class LoadedDay:
    location: str
    business_date: date
    orders: int
    voided: int
    deleted: int


def loaded_days(dates: tuple[date, date]) -> list[LoadedDay]:
    """Orders loaded per location and business date in `dates`, with the voided and deleted."""
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(
            f"""
            select restaurants.name, orders.business_date, count(*) as orders,
                   count(*) filter (where (orders.order_json::json->>'voided')::boolean),
                   count(*) filter (where (orders.order_json::json->>'deleted')::boolean)
            from {RAW_DATASET}.orders as orders
            join {RAW_DATASET}.restaurants as restaurants using (restaurant_guid)
            where orders.business_date between ? and ?
            group by all order by 1, 2""",
            list(dates),
        ).fetchall()
    return [LoadedDay(*row) for row in rows]
