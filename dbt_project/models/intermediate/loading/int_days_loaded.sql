-- For each journal's day: whether what the loads read lets it be posted (ACCOUNTING.md,
-- "When a day may be posted"), and if not, why and what fixes it (load_hold_reason_list,
-- joined into finance.journals' hold reasons).
--
--   * The day's own orders were loaded: a business-date load of the day read after it closed,
--     or modified-time windows of finished loads that join up (islands) from before the day
--     opened, or from a business-date read of the day, to past its close. A day holding only
--     later payments or refunds of other days' orders (a backfill's next days) is not loaded.
--   * The location's last load finished (a location whose load failed part-way posts nothing
--     until a load completes).
--   * No record of that location and day sits unresolved in the rejects table: resolved once a
--     later load read the same order (or time entry) cleanly, or read its whole day again
--     without rejecting it. A reject whose business date cannot be read from its text or URL
--     holds every day of its location (and journal type).
-- Days not yet closed are left to journals' "day not closed" reason.

{%- set json_business_date = '"businessDate"\\s*:\\s*"?(\\d{8})' %}

with

journal_days as (
    select distinct
        restaurant_guid,
        business_date,
        journal_type
    from {{ ref('journal_lines') }}
),

restaurants as (
    select * from {{ ref('stg_toast__restaurants') }}
),

coverage as (
    select * from {{ source('closeout_audit', 'load_coverage') }}
),

load_runs as (
    select * from {{ source('closeout_audit', 'load_runs') }}
),

rejects as (
    select * from {{ source('toast_loader', 'rejects') }}
),

orders as (
    select * from {{ source('toast', 'orders') }}
),

time_entries as (
    select * from {{ source('toast', 'time_entries') }}
),

modified_windows as (
    select
        restaurant_guid,
        modified_from,
        modified_to,
        max(modified_to) over (
            partition by restaurant_guid
            order by modified_from, modified_to
            rows between unbounded preceding and 1 preceding
        ) as reached_before
    from coverage
    where business_date is null
),

windows_numbered as (
    select
        restaurant_guid,
        modified_from,
        modified_to,
        sum(case when reached_before is null or modified_from > reached_before then 1 else 0 end)
            over (
                partition by restaurant_guid
                order by modified_from, modified_to
                rows unbounded preceding
            ) as island
    from modified_windows
),

-- Stretches of modified time read without a gap.
islands as (
    select
        restaurant_guid,
        island,
        min(modified_from) as covered_from,
        max(modified_to) as covered_to
    from windows_numbered
    group by restaurant_guid, island
),

date_reads as (
    select
        restaurant_guid,
        business_date,
        max(read_at) as last_read_at
    from coverage
    where business_date is not null
    group by restaurant_guid, business_date
),

days as (
    select
        journal_days.restaurant_guid,
        journal_days.business_date,
        journal_days.journal_type,
        date_reads.last_read_at,
        timezone(
            restaurants.time_zone,
            cast(journal_days.business_date as timestamp)
                + to_hours(coalesce(restaurants.closeout_hour, 4))
        ) as opens_at,
        timezone(
            restaurants.time_zone,
            cast(journal_days.business_date + 1 as timestamp)
                + to_hours(coalesce(restaurants.closeout_hour, 4))
        ) as closes_at,
        restaurants.time_zone
    from journal_days
    left join restaurants
        on journal_days.restaurant_guid = restaurants.restaurant_guid
    left join date_reads
        on journal_days.restaurant_guid = date_reads.restaurant_guid
        and journal_days.business_date = date_reads.business_date
),

days_reached as (
    select
        days.restaurant_guid,
        days.business_date,
        days.journal_type,
        coalesce(days.last_read_at >= days.closes_at, false)
        or coalesce(bool_or(
            islands.covered_to >= days.closes_at
            and (
                islands.covered_from <= days.opens_at
                or islands.covered_from <= days.last_read_at
            )
        ), false) as is_loaded,
        days.last_read_at is not null
        or coalesce(bool_or(islands.covered_from <= days.opens_at), false) as is_read_at_all,
        greatest(
            days.last_read_at,
            max(islands.covered_to) filter (
                where islands.covered_from <= days.opens_at
                or islands.covered_from <= days.last_read_at
            )
        ) as loaded_through,
        days.closes_at,
        days.time_zone
    from days
    left join islands
        on days.restaurant_guid = islands.restaurant_guid
    group by
        days.restaurant_guid,
        days.business_date,
        days.journal_type,
        days.last_read_at,
        days.opens_at,
        days.closes_at,
        days.time_zone
),

last_loads as (
    select
        restaurant_guid,
        max(started_at) as started_at,
        arg_max(status, started_at) as status,
        arg_max(errors, started_at) as errors
    from load_runs
    group by restaurant_guid
),

