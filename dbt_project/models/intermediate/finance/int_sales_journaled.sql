{{ config(**finance_leg_model_config()) }}
{%- set order_window = finance_order_window(ref('stg_toast__changed_days')) %}

-- Sales journal legs of menu item selections (ACCOUNTING.md rules 1, 3, 4), per business day:
--   sales                   credit preDiscountPrice per sales category x revenue center
--   gift_card_sales         credit gift card liability (deferred selections), not revenue
--   house_account_payments  credit house account receivable, not revenue
-- Gift cards and house account payments are credited at what the guest was charged for them
-- (preDiscountPrice less their own discounts); discounts on sales are int_discounts_journaled.

with

days as (
    {{ finance_days_to_build(ref('stg_toast__changed_days')) }}
),

-- read by finance_in_order_window on an incremental run only
orders_to_build as (  -- noqa: ST03
    {{ finance_orders_to_build(ref('stg_toast__changed_days')) }}
),

selections as (
    select * from {{ ref('int_selections_classified') }}
    where {{ finance_in_order_window('business_date', order_window) }}
),

legs as (
    select
        {{ finance_leg_columns(
            line_kind="sale_kind",
            entry_side="'credit'",
            entry_source="'selection'",
            account_source="case when sale_kind = 'sales' then 'sales_category' else 'role' end",
            account_role="case sale_kind when 'gift_card_sales' then 'gift_card_liability'
                when 'house_account_payments' then 'house_account_receivable' end",
            revenue_center_guid="case when sale_kind = 'sales' then revenue_center_guid end",
            sales_category_guid="case when sale_kind = 'sales' then sales_category_guid end",
            amount="case when sale_kind = 'sales' then pre_discount_price
                else discountable_amount end",
        ) }}
    from selections
),

final as (
    {{ finance_aggregate_legs('legs', 'days') }}
)

select * from final
