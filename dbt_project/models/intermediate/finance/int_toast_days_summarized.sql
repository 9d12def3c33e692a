{{ config(**finance_leg_model_config()) }}

-- Toast's own figures per location and business date (int_toast_orders_summarized, where the
-- formulas are), the orders' sums and counts added up for the days a load changed, so
-- sales_summary can set them beside the journal. A day whose orders all went is rebuilt with
-- zeros.

{%- set count_columns = [
    'order_count', 'check_count', 'open_check_count', 'item_count', 'payment_count',
    'refund_count', 'voided_payment_count', 'voided_item_count', 'voided_order_count',
    'deleted_order_count', 'excess_food_order_count'] %}
{%- set money_columns = [
    'gross_sales', 'item_discounts', 'check_discounts', 'discounts', 'service_charges',
    'net_sales', 'gratuity', 'donations', 'gift_card_sales', 'house_account_payments',
    'check_amount', 'tax', 'payments', 'tips', 'tenders_cash', 'tenders_credit',
    'tenders_giftcard', 'tenders_house_account', 'tenders_rewardcard', 'tenders_toast_sv',
    'tenders_other', 'tenders_undetermined', 'tenders_unknown_type', 'refunds', 'tip_refunds',
    'voided_payments', 'voided_items'] %}

with

days as (
    {{ finance_days_to_build(ref('stg_toast__changed_days')) }}
),

order_figures as (
    select * from {{ ref('int_toast_orders_summarized') }}
    where {{ finance_on_or_after_first_day('business_date', ref('stg_toast__changed_days')) }}
),

summed as (
    select
        days.restaurant_guid,
        days.business_date,
        {%- for column in count_columns %}
        cast(coalesce(sum(order_figures.{{ column }}), 0) as bigint) as {{ column }},
        {%- endfor %}
        {%- for column in money_columns %}
        {{ money('coalesce(sum(order_figures.' ~ column ~ '), 0)') }} as {{ column }},
        {%- endfor %}
        days._dlt_load_id
    from days
    left join order_figures
        on days.restaurant_guid = order_figures.restaurant_guid
        and days.business_date = order_figures.business_date
    group by days.restaurant_guid, days.business_date, days._dlt_load_id
),

final as (
    select
        restaurant_guid,
        business_date,
        order_count,
        check_count,
        open_check_count,
        item_count,
        gross_sales,
        item_discounts,
        check_discounts,
        discounts,
        service_charges,
        net_sales,
        gratuity,
        donations,
        gift_card_sales,
        house_account_payments,
        check_amount,
        tax,
        payment_count,
        payments,
        tips,
        tenders_cash,
        tenders_credit,
        tenders_giftcard,
        tenders_house_account,
        tenders_rewardcard,
        tenders_toast_sv,
        tenders_other,
        tenders_undetermined,
        tenders_unknown_type,
        refund_count,
        refunds,
        tip_refunds,
        voided_payment_count,
        voided_payments,
        voided_item_count,
        voided_items,
        voided_order_count,
        deleted_order_count,
        excess_food_order_count,
        _dlt_load_id
    from summed
)

select * from final
