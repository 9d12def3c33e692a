{{ config(materialized='view') }}

-- A discount's own account (discount_accounts.csv), for the discounts that have one: an
-- optional override of the sales category's discount account (e.g. employee meals). Only
-- discounts a non-empty seed row matches get a row; the rest post by their sales category.
-- Unioned in int_account_mappings_resolved (mapping_kind discount).

with

leg_sources as (
    select * from {{ ref('int_leg_sources_deduplicated') }}
),

toast_discounts as (
    select * from {{ ref('stg_toast__discounts') }}
),

discount_accounts as (
    select * from {{ ref('discount_accounts') }}
),

chart_of_accounts as (
    select * from {{ ref('chart_of_accounts') }}
),

config_discounts as (
    select
        restaurant_guid,
        discount_guid,
        any_value(name) as name
    from toast_discounts
    group by all
),

discount_sources as (
    select
        restaurant_guid,
        discount_guid,
        bool_or(is_seen_in_orders) as is_seen_in_orders,
        max(source_name) as leg_name
    from (
        select restaurant_guid, discount_guid, true as is_seen_in_orders, source_name
        from leg_sources
        where account_source = 'discount'
        union all
        select restaurant_guid, discount_guid, false as is_seen_in_orders, name as source_name
        from config_discounts
    ) as sources
    group by restaurant_guid, discount_guid
),

discounts as (
    select
        discount_sources.restaurant_guid,
        discount_sources.discount_guid,
        coalesce(
            config_discounts.name, discount_sources.leg_name, discount_sources.discount_guid
        ) as name,
        discount_sources.is_seen_in_orders
    from discount_sources
    left join config_discounts
        on discount_sources.restaurant_guid = config_discounts.restaurant_guid
        and discount_sources.discount_guid = config_discounts.discount_guid
),

discount_matches as (
    select
        discounts.restaurant_guid,
        discounts.discount_guid,
        {{ finance_mapping_pick(
            'discount_accounts', 'discount_account', pin='discount_guid',
            narrower=["discount_accounts.discount_name <> '*'"]) }} as discount_account
    from discounts
    inner join discount_accounts
        on {{ finance_mapping_matches(
            'discount_accounts', 'discounts',
            seed_pin='discount_accounts.discount_guid',
            source_pin='discounts.discount_guid',
            seed_name='discount_accounts.discount_name',
            source_name='discounts.name') }}
        -- optional: a discount whose rows are all empty has no override (and is not unmapped)
        and discount_accounts.discount_account is not null
    group by discounts.restaurant_guid, discounts.discount_guid
),

mappings as (
    select
        discounts.restaurant_guid,
        'discount' as mapping_kind,
        'discount' as source_kind,
        coalesce(discounts.discount_guid, '(none)') as source_key,
        discounts.discount_guid as source_guid,
        discounts.name as source_name,
        'account for discount ''' || discounts.name || '''' as subject,
        'discount_accounts.csv' as seed_file,
        discount_matches.discount_account as mapped_value,
        {{ finance_csv_row(["'*'", "discounts.name", "''", "''"]) }} as suggested_row,
        cast(null as varchar) as fallback_role,
        discounts.is_seen_in_orders
    from discounts
    inner join discount_matches
        on discounts.restaurant_guid = discount_matches.restaurant_guid
        and discounts.discount_guid is not distinct from discount_matches.discount_guid
),

final as (
    {{ finance_mappings_resolved('mappings', 'chart_of_accounts') }}
)

select * from final
