{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

-- One row per Toast check: its order's business date and revenue center, whether the sales
-- journal includes it (ACCOUNTING.md "What is excluded": voided or deleted orders and checks,
-- excessFood orders) and what the guest owes on it.
--
-- amount_due = amount + taxAmount + gratuity service charges: Toast's check `amount` leaves
-- gratuity out (apiOrdersOrderObjectSummary, "Amounts on checks"), the payment covers it.
--
-- Kept per order like the staging models (macros/toast_incremental.sql): a night processes the
-- orders loaded since the last run, and the models kept per order read only those orders'
-- rows of it.

with

orders as (
    {{ toast_order_rows(ref('stg_toast__orders')) }}
),

checks as (
    {{ toast_order_rows(ref('stg_toast__checks')) }}
),

service_charges as (
    {{ toast_order_rows(ref('stg_toast__applied_service_charges')) }}
),

gratuity_by_check as (
    select
        restaurant_guid,
        check_guid,
        sum(charge_amount) as gratuity_amount
    from service_charges
    where gratuity
    group by restaurant_guid, check_guid
),

classified as (
    select
        checks.restaurant_guid,
        checks.order_guid,
        checks.check_guid,
        checks.order_business_date as business_date,
        orders.revenue_center_guid,
        orders.dining_option_guid,
        checks.display_number,
        checks.payment_status,
        coalesce(checks.amount, 0) as amount,
        coalesce(checks.tax_amount, 0) as tax_amount,
        coalesce(checks.total_amount, 0) as total_amount,
        coalesce(gratuity_by_check.gratuity_amount, 0) as gratuity_amount,
        case
            when orders.order_guid is null then 'order_missing'
            when orders.voided then 'order_voided'
            when orders.deleted then 'order_deleted'
            when orders.excess_food then 'excess_food'
            when checks.voided then 'check_voided'
            when checks.deleted then 'check_deleted'
        end as exclusion_reason,
        checks._dlt_load_id
    from checks
    left join orders
        on checks.restaurant_guid = orders.restaurant_guid
        and checks.order_guid = orders.order_guid
    left join gratuity_by_check
        on checks.restaurant_guid = gratuity_by_check.restaurant_guid
        and checks.check_guid = gratuity_by_check.check_guid
),

final as (
    select
        restaurant_guid,
        order_guid,
        check_guid,
        business_date,
        revenue_center_guid,
        dining_option_guid,
        display_number,
        payment_status,
        {{ money('amount') }} as amount,
        {{ money('tax_amount') }} as tax_amount,
        {{ money('total_amount') }} as total_amount,
        {{ money('gratuity_amount') }} as gratuity_amount,
        {{ money('amount + tax_amount + gratuity_amount') }} as amount_due,
        exclusion_reason,
        exclusion_reason is null as is_included,
        _dlt_load_id
    from classified
)

select * from final
