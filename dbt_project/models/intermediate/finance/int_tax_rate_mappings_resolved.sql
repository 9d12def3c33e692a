{{ config(materialized='view') }}

-- Tax accounts per location and tax rate (tax_rate_accounts.csv), for every tax rate the
-- journal legs used or Toast's configuration holds, in two kinds:
--   tax_rate         the tax payable account; unmapped ones post to default_tax_payable. Tax
--                    that Toast did not itemise by tax rate is the '(none)' rate.
--   facilitator_tax  tax a marketplace facilitator collected and remits: the rate's own
--                    facilitator account, else the facilitator_tax_payable role (which is then
--                    the mapping, not a fallback: int_account_role_mappings_resolved).
-- Unioned in int_account_mappings_resolved.

with

leg_sources as (
    select * from {{ ref('int_leg_sources_deduplicated') }}
),

toast_tax_rates as (
    select * from {{ ref('stg_toast__tax_rates') }}
),

tax_rate_accounts as (
    select * from {{ ref('tax_rate_accounts') }}
),

role_mappings as (
    select * from {{ ref('int_account_role_mappings_resolved') }}
),

chart_of_accounts as (
    select * from {{ ref('chart_of_accounts') }}
),

config_tax_rates as (
    select
        restaurant_guid,
        tax_rate_guid,
        any_value(name) as name
    from toast_tax_rates
    group by all
),

tax_rate_sightings as (
    select
        restaurant_guid,
        tax_rate_guid,
        source_name as leg_name,
        true as is_seen_in_orders
    from leg_sources
    where account_source in ('tax_rate', 'facilitator_tax')
    union all
    select
        restaurant_guid,
        tax_rate_guid,
        null as leg_name,
        false as is_seen_in_orders
    from config_tax_rates
),

tax_rate_sources as (
    select
        tax_rate_sightings.restaurant_guid,
        tax_rate_sightings.tax_rate_guid,
        case
            when tax_rate_sightings.tax_rate_guid is null
                then max(tax_rate_sightings.leg_name)
            else coalesce(
                max(config_tax_rates.name),
                max(tax_rate_sightings.leg_name),
                tax_rate_sightings.tax_rate_guid
            )
        end as name,
        bool_or(tax_rate_sightings.is_seen_in_orders) as is_seen_in_orders
    from tax_rate_sightings
    left join config_tax_rates
        on tax_rate_sightings.restaurant_guid = config_tax_rates.restaurant_guid
        and tax_rate_sightings.tax_rate_guid = config_tax_rates.tax_rate_guid
    group by tax_rate_sightings.restaurant_guid, tax_rate_sightings.tax_rate_guid
),

tax_rate_matches as (
    select
        tax_rate_sources.restaurant_guid,
        tax_rate_sources.tax_rate_guid,
        {%- for column in ['tax_payable_account', 'facilitator_tax_account'] %}
        {{ finance_mapping_pick(
            'tax_rate_accounts', column, pin='tax_rate_guid',
            narrower=["tax_rate_accounts.tax_rate_name <> '*'"]) }}
            as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from tax_rate_sources
    inner join tax_rate_accounts
        on {{ finance_mapping_matches(
            'tax_rate_accounts', 'tax_rate_sources',
            seed_pin='tax_rate_accounts.tax_rate_guid',
            source_pin='tax_rate_sources.tax_rate_guid',
            seed_name='tax_rate_accounts.tax_rate_name',
            source_name='tax_rate_sources.name') }}
        and tax_rate_sources.tax_rate_guid is not null
    group by tax_rate_sources.restaurant_guid, tax_rate_sources.tax_rate_guid
),

facilitator_roles as (
    select
        restaurant_guid,
        mapped_value as account_code
    from role_mappings
    where source_key = 'facilitator_tax_payable'
),

mappings as (
    select
        tax_rate_sources.restaurant_guid,
        'tax_rate' as mapping_kind,
        'tax_rate' as source_kind,
        coalesce(tax_rate_sources.tax_rate_guid, '(none)') as source_key,
        tax_rate_sources.tax_rate_guid as source_guid,
        tax_rate_sources.name as source_name,
        case
            when tax_rate_sources.tax_rate_guid is null
                then 'tax payable account for tax that Toast did not itemise by tax rate (a '
                    || 'check''s taxAmount differs from its applied taxes: check the order in '
                    || 'Toast)'
            else 'tax payable account for tax rate ''' || tax_rate_sources.name || ''''
        end as subject,
        'tax_rate_accounts.csv' as seed_file,
        tax_rate_matches.tax_payable_account as mapped_value,
        {{ finance_csv_row(["'*'", "tax_rate_sources.name", "''", "''", "''"]) }}
            as suggested_row,
        'default_tax_payable' as fallback_role,
        tax_rate_sources.is_seen_in_orders
    from tax_rate_sources
    left join tax_rate_matches
        on tax_rate_sources.restaurant_guid = tax_rate_matches.restaurant_guid
        and tax_rate_sources.tax_rate_guid = tax_rate_matches.tax_rate_guid

    union all

    select
        tax_rate_sources.restaurant_guid,
        'facilitator_tax' as mapping_kind,
        'tax_rate' as source_kind,
        coalesce(tax_rate_sources.tax_rate_guid, '(none)') as source_key,
        tax_rate_sources.tax_rate_guid as source_guid,
        tax_rate_sources.name as source_name,
        'facilitator tax account for tax rate '''
        || coalesce(tax_rate_sources.name, '?') || '''' as subject,
        case
            when tax_rate_matches.facilitator_tax_account is null then 'account_roles.csv'
            else 'tax_rate_accounts.csv'
        end as seed_file,
        coalesce(tax_rate_matches.facilitator_tax_account, facilitator_roles.account_code)
            as mapped_value,
        case
            when tax_rate_matches.facilitator_tax_account is null
                then {{ finance_csv_row(["'*'", "'facilitator_tax_payable'", "''"]) }}
            else {{ finance_csv_row(["'*'", "tax_rate_sources.name", "''", "''", "''"]) }}
        end as suggested_row,
        cast(null as varchar) as fallback_role,
        tax_rate_sources.is_seen_in_orders
    from tax_rate_sources
    left join tax_rate_matches
        on tax_rate_sources.restaurant_guid = tax_rate_matches.restaurant_guid
        and tax_rate_sources.tax_rate_guid = tax_rate_matches.tax_rate_guid
    left join facilitator_roles
        on tax_rate_sources.restaurant_guid = facilitator_roles.restaurant_guid
),

final as (
    {{ finance_mappings_resolved('mappings', 'chart_of_accounts') }}
)

select * from final
