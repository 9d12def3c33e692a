{{ config(materialized='view') }}

-- The posting settings of every location (seeds/settings.csv): the location's own row, else the
-- '*' row, else the built-in default, column by column. One row per Toast restaurant.

with

restaurants as (
    select * from {{ ref('stg_toast__restaurants') }}
),

settings as (
    select * from {{ ref('settings') }}
),

location_settings as (
    select * from settings
    where restaurant_guid <> '*'
),

default_settings as (
    select * from settings
    where restaurant_guid = '*'
),

final as (
    select
        restaurants.restaurant_guid,
        coalesce(location_settings.discount_presentation,
                 default_settings.discount_presentation, 'gross') as discount_presentation,
        cast(coalesce(location_settings.over_short_tolerance,
                      default_settings.over_short_tolerance, 0) as decimal(18, 2))
            as over_short_tolerance,
        coalesce(location_settings.settle_delay_hours,
                 default_settings.settle_delay_hours, 0) as settle_delay_hours,
        coalesce(location_settings.currency, default_settings.currency) as currency,
        coalesce(location_settings.hold_open_checks,
                 default_settings.hold_open_checks, true) as hold_open_checks,
        cast(coalesce(location_settings.open_check_grace_days,
                      default_settings.open_check_grace_days, 2) as integer)
            as open_check_grace_days,
        cast(coalesce(location_settings.overtime_multiplier,
                      default_settings.overtime_multiplier, 1.5) as decimal(18, 4))
            as overtime_multiplier,
        coalesce(location_settings.labor_journal, default_settings.labor_journal, false)
            as labor_journal
    from restaurants
    left join location_settings
        on restaurants.restaurant_guid = location_settings.restaurant_guid
    left join default_settings
        on true
)

select * from final
