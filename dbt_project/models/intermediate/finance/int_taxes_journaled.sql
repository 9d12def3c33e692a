{{ config(**finance_leg_model_config()) }}
{%- set order_window = finance_order_window(ref('stg_toast__changed_days')) %}

-- Sales tax legs (ACCOUNTING.md rule 6), per business day: a credit per tax rate of every
-- applied tax on the included selections and on the service charges of included checks.
-- Tax a marketplace facilitator collects and remits (facilitatorCollectAndRemitTax) is its own
-- line kind, facilitator_tax, posted to its own account.
--
-- The total is Toast's: Σ check.taxAmount. Where a check's applied taxes do not add up to its
-- taxAmount, the difference is a `tax` leg with no tax rate (default tax account, reported as
-- unmapped, so the journal is held for a look rather than posted off by the difference).

with

days as (
    {{ finance_days_to_build(ref('stg_toast__changed_days')) }}
),

applied_taxes as (
    select * from {{ ref('stg_toast__applied_taxes') }}
    where {{ finance_in_order_window('order_business_date', order_window) }}
),

selections as (
    select * from {{ ref('int_selections_classified') }}
    where {{ finance_in_order_window('business_date', order_window) }}
),

service_charges as (
    select * from {{ ref('stg_toast__applied_service_charges') }}
    where {{ finance_in_order_window('order_business_date', order_window) }}
),

checks as (
    select * from {{ ref('int_checks_classified') }}
    where {{ finance_in_order_window('business_date', order_window) }}
),

included_checks as (
    select * from checks
    where is_included
),

selection_taxes as (
    select
        applied_taxes.restaurant_guid,
        applied_taxes.check_guid,
        applied_taxes.tax_rate_guid,
        applied_taxes.name,
        coalesce(applied_taxes.facilitator_collect_and_remit_tax, false) as is_facilitator_tax,
        applied_taxes.tax_amount
    from applied_taxes
    inner join selections
        on applied_taxes.restaurant_guid = selections.restaurant_guid
        and applied_taxes.taxed_guid = selections.selection_guid
    where applied_taxes.taxed_kind = 'selection'
),

service_charge_taxes as (
    select
        applied_taxes.restaurant_guid,
        applied_taxes.check_guid,
        applied_taxes.tax_rate_guid,
        applied_taxes.name,
        coalesce(applied_taxes.facilitator_collect_and_remit_tax, false) as is_facilitator_tax,
        applied_taxes.tax_amount
    from applied_taxes
    inner join service_charges
        on applied_taxes.restaurant_guid = service_charges.restaurant_guid
        and applied_taxes.taxed_guid = service_charges.applied_service_charge_guid
    where applied_taxes.taxed_kind = 'service_charge'
),

itemised as (
    select * from selection_taxes
    union all
    select * from service_charge_taxes
),

itemised_by_check as (
    select
        itemised.*,
        included_checks.business_date
    from itemised
    inner join included_checks
        on itemised.restaurant_guid = included_checks.restaurant_guid
        and itemised.check_guid = included_checks.check_guid
),

check_differences as (
    select
        included_checks.restaurant_guid,
        included_checks.check_guid,
        cast(null as varchar) as tax_rate_guid,
        'Tax not itemised by rate' as name,
        false as is_facilitator_tax,
        included_checks.tax_amount - coalesce(sum(itemised_by_check.tax_amount), 0) as tax_amount,
        included_checks.business_date
    from included_checks
    left join itemised_by_check
        on included_checks.restaurant_guid = itemised_by_check.restaurant_guid
        and included_checks.check_guid = itemised_by_check.check_guid
    group by
        included_checks.restaurant_guid,
        included_checks.check_guid,
        included_checks.tax_amount,
        included_checks.business_date
    having included_checks.tax_amount - coalesce(sum(itemised_by_check.tax_amount), 0) <> 0
),

all_taxes as (
    select * from itemised_by_check
    union all
    select * from check_differences
),

legs as (
    select
        {{ finance_leg_columns(
            line_kind="case when is_facilitator_tax then 'facilitator_tax' else 'tax' end",
            entry_side="'credit'",
            entry_source="'applied_tax'",
            account_source="case when is_facilitator_tax then 'facilitator_tax' else 'tax_rate' end",
            tax_rate_guid="tax_rate_guid",
            source_name="name",
            amount="tax_amount",
        ) }}
    from all_taxes
),

final as (
    {{ finance_aggregate_legs('legs', 'days') }}
)

select * from final
