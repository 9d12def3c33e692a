{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

-- Sales journal legs of menu item selections (ACCOUNTING.md rules 1, 3, 4), per order and
-- business day (int_order_legs_summed sums them per day):
--   sales                   credit preDiscountPrice per sales category x revenue center
--   gift_card_sales         credit gift card liability (deferred selections), not revenue
--   house_account_payments  credit house account receivable, not revenue
-- Gift cards and house account payments are credited at what the guest was charged for them
-- (preDiscountPrice less their own discounts); discounts on sales are int_discounts_journaled.

with

selections as (
    {{ toast_order_rows(ref('int_selections_classified')) }}
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
    {{ finance_sum_order_legs('legs') }}
)

select * from final
