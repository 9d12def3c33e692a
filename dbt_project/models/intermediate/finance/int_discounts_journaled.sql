{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

-- Discount legs (ACCOUNTING.md rule 2), per order and business day (int_order_legs_summed
-- sums them per day): a debit (contra-revenue) per sales
-- category x revenue center x discount, of
--   * item-level discounts on 'sales' selections (discountAmount; nonTaxDiscountAmount for
--     tax-inclusive items, as int_selections_classified sums them), and
--   * check-level discounts as int_check_discounts_spread shares them out.
-- Which account (per category, or per discount where discount_accounts.csv says so) and
-- whether they are shown at all (settings discount_presentation = net) is journal_lines' job.

with

selections as (
    {{ toast_order_rows(ref('int_selections_classified')) }}
),

applied_discounts as (
    {{ toast_order_rows(ref('stg_toast__applied_discounts')) }}
),

check_discount_shares as (
    {{ toast_order_rows(ref('int_check_discounts_spread')) }}
),

item_discounts as (
    select
        selections.restaurant_guid,
        selections.order_guid,
        selections._dlt_load_id,
        selections.business_date,
        selections.revenue_center_guid,
        selections.sales_category_guid,
        applied_discounts.discount_guid,
        applied_discounts.name as discount_name,
        case
            when selections.tax_inclusion = 'INCLUDED'
                then coalesce(applied_discounts.non_tax_discount_amount,
                              applied_discounts.discount_amount)
            else applied_discounts.discount_amount
        end as discount_amount
    from applied_discounts
    inner join selections
        on applied_discounts.restaurant_guid = selections.restaurant_guid
        and applied_discounts.selection_guid = selections.selection_guid
    where applied_discounts.discount_level = 'item'
      and selections.sale_kind = 'sales'
),

all_discounts as (
    select
        restaurant_guid, order_guid, _dlt_load_id, business_date, revenue_center_guid,
        sales_category_guid,
        discount_guid, discount_name, discount_amount, 'applied_discount' as entry_source
    from item_discounts
    union all
    select
        restaurant_guid, order_guid, _dlt_load_id, business_date, revenue_center_guid,
        sales_category_guid,
        discount_guid, discount_name, discount_amount, 'check_discount_share' as entry_source
    from check_discount_shares
),

legs as (
    select
        {{ finance_leg_columns(
            line_kind="'discount'",
            entry_side="'debit'",
            entry_source="entry_source",
            account_source="'discount'",
            revenue_center_guid="revenue_center_guid",
            sales_category_guid="sales_category_guid",
            discount_guid="discount_guid",
            source_name="discount_name",
            amount="discount_amount",
        ) }}
    from all_discounts
),

final as (
    {{ finance_sum_order_legs('legs') }}
)

select * from final
