{{ config(materialized='view') }}

-- Every journal leg of every source document type, per business day (int_order_legs_summed,
-- the taxes and labor): the input of the mapping step (int_account_mappings_resolved,
-- journal_lines). The `_built` day markers are left out.
-- journal_type: 'sales' for the order legs, 'labor' for the labor accrual legs (job_guid set).

with

order_legs_summed as (
    select * from {{ ref('int_order_legs_summed') }}
),

taxes as (
    select * from {{ ref('int_taxes_journaled') }}
),

labor as (
    select * from {{ ref('int_labor_journaled') }}
),

order_legs as (
    select * from order_legs_summed
    union all
    select * from taxes
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
