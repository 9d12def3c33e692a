{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}
{%- set figure_ctes = [
    'check_figures', 'selection_figures', 'item_discount_figures', 'check_discount_figures',
    'service_charge_figures', 'payment_figures', 'refund_figures', 'voided_payment_figures',
    'voided_item_figures', 'voided_order_figures', 'excluded_order_figures'] %}

-- Toast's own figures per order and business date, computed straight from staging with
-- Toast's documented formulas, independently of the journal legs, so sales_summary can set
-- them beside the journal:
--   net sales (apiOrdersNetSalesCalculation): Σ preDiscountPrice of non-voided selections that
--     are not gift cards or house account payments, less Σ nonTaxDiscountAmount of their
--     discounts and of check-level discounts, plus non-gratuity service charges (fundraising
--     left out, devCookbook-apiIntegrationChecklistAccounting "Filter fundraising contributions");
--   tax: Σ check.taxAmount; gratuity: Σ gratuity service charges;
--   payments, tips and tenders by type: the payments the journal counts (the same
--     classification, finance_payment_is_active in macros/finance/finance_rules.sql), by
--     paidBusinessDate, amounts summed here from the payments themselves;
--   refunds: Σ refundAmount and tipRefundAmount by refundBusinessDate;
--   voids: payments, items and orders by their void business date.
-- The journal's exclusions apply (voided or deleted orders and checks, excessFood orders).
-- Every figure is a sum or a count, so int_toast_days_summarized adds up the orders of a day.
-- Kept per order like the staging models (macros/toast_incremental.sql): a night computes the
-- orders it loaded, whatever the dates their refunds and voids reach back to.

with

orders as (
    {{ toast_order_rows(ref('stg_toast__orders')) }}
),

checks as (
    {{ toast_order_rows(ref('stg_toast__checks')) }}
),

selections as (
    {{ toast_order_rows(ref('stg_toast__selections')) }}
),

applied_discounts as (
    {{ toast_order_rows(ref('stg_toast__applied_discounts')) }}
),

service_charges as (
    {{ toast_order_rows(ref('stg_toast__applied_service_charges')) }}
),

payments as (
    {{ toast_order_rows(ref('stg_toast__payments')) }}
),

refunds as (
    {{ toast_order_rows(ref('stg_toast__refunds')) }}
),

counted_checks as (
    select
        checks.restaurant_guid,
        checks.order_guid,
        checks.check_guid,
        checks.order_business_date as business_date,
        checks.payment_status,
        checks.amount,
        checks.tax_amount,
        checks._dlt_load_id
    from checks
    inner join orders
        on checks.restaurant_guid = orders.restaurant_guid
        and checks.order_guid = orders.order_guid
    where not orders.voided
      and not orders.deleted
      and not orders.excess_food
      and not checks.voided
      and not checks.deleted
),

counted_selections as (
    select
        selections.*,
        counted_checks.business_date,
        -- Toast sends selectionType null on plain items: a null must not drop the item.
        coalesce(selections.deferred, false)
            or coalesce(selections.selection_type in ('TOAST_CARD_SELL', 'TOAST_CARD_RELOAD'),
                        false)
            or coalesce(selections.display_name = 'Gift Card', false) as is_gift_card,
        coalesce(selections.selection_type = 'HOUSE_ACCOUNT_PAY_BALANCE', false)
            as is_house_account_payment
    from selections
    inner join counted_checks
        on selections.restaurant_guid = counted_checks.restaurant_guid
        and selections.check_guid = counted_checks.check_guid
    where selections.parent_selection_guid is null
      and not selections.voided
),

selection_figures as (
    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        business_date,
        sum(pre_discount_price) filter (where not is_gift_card and not is_house_account_payment)
            as gross_sales,
        sum(price) filter (where is_gift_card) as gift_card_sales,
        sum(price) filter (where is_house_account_payment) as house_account_payments,
        count(*) filter (where not is_gift_card and not is_house_account_payment) as item_count
    from counted_selections
    group by all
),

