-- Labor accrual legs (ACCOUNTING.md "Labor accrual journal"), per business date of the time
-- entry: cost = regularHours x hourlyWage + overtimeHours x hourlyWage x overtime multiplier
-- (settings overtime_multiplier, default 1.5), rounded half-even to the cent per entry;
-- debit labor expense per job (job_accounts.csv), credit accrued payroll.
--
-- Deleted entries are left out. Entries still clocked in (no outDate) and entries with no
-- hourly wage (salaried jobs) are not guessed at: they keep a row with cost_status 'open' or
-- 'no_hourly_wage' and no amount, for journals and the tests to report.
-- A table, rebuilt each run: time entries are few, and stg_toast__changed_days only covers
-- orders.

with

time_entries as (
    select * from {{ ref('stg_toast__time_entries') }}
),

settings as (
    select * from {{ ref('int_settings_resolved') }}
),

costed as (
    select
        time_entries.restaurant_guid,
        time_entries.time_entry_guid,
        time_entries.business_date,
        time_entries.job_guid,
        time_entries.employee_guid,
        time_entries.in_at,
        time_entries.out_at,
        coalesce(time_entries.regular_hours, 0) as regular_hours,
        coalesce(time_entries.overtime_hours, 0) as overtime_hours,
        time_entries.hourly_wage,
        coalesce(settings.overtime_multiplier, 1.5) as overtime_multiplier,
        case
            when time_entries.out_at is null then 'open'
            when time_entries.hourly_wage is null then 'no_hourly_wage'
            else 'costed'
        end as cost_status,
        time_entries._dlt_load_id
    from time_entries
    left join settings
        on time_entries.restaurant_guid = settings.restaurant_guid
    where not coalesce(time_entries.deleted, false)
      and time_entries.business_date is not null
),

final as (
    select
        *,
        case when cost_status = 'costed' then
            cast(round_even(
                regular_hours * hourly_wage + overtime_hours * hourly_wage * overtime_multiplier,
                2) as decimal(18, 2))
        end as labor_cost
    from costed
)

select * from final
