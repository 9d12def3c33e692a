{{ config(materialized='view') }}

-- The account per location and account role (account_roles.csv): the fixed roles (tips,
-- gratuity and donations payable, gift card liability, over/short, the default_* fallbacks
-- of the other mappings...), every role the seed names and every role a journal leg posts to.
-- A location's row beats a '*' row. Unioned in int_account_mappings_resolved (mapping_kind
-- account_role); journal_lines reads the fallbacks from here too.

with

leg_sources as (
    select * from {{ ref('int_leg_sources_deduplicated') }}
),

restaurants as (
    select * from {{ ref('stg_toast__restaurants') }}
),

account_roles as (
    select * from {{ ref('account_roles') }}
),

chart_of_accounts as (
    select * from {{ ref('chart_of_accounts') }}
),

mapped_locations as (
    {{ finance_mapped_locations('restaurants', 'leg_sources') }}
),

role_names as (
    select
        unnest([
            'tips_payable', 'gratuity_payable', 'donations_payable', 'gift_card_liability',
            'house_account_receivable', 'unpaid_checks', 'over_short', 'facilitator_tax_payable',
            'refunds_not_itemised', 'accrued_payroll', 'default_revenue', 'default_discount',
            'default_service_charge', 'default_tax_payable', 'default_tender',
            'default_labor_expense'
        ]) as role
    union
    select distinct role from account_roles
    where role is not null
    union
    select distinct account_role from leg_sources
    where account_role is not null
),

role_sources as (
    select
        mapped_locations.restaurant_guid,
        role_names.role
    from mapped_locations
    cross join role_names
),

role_matches as (
    select
        role_sources.restaurant_guid,
        role_sources.role,
        {{ finance_mapping_pick('account_roles', 'account_code') }} as account_code
    from role_sources
    inner join account_roles
        on account_roles.restaurant_guid in (role_sources.restaurant_guid, '*')
        and role_sources.role = account_roles.role
    group by role_sources.restaurant_guid, role_sources.role
),

mappings as (
    select
        role_sources.restaurant_guid,
        'account_role' as mapping_kind,
        'account_role' as source_kind,
        role_sources.role as source_key,
        cast(null as varchar) as source_guid,
        role_sources.role as source_name,
        'account for role ''' || role_sources.role || '''' as subject,
        'account_roles.csv' as seed_file,
        role_matches.account_code as mapped_value,
        {{ finance_csv_row(["'*'", "role_sources.role", "''"]) }} as suggested_row,
        cast(null as varchar) as fallback_role,
        role_sources.role in (select leg_sources.account_role from leg_sources) as is_seen_in_orders
    from role_sources
    left join role_matches
        on role_sources.restaurant_guid = role_matches.restaurant_guid
        and role_sources.role = role_matches.role
),

final as (
    {{ finance_mappings_resolved('mappings', 'chart_of_accounts') }}
)

select * from final