item_discount_figures as (
    select
        counted_selections.restaurant_guid,
        counted_selections.order_guid,
        counted_selections._dlt_load_id,
        counted_selections.business_date,
        sum(coalesce(applied_discounts.non_tax_discount_amount, applied_discounts.discount_amount))
            as item_discounts,
        count(*) as item_discount_count
    from applied_discounts
    inner join counted_selections
        on applied_discounts.restaurant_guid = counted_selections.restaurant_guid
        and applied_discounts.selection_guid = counted_selections.selection_guid
    where applied_discounts.discount_level = 'item'
      and not counted_selections.is_gift_card
      and not counted_selections.is_house_account_payment
    group by all
),

check_discount_figures as (
    select
        counted_checks.restaurant_guid,
        counted_checks.order_guid,
        counted_checks._dlt_load_id,
        counted_checks.business_date,
        sum(coalesce(applied_discounts.non_tax_discount_amount, applied_discounts.discount_amount))
            as check_discounts,
        count(*) as check_discount_count
    from applied_discounts
    inner join counted_checks
        on applied_discounts.restaurant_guid = counted_checks.restaurant_guid
        and applied_discounts.check_guid = counted_checks.check_guid
    where applied_discounts.discount_level = 'check'
    group by all
),

service_charge_figures as (
    select
        counted_checks.restaurant_guid,
        counted_checks.order_guid,
        counted_checks._dlt_load_id,
        counted_checks.business_date,
        sum(service_charges.charge_amount) filter (
            where not service_charges.gratuity
              and coalesce(service_charges.service_charge_category, '') <> 'FUNDRAISING_CAMPAIGN')
            as service_charges,
        sum(service_charges.charge_amount) filter (where service_charges.gratuity) as gratuity,
        sum(service_charges.charge_amount) filter (
            where not service_charges.gratuity
              and service_charges.service_charge_category = 'FUNDRAISING_CAMPAIGN')
            as donations
    from service_charges
    inner join counted_checks
        on service_charges.restaurant_guid = counted_checks.restaurant_guid
        and service_charges.check_guid = counted_checks.check_guid
    group by all
),

check_figures as (
    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        business_date,
        count(distinct order_guid) as order_count,
        count(*) as check_count,
        count(*) filter (where payment_status = 'OPEN') as open_check_count,
        sum(amount) as check_amount,
        sum(tax_amount) as tax
    from counted_checks
    group by all
),

payment_figures as (
    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        paid_business_date as business_date,
        count(*) as payment_count,
        sum(amount) as payments,
        sum(tip_amount) as tips,
        {% for payment_type in ['CASH', 'CREDIT', 'GIFTCARD', 'HOUSE_ACCOUNT', 'REWARDCARD',
                                'TOAST_SV', 'OTHER', 'UNDETERMINED'] %}
        sum(coalesce(amount, 0) + coalesce(tip_amount, 0)) filter (
            where payment_type = '{{ payment_type }}') as tenders_{{ payment_type | lower }},
        {% endfor %}
        sum(coalesce(amount, 0) + coalesce(tip_amount, 0)) filter (
            where coalesce(payment_type, '') not in ('CASH', 'CREDIT', 'GIFTCARD',
                'HOUSE_ACCOUNT', 'REWARDCARD', 'TOAST_SV', 'OTHER', 'UNDETERMINED'))
            as tenders_unknown_type
    from payments
    where {{ finance_payment_is_active('payments') }}
      and paid_business_date is not null
    group by all
),

refund_figures as (
    select
        refunds.restaurant_guid,
        refunds.order_guid,
        refunds._dlt_load_id,
        refunds.refund_business_date as business_date,
        count(*) as refund_count,
        sum(refunds.refund_amount) as refunds,
        sum(refunds.tip_refund_amount) as tip_refunds
    from refunds
    left join payments
        on refunds.restaurant_guid = payments.restaurant_guid
        and refunds.payment_guid = payments.payment_guid
    where refunds.refund_business_date is not null
      and (payments.payment_guid is null or {{ finance_payment_is_active('payments') }})
    group by all
),

voided_payment_figures as (
    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        void_business_date as business_date,
        count(*) as voided_payment_count,
        sum(amount) as voided_payments
    from payments
    where void_business_date is not null
    group by all
),

voided_item_figures as (
    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        void_business_date as business_date,
        count(*) as voided_item_count,
        sum(pre_discount_price) as voided_items
    from selections
    where voided
      and parent_selection_guid is null
      and void_business_date is not null
    group by all
),

