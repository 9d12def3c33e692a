-- Every Toast thing seen with no usable mapping: a sales category, revenue center, payment
-- type, alternate payment type, service charge, tax rate, job, account role or location, in
-- the orders or in Toast's configuration, that the seeds do not map (or map to an account
-- missing from or inactive in chart_of_accounts). `closeout mappings` lists these and can
-- append suggested_row to seed_file (the account left empty for the accountant to fill in).
-- held_journal_count: journals held because of it (unmapped lines of its kind and key).
-- A mapping to an account that is in the chart but inactive has no row to add: it shows in
-- journals.hold_reasons and assert_no_unmapped_journal_lines, not here.

with

mappings as (
    select * from {{ ref('int_account_mappings_resolved') }}
),

lines as (
    select * from {{ ref('journal_lines') }}
),

unmapped as (
    select *
    from mappings
    where not is_mapped
      and mapping_kind <> 'discount'
      and suggested_row is not null
),

held as (
    select
        restaurant_guid,
        seed_file,
        suggested_row,
        count(distinct journal_id) as held_journal_count,
        min(business_date) as first_business_date,
        max(business_date) as last_business_date
    from lines
    where not is_mapped
    group by restaurant_guid, seed_file, suggested_row
),

final as (
    select
        unmapped.restaurant_guid,
        unmapped.source_kind,
        unmapped.source_guid,
        any_value(unmapped.source_name) as source_name,
        unmapped.fix_seed_file as seed_file,
        unmapped.suggested_row,
        string_agg(distinct unmapped.unmapped_reason, '; ') as reason,
        string_agg(distinct unmapped.mapping_kind, ', ') as mapping_kinds,
        bool_or(unmapped.is_seen_in_orders) as is_seen_in_orders,
        coalesce(max(held.held_journal_count), 0) as held_journal_count,
        min(held.first_business_date) as first_business_date,
        max(held.last_business_date) as last_business_date
    from unmapped
    left join held
        on unmapped.restaurant_guid = held.restaurant_guid
        and unmapped.fix_seed_file = held.seed_file
        and unmapped.suggested_row = held.suggested_row
    group by
        unmapped.restaurant_guid,
        unmapped.source_kind,
        unmapped.source_guid,
        unmapped.fix_seed_file,
        unmapped.suggested_row
)

select * from final
