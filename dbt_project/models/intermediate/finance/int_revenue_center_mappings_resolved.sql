{{ config(materialized='view') }}

-- The dimension value per location and revenue center (revenue_center_dimensions.csv), for
-- every revenue center the journal legs used or Toast's configuration holds. A dimension, not
-- an account: not checked against the chart of accounts, and no fallback (an unmapped one
-- holds the journal). Unioned in int_account_mappings_resolved (mapping_kind revenue_center).
--
-- Sales, discounts and service charges of orders with `revenueCenter: null` (most of Toast's
-- example orders) are the '(none)' revenue center (source_key '(none)'): matched by that name
-- only, a '*' name row does not catch them, so their dimension is always a value somebody
-- chose for them; with no such row the journal is held and `closeout mappings` offers the row
-- `*,(none),,<dimension value>` (ACCOUNTING.md "Real Toast data").

with

leg_sources as (
    select * from {{ ref('int_leg_sources_deduplicated') }}
),

toast_revenue_centers as (
    select * from {{ ref('stg_toast__revenue_centers') }}
),

revenue_center_dimensions as (
    select * from {{ ref('revenue_center_dimensions') }}
),

config_revenue_centers as (
    select
        restaurant_guid,
        revenue_center_guid,
        any_value(name) as name
    from toast_revenue_centers
    group by all
),

revenue_center_sources as (
    select
        restaurant_guid,
        revenue_center_guid,
        bool_or(is_seen_in_orders) as is_seen_in_orders
    from (
        select restaurant_guid, revenue_center_guid, true as is_seen_in_orders
        from leg_sources
        -- the legs that carry a revenue center dimension (as journal_lines decides)
        where revenue_center_guid is not null
           or account_source in ('sales_category', 'discount', 'service_charge')
        union all
        select restaurant_guid, revenue_center_guid, false as is_seen_in_orders
        from config_revenue_centers
    ) as sources
    group by restaurant_guid, revenue_center_guid
),

revenue_centers as (
    select
        revenue_center_sources.restaurant_guid,
        revenue_center_sources.revenue_center_guid,
        case
            when revenue_center_sources.revenue_center_guid is null then '(none)'
            else coalesce(
                config_revenue_centers.name, revenue_center_sources.revenue_center_guid
            )
        end as name,
        revenue_center_sources.is_seen_in_orders
    from revenue_center_sources
    left join config_revenue_centers
        on revenue_center_sources.restaurant_guid = config_revenue_centers.restaurant_guid
        and revenue_center_sources.revenue_center_guid
            = config_revenue_centers.revenue_center_guid
),

revenue_center_matches as (
    select
        revenue_centers.restaurant_guid,
        revenue_centers.revenue_center_guid,
        {{ finance_mapping_pick(
            'revenue_center_dimensions', 'dimension_value', pin='revenue_center_guid',
            narrower=["revenue_center_dimensions.revenue_center_name <> '*'"]) }}
            as dimension_value
    from revenue_centers
    inner join revenue_center_dimensions
        on {{ finance_mapping_matches(
            'revenue_center_dimensions', 'revenue_centers',
            seed_pin='revenue_center_dimensions.revenue_center_guid',
            source_pin='revenue_centers.revenue_center_guid',
            seed_name='revenue_center_dimensions.revenue_center_name',
            source_name='revenue_centers.name',
            star_needs_pin=true) }}
    group by revenue_centers.restaurant_guid, revenue_centers.revenue_center_guid
),

mappings as (
    select
        revenue_centers.restaurant_guid,
        'revenue_center' as mapping_kind,
        'revenue_center' as source_kind,
        coalesce(revenue_centers.revenue_center_guid, '(none)') as source_key,
        revenue_centers.revenue_center_guid as source_guid,
        revenue_centers.name as source_name,
        case
            when revenue_centers.revenue_center_guid is null
                then 'dimension value for sales with no revenue center (Toast revenueCenter '
                    || 'null: the ''(none)'' row)'
            else 'dimension value for revenue center ''' || revenue_centers.name || ''''
        end as subject,
        'revenue_center_dimensions.csv' as seed_file,
        revenue_center_matches.dimension_value as mapped_value,
        {{ finance_csv_row(["'*'", "revenue_centers.name", "''", "''"]) }} as suggested_row,
        cast(null as varchar) as fallback_role,
        revenue_centers.is_seen_in_orders
    from revenue_centers
    left join revenue_center_matches
        on revenue_centers.restaurant_guid = revenue_center_matches.restaurant_guid
        and revenue_centers.revenue_center_guid
            is not distinct from revenue_center_matches.revenue_center_guid
),

final as (
    {{ finance_mappings_resolved('mappings') }}
)

select * from final
