-- One row per journal: its totals, its version and whether it may be posted.
--
-- version: md5 over the journal's ordered lines (every field the ERP receives), so any change
-- to a line gives a new version and a re-run of an unchanged day gives the same one; it and
-- the totals come from int_journal_figures, kept per journal.
-- status: 'ready' when nothing holds it, else 'held' with every reason in hold_reasons (text,
-- reasons joined by ' | ') and hold_reason_list (the same as a list):
--   * debits and credits differ (never expected: journal_lines adds the over/short line);
--   * the location is missing from seeds/locations.csv, inactive, or the day is before its
--     posting_start_date; the journal currency differs from Toast's;
--   * a line's account or dimension is not mapped (the seed file and row to add);
--   * over/short above the location's tolerance (seeds/settings.csv);
--   * checks still open on the day (sales journals, when settings hold_open_checks) until
--     open_check_grace_days after the day (open_checks_post_at: the close of business_date +
--     open_check_grace_days); after that the open amount posts to unpaid checks receivable
--     (int_unpaid_checks_journaled) and the day is no longer held for them. Time entries still
--     clocked in (labor journals);
--   * something Toast has not settled (int_unsettled_checks_listed: a payment OPEN,
--     PROCESSING..., a refund of one, an order still NEEDS_APPROVAL), naming each check and its
--     status, until a later load brings the settled status;
--   * the loads do not let the day post (int_days_loaded): its orders not loaded, the
--     location's last load failed part-way, or a record of the day rejected by the loader;
--   * the day is not closed yet: the location's local clock (time zone from the restaurant
--     record, DST aware) has not passed closeoutHour on the next calendar day plus the settle
--     delay. Evaluated at build time (current_timestamp): rebuild to release a day.

with

-- per journal: totals, version and unmapped reasons of its lines
journal_totals as (
    select
        journal_id,
        restaurant_guid,
        business_date,
        journal_type,
        company,
        currency,
        total_debit,
        total_credit,
        line_count,
        unmapped_line_count,
        over_short_amount,
        version,
        string_split(unmapped_reasons, '; ') as unmapped_reason_parts
    from {{ ref('int_journal_figures') }}
),

checks as (
    select * from {{ ref('int_checks_classified') }}
),

restaurants as (
    select * from {{ ref('stg_toast__restaurants') }}
),

settings as (
    select * from {{ ref('int_settings_resolved') }}
),

locations as (
    select * from {{ ref('locations') }}
),

time_entries as (
    select * from {{ ref('int_time_entries_costed') }}
),

-- Whether the loads let the day post: loaded, last load finished, no unresolved rejects.
days_loaded as (
    select * from {{ ref('int_days_loaded') }}
),

unsettled as (
    select * from {{ ref('int_unsettled_checks_listed') }}
),

unsettled_days as (
    select
        restaurant_guid,
        business_date,
        count(*) as unsettled_count,
        string_agg(description, '; ' order by description) as unsettled_descriptions
    from unsettled
    group by restaurant_guid, business_date
),

open_time_entries as (
    select
        restaurant_guid,
        business_date,
        count(*) filter (where cost_status = 'open') as open_time_entry_count,
        count(*) filter (where cost_status = 'no_hourly_wage') as unwaged_time_entry_count
    from time_entries
    group by restaurant_guid, business_date
),

open_checks as (
    select
        restaurant_guid,
        business_date,
        count(*) as open_check_count,
        sum(amount_due) as open_check_amount,
        string_agg('#' || coalesce(display_number, check_guid), ', '
            order by display_number) as open_check_numbers
    from checks
    where is_included
      and payment_status = 'OPEN'
      and amount_due <> 0
    group by restaurant_guid, business_date
),

closing as (
    select
        journal_totals.*,
        restaurants.time_zone,
        restaurants.closeout_hour,
        restaurants.currency as toast_currency,
        settings.over_short_tolerance,
        settings.settle_delay_hours,
        settings.hold_open_checks,
        settings.open_check_grace_days,
        locations.restaurant_guid is not null as is_location_mapped,
        locations.is_active as is_location_active,
        locations.posting_start_date,
        coalesce(open_checks.open_check_count, 0) as open_check_count,
        coalesce(open_checks.open_check_amount, 0) as open_check_amount,
        open_checks.open_check_numbers,
        coalesce(unsettled_days.unsettled_count, 0) as unsettled_count,
        unsettled_days.unsettled_descriptions,
        coalesce(open_time_entries.open_time_entry_count, 0) as open_time_entry_count,
        coalesce(open_time_entries.unwaged_time_entry_count, 0) as unwaged_time_entry_count,
        coalesce(days_loaded.load_hold_reason_list, []) as load_hold_reason_list,
        timezone(
            restaurants.time_zone,
            cast(journal_totals.business_date + 1 as timestamp)
                + to_hours(coalesce(restaurants.closeout_hour, 4))
        ) + to_hours(settings.settle_delay_hours) as closes_at,
        -- the close of business_date + open_check_grace_days: open checks hold the day until then
        timezone(
            restaurants.time_zone,
            cast(journal_totals.business_date + 1 + settings.open_check_grace_days as timestamp)
                + to_hours(coalesce(restaurants.closeout_hour, 4))
        ) + to_hours(settings.settle_delay_hours) as open_checks_post_at
    from journal_totals
    left join restaurants
        on journal_totals.restaurant_guid = restaurants.restaurant_guid
    left join settings
        on journal_totals.restaurant_guid = settings.restaurant_guid
    left join locations
        on journal_totals.restaurant_guid = locations.restaurant_guid
    left join open_checks
        on journal_totals.restaurant_guid = open_checks.restaurant_guid
        and journal_totals.business_date = open_checks.business_date
        and journal_totals.journal_type = 'sales'
    left join unsettled_days
        on journal_totals.restaurant_guid = unsettled_days.restaurant_guid
        and journal_totals.business_date = unsettled_days.business_date
        and journal_totals.journal_type = 'sales'
    left join open_time_entries
        on journal_totals.restaurant_guid = open_time_entries.restaurant_guid
        and journal_totals.business_date = open_time_entries.business_date
        and journal_totals.journal_type = 'labor'
    left join days_loaded
        on journal_totals.restaurant_guid = days_loaded.restaurant_guid
        and journal_totals.business_date = days_loaded.business_date
        and journal_totals.journal_type = days_loaded.journal_type
),

