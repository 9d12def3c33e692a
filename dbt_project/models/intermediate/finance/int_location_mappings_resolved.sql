{{ config(materialized='view') }}

-- The ERP company per location (locations.csv), for every Toast restaurant and every location
-- a journal leg names. Not an account: not checked against the chart of accounts. A location
-- missing here is unmapped (its journals are held) with the row to add. Unioned in
-- int_account_mappings_resolved (mapping_kind location).

with

leg_sources as (
    select * from {{ ref('int_leg_sources_deduplicated') }}
),

restaurants as (
    select * from {{ ref('stg_toast__restaurants') }}
),

locations as (
    select * from {{ ref('locations') }}
),

mapped_locations as (
    {{ finance_mapped_locations('restaurants', 'leg_sources') }}
),

mappings as (
    select
        mapped_locations.restaurant_guid,
        'location' as mapping_kind,
        'location' as source_kind,
        mapped_locations.restaurant_guid as source_key,
        mapped_locations.restaurant_guid as source_guid,
        mapped_locations.name as source_name,
        'ERP company for location '''
        || coalesce(mapped_locations.name, mapped_locations.restaurant_guid) || '''' as subject,
        'locations.csv' as seed_file,
        locations.erp_company as mapped_value,
        {{ finance_csv_row([
            "mapped_locations.restaurant_guid", "mapped_locations.name", "''", "''",
            "coalesce(mapped_locations.currency, '')", "'false'", "''",
        ]) }} as suggested_row,
        cast(null as varchar) as fallback_role,
        mapped_locations.restaurant_guid in (select leg_sources.restaurant_guid from leg_sources)
            as is_seen_in_orders
    from mapped_locations
    left join locations
        on mapped_locations.restaurant_guid = locations.restaurant_guid
),

final as (
    {{ finance_mappings_resolved('mappings') }}
)

select * from final
