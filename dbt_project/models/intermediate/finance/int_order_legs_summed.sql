{{ config(**finance_leg_model_config()) }}

-- The order legs of every source document type but taxes, summed per business day: the legs the
-- int_*_journaled models keep per order (sales, discounts, service charges, payments, refunds,
-- unpaid checks), for the days a load changed (stg_toast__changed_days), with each rebuilt
-- day's `_built` marker (finance_built_marker).
--
-- A night computes the legs of the orders it loaded only; a refund today of an order sold three
-- weeks ago rebuilds that day here from its few hundred orders' already computed rows, not from
-- three weeks of selections. Taxes are summed per day and rate before they are rounded, so
-- int_taxes_journaled stays a per-day model of its own.

with

days as (
    {{ finance_days_to_build(ref('stg_toast__changed_days')) }}
),
{%- set on_or_after_first_day =
    finance_on_or_after_first_day('business_date', ref('stg_toast__changed_days')) %}

order_legs as (
    {%- for leg_model in [
        'int_sales_journaled', 'int_discounts_journaled', 'int_service_charges_journaled',
        'int_payments_journaled', 'int_refunds_journaled', 'int_unpaid_checks_journaled'] %}
    select * exclude (order_guid, _dlt_load_id) from {{ ref(leg_model) }}
    where {{ on_or_after_first_day }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

summed as (
    select
        order_legs.restaurant_guid,
        order_legs.business_date,
        order_legs.line_kind,
        order_legs.entry_side,
        order_legs.entry_source,
        order_legs.account_source,
        order_legs.account_role,
        order_legs.revenue_center_guid,
        order_legs.sales_category_guid,
        order_legs.discount_guid,
        order_legs.service_charge_guid,
        order_legs.service_charge_category,
        order_legs.tax_rate_guid,
        order_legs.payment_type,
        order_legs.card_type,
        order_legs.other_payment_guid,
        max(order_legs.source_name) as source_name,
        {{ money('sum(order_legs.debit)') }} as debit,
        {{ money('sum(order_legs.credit)') }} as credit,
        cast(sum(order_legs.document_count) as bigint) as document_count,
        days._dlt_load_id
    from order_legs
    inner join days
        on order_legs.restaurant_guid = days.restaurant_guid
        and order_legs.business_date = days.business_date
    group by all   -- every column above but the aggregates
),

final as (
    select * from summed

    union all

    {{ finance_built_marker('days') }}
)

select * from final
