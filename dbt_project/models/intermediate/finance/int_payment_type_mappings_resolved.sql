{{ config(materialized='view') }}

-- The tender account per location and payment type, card type and alternate payment type
-- (payment_type_accounts.csv), for every tender the journal legs used and every alternate
-- payment type in Toast's configuration. A row's card type and alternate payment type name
-- must be the tender's or '*'; a guid pin beats a name, a location's row beats a '*' row, then
-- a named card type, then a named alternate payment type. Unmapped ones post to the
-- default_tender role. Unioned in int_account_mappings_resolved (mapping_kind payment_type).

with

leg_sources as (
    select * from {{ ref('int_leg_sources_deduplicated') }}
),

toast_alternate_payment_types as (
    select * from {{ ref('stg_toast__alternate_payment_types') }}
),

payment_type_accounts as (
    select * from {{ ref('payment_type_accounts') }}
),

chart_of_accounts as (
    select * from {{ ref('chart_of_accounts') }}
),

config_alternate_payment_types as (
    select
        restaurant_guid,
        alternate_payment_type_guid,
        any_value(name) as name
    from toast_alternate_payment_types
    group by all
),

payment_type_sources as (
    select
        leg_sources.restaurant_guid,
        leg_sources.payment_type,
        leg_sources.card_type,
        leg_sources.other_payment_guid,
        config_alternate_payment_types.name as alternate_payment_type_name,
        true as is_seen_in_orders
    from leg_sources
    left join config_alternate_payment_types
        on leg_sources.restaurant_guid = config_alternate_payment_types.restaurant_guid
        and leg_sources.other_payment_guid
            = config_alternate_payment_types.alternate_payment_type_guid
    where leg_sources.account_source = 'payment_type'
    group by all

    union all

    select
        config_alternate_payment_types.restaurant_guid,
        'OTHER' as payment_type,
        null as card_type,
        config_alternate_payment_types.alternate_payment_type_guid as other_payment_guid,
        config_alternate_payment_types.name as alternate_payment_type_name,
        false as is_seen_in_orders
    from config_alternate_payment_types
    where not exists (
        select 1
        from leg_sources
        where
            leg_sources.account_source = 'payment_type'
            and leg_sources.restaurant_guid = config_alternate_payment_types.restaurant_guid
            and leg_sources.payment_type = 'OTHER'
            and leg_sources.other_payment_guid
            = config_alternate_payment_types.alternate_payment_type_guid
    )
),

payment_type_matches as (
    select
        payment_type_sources.restaurant_guid,
        payment_type_sources.payment_type,
        payment_type_sources.card_type,
        payment_type_sources.other_payment_guid,
        {{ finance_mapping_pick(
            'payment_type_accounts', 'account_code', pin='alternate_payment_type_guid',
            narrower=[
                "coalesce(payment_type_accounts.card_type, '*') <> '*'",
                "coalesce(payment_type_accounts.alternate_payment_type_name, '*') <> '*'",
            ]) }} as account_code
    from payment_type_sources
    inner join payment_type_accounts
        on {{ finance_mapping_matches(
            'payment_type_accounts', 'payment_type_sources',
            seed_pin='payment_type_accounts.alternate_payment_type_guid',
            source_pin='payment_type_sources.other_payment_guid',
            seed_name="coalesce(payment_type_accounts.alternate_payment_type_name, '*')",
            source_name="coalesce(payment_type_sources.alternate_payment_type_name, '*')") }}
        and payment_type_sources.payment_type = payment_type_accounts.payment_type
        and coalesce(payment_type_accounts.card_type, '*')
        in ('*', coalesce(payment_type_sources.card_type, '*'))
    group by all
),

mappings as (
    select
        payment_type_sources.restaurant_guid,
        'payment_type' as mapping_kind,
        case
            when payment_type_sources.payment_type = 'OTHER' then 'alternate_payment_type'
            else 'payment_type'
        end as source_kind,
        coalesce(payment_type_sources.payment_type, '') || '|'
        || coalesce(payment_type_sources.card_type, '') || '|'
        || coalesce(payment_type_sources.other_payment_guid, '') as source_key,
        coalesce(
            payment_type_sources.other_payment_guid, payment_type_sources.payment_type
        ) as source_guid,
        coalesce(payment_type_sources.payment_type, '(no type)')
        || coalesce(' ' || payment_type_sources.card_type, '')
        || coalesce(
            ' ' || payment_type_sources.alternate_payment_type_name,
            ' ' || payment_type_sources.other_payment_guid,
            ''
        ) as source_name,
        'tender account for payment type '
        || coalesce(payment_type_sources.payment_type, '(no type)')
        || coalesce(' card ' || payment_type_sources.card_type, '')
        || coalesce(
            ' alternate payment type '''
            || payment_type_sources.alternate_payment_type_name || '''',
            ' alternate payment type ' || payment_type_sources.other_payment_guid,
            ''
        ) as subject,
        'payment_type_accounts.csv' as seed_file,
        payment_type_matches.account_code as mapped_value,
        case
            when payment_type_sources.payment_type = 'OTHER'
                and payment_type_sources.alternate_payment_type_name is null
                then {{ finance_csv_row([
                    "'*'", "'OTHER'", "'*'", "''",
                    "payment_type_sources.other_payment_guid", "''",
                ]) }}
            else {{ finance_csv_row([
                "'*'", "coalesce(payment_type_sources.payment_type, '')", "'*'",
                "coalesce(payment_type_sources.alternate_payment_type_name, '*')", "''", "''",
            ]) }}
        end as suggested_row,
        'default_tender' as fallback_role,
        payment_type_sources.is_seen_in_orders
    from payment_type_sources
    left join payment_type_matches
        on payment_type_sources.restaurant_guid = payment_type_matches.restaurant_guid
        and payment_type_sources.payment_type
            is not distinct from payment_type_matches.payment_type
        and payment_type_sources.card_type
            is not distinct from payment_type_matches.card_type
        and payment_type_sources.other_payment_guid
            is not distinct from payment_type_matches.other_payment_guid
),

final as (
    {{ finance_mappings_resolved('mappings', 'chart_of_accounts') }}
)

select * from final