rejects_dated as (
    select
        restaurant_guid,
        reject_id,
        record_guid,
        reason,
        rejected_at,
        case when source_url like '%/labor/%' then 'labor' else 'sales' end as journal_type,
        coalesce(
            {{ toast_date("regexp_extract(raw_text, '" ~ json_business_date ~ "', 1)") }},
            {{ toast_date("regexp_extract(source_url, 'businessDate=(\\d{8})', 1)") }}
        ) as business_date
    from rejects
),

-- Resolved: the same record read cleanly since, or its whole day read again since by a load
-- that finished (had it been rejected again, its row would carry the later time).
unresolved_rejects as (
    select
        restaurant_guid,
        reject_id,
        coalesce(record_guid, reject_id) as record_name,
        reason,
        journal_type,
        business_date
    from rejects_dated
    where not exists (
        select 1
        from orders
        where orders.restaurant_guid = rejects_dated.restaurant_guid
            and orders.order_guid = rejects_dated.record_guid
            and orders.extracted_at > rejects_dated.rejected_at
    )
    and not exists (
        select 1
        from time_entries
        where time_entries.restaurant_guid = rejects_dated.restaurant_guid
            and time_entries.time_entry_guid = rejects_dated.record_guid
            and time_entries.extracted_at > rejects_dated.rejected_at
    )
    and not exists (
        select 1
        from coverage
        where coverage.restaurant_guid = rejects_dated.restaurant_guid
            and coverage.business_date = rejects_dated.business_date
            and coverage.read_at > rejects_dated.rejected_at
    )
),

day_rejects as (
    select
        days_reached.restaurant_guid,
        days_reached.business_date,
        days_reached.journal_type,
        count(*) as unresolved_reject_count,
        string_agg(
            unresolved_rejects.record_name || ' ('
            || coalesce(unresolved_rejects.reason, 'no reason recorded')
            || case when unresolved_rejects.business_date is null
                then '; its business date is unknown, so every day of the location waits'
                else '' end
            || ')',
            '; ' order by unresolved_rejects.record_name
        ) as reject_descriptions
    from days_reached
    inner join unresolved_rejects
        on days_reached.restaurant_guid = unresolved_rejects.restaurant_guid
        and days_reached.journal_type = unresolved_rejects.journal_type
        and (
            days_reached.business_date = unresolved_rejects.business_date
            or unresolved_rejects.business_date is null
        )
    group by days_reached.restaurant_guid, days_reached.business_date, days_reached.journal_type
),

joined as (
    select
        days_reached.restaurant_guid,
        days_reached.business_date,
        days_reached.journal_type,
        days_reached.is_loaded,
        days_reached.is_read_at_all,
        days_reached.loaded_through,
        days_reached.closes_at,
        days_reached.time_zone,
        last_loads.started_at as last_load_started_at,
        last_loads.status as last_load_status,
        last_loads.errors as last_load_errors,
        coalesce(day_rejects.unresolved_reject_count, 0) as unresolved_reject_count,
        day_rejects.reject_descriptions
    from days_reached
    left join last_loads
        on days_reached.restaurant_guid = last_loads.restaurant_guid
    left join day_rejects
        on days_reached.restaurant_guid = day_rejects.restaurant_guid
        and days_reached.business_date = day_rejects.business_date
        and days_reached.journal_type = day_rejects.journal_type
),

final as (
    select
        restaurant_guid,
        business_date,
        journal_type,
        is_loaded,
        loaded_through,
        last_load_started_at,
        last_load_status,
        unresolved_reject_count,
        list_filter([
            case when not is_loaded and current_timestamp >= closes_at
                then case when is_read_at_all
                    then 'not fully loaded: the loads read this day only through '
                        || strftime(timezone(time_zone, loaded_through), '%Y-%m-%d %H:%M')
                        || ', before it closed; the next `closeout load` completes it, or run '
                    else 'not loaded: no load has read the orders of this day (what is here are '
                        || 'later payments or refunds of other days'' orders); run '
                    end
                    || '`closeout load --from ' || business_date
                    || ' --to ' || business_date || '`'
            end,
            case when last_load_status = 'failed'
                then 'the last load of this location ('
                    || strftime(last_load_started_at, '%Y-%m-%d %H:%M UTC')
                    || ') failed part-way: '
                    || coalesce(
                        left(split_part(last_load_errors, chr(10), 1), 300), 'see load_runs'
                    )
                    || '; nothing posts for the location until a load completes: fix that and '
                    || 'run `closeout load`'
            end,
            case when unresolved_reject_count > 0
                then unresolved_reject_count
                    || ' record(s) of this day were rejected by the loader and are not in it: '
                    || reject_descriptions
                    || '; once Toast sends them readable (any edit in Toast resends an order), '
                    || 'run `closeout load --from ' || business_date
                    || ' --to ' || business_date || '`'
            end
        ], lambda reason: reason is not null) as load_hold_reason_list
    from joined
)

select
    *,
    array_to_string(load_hold_reason_list, ' | ') as load_hold_reasons
from final
