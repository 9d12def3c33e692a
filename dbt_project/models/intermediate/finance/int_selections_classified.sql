{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

-- One row per top-level menu item selection the sales journal counts: not voided, on an included
-- check (int_checks_classified). Modifiers are left out: their price is already inside the
-- parent's preDiscountPrice and price (apiOrdersOrderObjectSummary).
--
-- sale_kind: 'sales' (revenue), 'gift_card_sales' (deferred: gift card sold or reloaded, a
-- liability) or 'house_account_payments' (settles a house account receivable).
-- item_discount_amount: the selection's own discounts, nonTaxDiscountAmount for tax-inclusive
-- items (ACCOUNTING.md rule 2). discountable_amount = preDiscountPrice - item discounts: what
-- the selection is worth before check-level discounts, the weight they are spread by.
--
-- Kept per order like the staging models (macros/toast_incremental.sql): a night processes the
-- orders loaded since the last run, and the models kept per order read only those orders'
-- rows of it.

with

selections as (
    {{ toast_order_rows(ref('stg_toast__selections')) }}
),

applied_discounts as (
    {{ toast_order_rows(ref('stg_toast__applied_discounts')) }}
),

checks as (
    {{ toast_order_rows(ref('int_checks_classified')) }}
),

top_level as (
    select *
    from selections
    where parent_selection_guid is null
      and not coalesce(is_modifier, false)
      and not coalesce(voided, false)
),

item_discounts as (
    select
        applied_discounts.restaurant_guid,
        applied_discounts.selection_guid,
        sum(
            case
                when top_level.tax_inclusion = 'INCLUDED'
                    then coalesce(applied_discounts.non_tax_discount_amount,
                                  applied_discounts.discount_amount)
                else applied_discounts.discount_amount
            end
        ) as item_discount_amount,
        count(*) as item_discount_count
    from applied_discounts
    inner join top_level
        on applied_discounts.restaurant_guid = top_level.restaurant_guid
        and applied_discounts.selection_guid = top_level.selection_guid
    where applied_discounts.discount_level = 'item'
    group by applied_discounts.restaurant_guid, applied_discounts.selection_guid
),

classified as (
    select
        top_level.restaurant_guid,
        top_level.order_guid,
        top_level.check_guid,
        top_level.selection_guid,
        checks.business_date,
        checks.revenue_center_guid,
        top_level.sales_category_guid,
        top_level.item_guid,
        top_level.display_name,
        top_level.selection_type,
        {{ finance_sale_kind('top_level.deferred', 'top_level.selection_type',
                              'top_level.display_name') }} as sale_kind,
        top_level.tax_inclusion,
        top_level.quantity,
        coalesce(top_level.pre_discount_price, 0) as pre_discount_price,
        coalesce(item_discounts.item_discount_amount, 0) as item_discount_amount,
        coalesce(top_level.price, 0) as price,
        coalesce(top_level.tax, 0) as tax,
        coalesce(top_level.refund_amount, 0) as refund_amount,
        coalesce(top_level.tax_refund_amount, 0) as tax_refund_amount,
        top_level.refund_transaction_guid,
        top_level._dlt_load_id
    from top_level
    inner join checks
        on top_level.restaurant_guid = checks.restaurant_guid
        and top_level.check_guid = checks.check_guid
    left join item_discounts
        on top_level.restaurant_guid = item_discounts.restaurant_guid
        and top_level.selection_guid = item_discounts.selection_guid
    where checks.is_included
),

final as (
    select
        restaurant_guid,
        order_guid,
        check_guid,
        selection_guid,
        business_date,
        revenue_center_guid,
        sales_category_guid,
        item_guid,
        display_name,
        selection_type,
        sale_kind,
        tax_inclusion,
        quantity,
        {{ money('pre_discount_price') }} as pre_discount_price,
        {{ money('item_discount_amount') }} as item_discount_amount,
        {{ money('pre_discount_price - item_discount_amount') }} as discountable_amount,
        {{ money('price') }} as price,
        {{ money('tax') }} as tax,
        {{ money('refund_amount') }} as refund_amount,
        {{ money('tax_refund_amount') }} as tax_refund_amount,
        refund_transaction_guid,
        _dlt_load_id
    from classified
)

select * from final