voided_order_figures as (
    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        void_business_date as business_date,
        count(*) as voided_order_count
    from orders
    where voided
      and void_business_date is not null
    group by all
),

excluded_order_figures as (
    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        order_business_date as business_date,
        count(*) filter (where deleted) as deleted_order_count,
        count(*) filter (where excess_food and not voided and not deleted)
            as excess_food_order_count
    from orders
    group by all
),

order_days as (
    {%- for figures in figure_ctes %}
    select restaurant_guid, order_guid, _dlt_load_id, business_date from {{ figures }}
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}
),

order_days_dated as (
    select * from order_days
    where business_date is not null
),

final as (
    select
        order_days.restaurant_guid,
        order_days.order_guid,
        order_days.business_date,
        coalesce(check_figures.order_count, 0) as order_count,
        coalesce(check_figures.check_count, 0) as check_count,
        coalesce(check_figures.open_check_count, 0) as open_check_count,
        coalesce(selection_figures.item_count, 0) as item_count,
        {{ money('coalesce(selection_figures.gross_sales, 0)') }} as gross_sales,
        {{ money('coalesce(item_discount_figures.item_discounts, 0)') }} as item_discounts,
        {{ money('coalesce(check_discount_figures.check_discounts, 0)') }} as check_discounts,
        {{ money('coalesce(item_discount_figures.item_discounts, 0)
            + coalesce(check_discount_figures.check_discounts, 0)') }} as discounts,
        {{ money('coalesce(service_charge_figures.service_charges, 0)') }} as service_charges,
        {{ money('coalesce(selection_figures.gross_sales, 0)
            - coalesce(item_discount_figures.item_discounts, 0)
            - coalesce(check_discount_figures.check_discounts, 0)
            + coalesce(service_charge_figures.service_charges, 0)') }} as net_sales,
        {{ money('coalesce(service_charge_figures.gratuity, 0)') }} as gratuity,
        {{ money('coalesce(service_charge_figures.donations, 0)') }} as donations,
        {{ money('coalesce(selection_figures.gift_card_sales, 0)') }} as gift_card_sales,
        {{ money('coalesce(selection_figures.house_account_payments, 0)') }}
            as house_account_payments,
        {{ money('coalesce(check_figures.check_amount, 0)') }} as check_amount,
        {{ money('coalesce(check_figures.tax, 0)') }} as tax,
        coalesce(payment_figures.payment_count, 0) as payment_count,
        {{ money('coalesce(payment_figures.payments, 0)') }} as payments,
        {{ money('coalesce(payment_figures.tips, 0)') }} as tips,
        {% for payment_type in ['cash', 'credit', 'giftcard', 'house_account', 'rewardcard',
                                'toast_sv', 'other', 'undetermined', 'unknown_type'] %}
        {{ money('coalesce(payment_figures.tenders_' ~ payment_type ~ ', 0)') }}
            as tenders_{{ payment_type }},
        {% endfor %}
        coalesce(refund_figures.refund_count, 0) as refund_count,
        {{ money('coalesce(refund_figures.refunds, 0)') }} as refunds,
        {{ money('coalesce(refund_figures.tip_refunds, 0)') }} as tip_refunds,
        coalesce(voided_payment_figures.voided_payment_count, 0) as voided_payment_count,
        {{ money('coalesce(voided_payment_figures.voided_payments, 0)') }} as voided_payments,
        coalesce(voided_item_figures.voided_item_count, 0) as voided_item_count,
        {{ money('coalesce(voided_item_figures.voided_items, 0)') }} as voided_items,
        coalesce(voided_order_figures.voided_order_count, 0) as voided_order_count,
        coalesce(excluded_order_figures.deleted_order_count, 0) as deleted_order_count,
        coalesce(excluded_order_figures.excess_food_order_count, 0) as excess_food_order_count,
        order_days._dlt_load_id
    from order_days_dated as order_days
    {% for figures in figure_ctes %}
    left join {{ figures }}
        on order_days.restaurant_guid = {{ figures }}.restaurant_guid
        and order_days.order_guid = {{ figures }}.order_guid
        and order_days.business_date = {{ figures }}.business_date
    {% endfor %}
)

select * from final
