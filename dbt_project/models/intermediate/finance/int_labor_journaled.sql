{{ config(materialized='view') }}

-- Labor accrual legs, per location and business date, for locations whose settings ask for a
-- labor journal (labor_journal = true): debit labor expense per job, credit accrued payroll,
-- of the costed time entries (int_time_entries_costed). Same shape as the per-day sums of the
-- order legs (int_order_legs_summed), plus job_guid.

with

time_entries as (
    select * from {{ ref('int_time_entries_costed') }}
),

settings as (
    select * from {{ ref('int_settings_resolved') }}
),

costed as (
    select time_entries.*
    from time_entries
    inner join settings
        on time_entries.restaurant_guid = settings.restaurant_guid
    where settings.labor_journal
      and time_entries.cost_status = 'costed'
      and time_entries.labor_cost <> 0
),

legs as (
    select
        {{ finance_leg_columns(
            line_kind="'labor_expense'",
            entry_side="'debit'",
            entry_source="'time_entry'",
            account_source="'job'",
            amount="labor_cost",
            order_guid=none,
        ) }},
        job_guid
    from costed

    union all

    select
        {{ finance_leg_columns(
            line_kind="'accrued_payroll'",
            entry_side="'credit'",
            entry_source="'time_entry'",
            account_source="'role'",
            account_role="'accrued_payroll'",
            amount="labor_cost",
            order_guid=none,
        ) }},
        cast(null as varchar) as job_guid
    from costed
),

day_loads as (
    select
        restaurant_guid,
        business_date,
        max(_dlt_load_id) as _dlt_load_id
    from time_entries
    group by all
),

final as (
    select
        legs.restaurant_guid,
        legs.business_date,
        legs.line_kind,
        legs.entry_side,
        legs.entry_source,
        legs.account_source,
        legs.account_role,
        legs.revenue_center_guid,
        legs.sales_category_guid,
        legs.discount_guid,
        legs.service_charge_guid,
        legs.service_charge_category,
        legs.tax_rate_guid,
        legs.payment_type,
        legs.card_type,
        legs.other_payment_guid,
        max(legs.source_name) as source_name,
        {{ money("sum(case when legs.entry_side = 'debit' then legs.amount else 0 end)") }}
            as debit,
        {{ money("sum(case when legs.entry_side = 'credit' then legs.amount else 0 end)") }}
            as credit,
        count(*) as document_count,
        max(day_loads._dlt_load_id) as _dlt_load_id,
        legs.job_guid
    from legs
    left join day_loads
        on legs.restaurant_guid = day_loads.restaurant_guid
        and legs.business_date = day_loads.business_date
    group by all
)

select * from final
