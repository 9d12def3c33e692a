{{ config(materialized='view') }}

-- Every journal leg of every source document type, per business day: the input of the mapping
-- step (int_account_mappings_resolved, journal_lines). The `_built` day markers are left out.
-- journal_type: 'sales' for the order legs, 'labor' for the labor accrual legs (job_guid set).

with

sales as (
    select * from {{ ref('int_sales_journaled') }}
),

discounts as (
    select * from {{ ref('int_discounts_journaled') }}
),

service_charges as (
    select * from {{ ref('int_service_charges_journaled') }}
),

taxes as (
    select * from {{ ref('int_taxes_journaled') }}
),

payments as (
    select * from {{ ref('int_payments_journaled') }}
),

refunds as (
    select * from {{ ref('int_refunds_journaled') }}
),

unpaid_checks as (
    select * from {{ ref('int_unpaid_checks_journaled') }}
),

labor as (
    select * from {{ ref('int_labor_journaled') }}
),

order_legs as (
    select * from sales
    union all
    select * from discounts
    union all
    select * from service_charges
    union all
    select * from taxes
    union all
    select * from payments
    union all
    select * from refunds
    union all
    select * from unpaid_checks
),

final as (
    select
        *,
        'sales' as journal_type,
        cast(null as varchar) as job_guid
    from order_legs
    where line_kind <> '_built'

    union all

    select
        * exclude (job_guid),
        'labor' as journal_type,
        job_guid
    from labor
)

select * from final