reasons as (
    select
        closing.*,
        closes_at is not null and current_timestamp >= closes_at as is_day_closed,
        list_filter([
            case when total_debit <> total_credit
                then 'unbalanced: debits ' || total_debit || ' <> credits ' || total_credit
                    || ' (a bug: journal_lines always balances with an over/short line)' end,
            case when not is_location_mapped
                then 'unmapped: location not in seeds/locations.csv: add a row to '
                    || 'seeds/locations.csv: ' || restaurant_guid
                    || ',<name>,<erp company>,<location dimension>,'
                    || coalesce(toast_currency, '<currency>') || ',true,<first business date>' end,
            case when is_location_mapped and company is null
                then 'unmapped: no erp_company for the location in seeds/locations.csv' end,
            case when is_location_mapped and not coalesce(is_location_active, false)
                then 'location inactive in seeds/locations.csv (is_active)' end,
            case when business_date < posting_start_date
                then 'business date before the location''s posting_start_date '
                    || posting_start_date || ' (seeds/locations.csv)' end,
            case when currency is null
                then 'no currency: set it in seeds/locations.csv or seeds/settings.csv' end,
            case when toast_currency is not null and currency is not null
                    and toast_currency <> currency
                then 'currency ' || currency || ' differs from Toast''s ' || toast_currency end
        ]
        || coalesce(list_sort(list_distinct(unmapped_reason_parts)), [])
        || [
            case when abs(over_short_amount) > over_short_tolerance
                then 'over/short ' || over_short_amount || ' exceeds the tolerance '
                    || over_short_tolerance || ' (seeds/settings.csv)' end,
            case when hold_open_checks and open_check_count > 0
                    and (open_checks_post_at is null or current_timestamp < open_checks_post_at)
                then open_check_count || ' check(s) still open, ' || open_check_amount
                    || ' unpaid: ' || open_check_numbers || ': held until '
                    || coalesce(strftime(timezone(time_zone, open_checks_post_at),
                        '%Y-%m-%d %H:%M') || ' ' || time_zone, '?')
                    || ' (open_check_grace_days ' || open_check_grace_days
                    || ' in seeds/settings.csv), then the open amount posts to unpaid checks '
                    || 'receivable on its own; close or void them in Toast to post sooner' end,
            case when unsettled_count > 0
                then unsettled_count || ' thing(s) Toast has not settled: '
                    || unsettled_descriptions || ' (held until Toast settles them; the next '
                    || 'load and build release the day)' end,
            case when open_time_entry_count > 0
                then open_time_entry_count || ' time entr(y/ies) still clocked in: not costed '
                    || '(reported, not guessed); clock them out in Toast' end,
            case when time_zone is null
                then 'no time zone for the restaurant: cannot tell when the day closes' end,
            case when closes_at is not null and current_timestamp < closes_at
                then 'day not closed: it closes at '
                    || strftime(timezone(time_zone, closes_at), '%Y-%m-%d %H:%M') || ' '
                    || time_zone || ' (closeoutHour ' || closeout_hour || ' + settle delay '
                    || settle_delay_hours || ' h)' end
        ], lambda reason: reason is not null)
        || load_hold_reason_list as hold_reason_list
    from closing
),

final as (
    select
        journal_id,
        restaurant_guid,
        business_date,
        journal_type,
        company,
        currency,
        {{ money('total_debit') }} as total_debit,
        {{ money('total_credit') }} as total_credit,
        cast(line_count as integer) as line_count,
        cast(unmapped_line_count as integer) as unmapped_line_count,
        version,
        case when len(hold_reason_list) = 0 then 'ready' else 'held' end as status,
        array_to_string(hold_reason_list, ' | ') as hold_reasons,
        hold_reason_list,
        {{ money('over_short_amount') }} as over_short_amount,
        over_short_tolerance,
        cast(open_check_count as integer) as open_check_count,
        {{ money('open_check_amount') }} as open_check_amount,
        cast(unsettled_count as integer) as unsettled_count,
        cast(open_time_entry_count as integer) as open_time_entry_count,
        cast(unwaged_time_entry_count as integer) as unwaged_time_entry_count,
        closes_at,
        is_day_closed,
        case when hold_open_checks and open_check_count > 0 then open_checks_post_at end
            as open_checks_post_at,
        time_zone,
        closeout_hour,
        current_timestamp as evaluated_at
    from reasons
)

select * from final
