{{ config(materialized='view') }}

-- The account per location, service charge and category (service_charge_accounts.csv), for
-- the service charges the journal legs post by mapping (service charge revenue, credit card
-- surcharges, cash rounding; gratuity and donations post by role). A row's category must be
-- the charge's or '*'; a named category beats '*' when everything else ties. Unmapped ones
-- post to the default_service_charge role. Unioned in int_account_mappings_resolved
-- (mapping_kind service_charge).

with

leg_sources as (
    select * from {{ ref('int_leg_sources_deduplicated') }}
),

toast_service_charges as (
    select * from {{ ref('stg_toast__service_charges') }}
),

service_charge_accounts as (
    select * from {{ ref('service_charge_accounts') }}
),

chart_of_accounts as (
    select * from {{ ref('chart_of_accounts') }}
),

config_service_charges as (
    select
        restaurant_guid,
        service_charge_guid,
        any_value(name) as name,
        any_value(service_charge_category) as service_charge_category
    from toast_service_charges
    group by all
),

service_charge_sources as (
    select
        leg_sources.restaurant_guid,
        leg_sources.service_charge_guid,
        leg_sources.service_charge_category,
        coalesce(
            max(config_service_charges.name),
            max(leg_sources.source_name),
            leg_sources.service_charge_guid
        ) as name
    from leg_sources
    left join config_service_charges
        on leg_sources.restaurant_guid = config_service_charges.restaurant_guid
        and leg_sources.service_charge_guid = config_service_charges.service_charge_guid
    where leg_sources.account_source = 'service_charge'
    group by
        leg_sources.restaurant_guid,
        leg_sources.service_charge_guid,
        leg_sources.service_charge_category
),

service_charge_matches as (
    select
        service_charge_sources.restaurant_guid,
        service_charge_sources.service_charge_guid,
        service_charge_sources.service_charge_category,
        {{ finance_mapping_pick(
            'service_charge_accounts', 'account_code', pin='service_charge_guid',
            narrower=[
                "service_charge_accounts.service_charge_name <> '*'",
                "coalesce(service_charge_accounts.service_charge_category, '*') <> '*'",
            ]) }} as account_code
    from service_charge_sources
    inner join service_charge_accounts
        on {{ finance_mapping_matches(
            'service_charge_accounts', 'service_charge_sources',
            seed_pin='service_charge_accounts.service_charge_guid',
            source_pin='service_charge_sources.service_charge_guid',
            seed_name='service_charge_accounts.service_charge_name',
            source_name='service_charge_sources.name') }}
        and coalesce(service_charge_accounts.service_charge_category, '*') in (
            '*', coalesce(service_charge_sources.service_charge_category, 'SERVICE_CHARGE')
        )
    group by all
),

mappings as (
    select
        service_charge_sources.restaurant_guid,
        'service_charge' as mapping_kind,
        'service_charge' as source_kind,
        coalesce(service_charge_sources.service_charge_guid, '(none)') || '|'
        || coalesce(service_charge_sources.service_charge_category, '') as source_key,
        service_charge_sources.service_charge_guid as source_guid,
        service_charge_sources.name as source_name,
        'account for service charge ''' || service_charge_sources.name || ''' ('
        || coalesce(service_charge_sources.service_charge_category, 'no category') || ')'
            as subject,
        'service_charge_accounts.csv' as seed_file,
        service_charge_matches.account_code as mapped_value,
        {{ finance_csv_row([
            "'*'", "coalesce(service_charge_sources.service_charge_category, '*')",
            "service_charge_sources.name", "''", "''",
        ]) }} as suggested_row,
        'default_service_charge' as fallback_role,
        true as is_seen_in_orders
    from service_charge_sources
    left join service_charge_matches
        on service_charge_sources.restaurant_guid = service_charge_matches.restaurant_guid
        and service_charge_sources.service_charge_guid
            is not distinct from service_charge_matches.service_charge_guid
        and service_charge_sources.service_charge_category
            is not distinct from service_charge_matches.service_charge_category
),

final as (
    {{ finance_mappings_resolved('mappings', 'chart_of_accounts') }}
)

select * from final
