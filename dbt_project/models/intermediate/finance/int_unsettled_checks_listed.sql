{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

-- What Toast has not settled yet, one row per check and thing (ACCOUNTING.md "Real Toast data"):
--   payment   a payment whose paymentStatus is unsettled (finance_payment_class: OPEN,
--             PROCESSING, ERROR_NETWORK, PROCESSING_VOID, AUTHORIZED_AT_RISK, VOIDED_AT_RISK,
--             a card payment with no status, or a value Toast's spec does not list), on the day
--             its tender would post (paidBusinessDate, else the order's business date);
--   refund    a refund of such a payment, on the refund's business date;
--   approval  an included check of an order still NEEDS_APPROVAL, on the order's business date.
-- journals holds each of these days, naming the check (display number and guid) and the
-- status, until Toast settles it and a later load brings the new status. An unsettled payment
-- is held whatever became of its check: the money may have been taken.
-- Kept per order like the staging models (macros/toast_incremental.sql): a night lists the
-- orders it loaded, and a later load of a settled order replaces its rows.

with

payments as (
    {{ toast_order_rows(ref('stg_toast__payments')) }}
),

refunds as (
    {{ toast_order_rows(ref('stg_toast__refunds')) }}
),

orders as (
    {{ toast_order_rows(ref('stg_toast__orders')) }}
),

checks as (
    {{ toast_order_rows(ref('int_checks_classified')) }}
),

unsettled_payments as (
    select
        payments.restaurant_guid,
        coalesce(payments.paid_business_date, payments.order_business_date) as business_date,
        payments.order_guid,
        payments.check_guid,
        'payment' as unsettled_kind,
        payments.payment_guid as document_guid,
        coalesce(payments.payment_status, '(no status)') as status,
        concat_ws(' ', payments.payment_type, payments.card_type) || ' payment '
            || coalesce(cast(payments.amount as varchar), '?') || ' '
            || coalesce(payments.payment_status, 'with no paymentStatus') as what,
        payments._dlt_load_id
    from payments
    where {{ finance_payment_class('payments') }} = 'unsettled'
),

unsettled_refunds as (
    select
        refunds.restaurant_guid,
        refunds.refund_business_date as business_date,
        refunds.order_guid,
        refunds.check_guid,
        'refund' as unsettled_kind,
        refunds.payment_guid as document_guid,
        coalesce(payments.payment_status, '(no status)') as status,
        'refund ' || coalesce(cast(refunds.refund_amount as varchar), '?') || ' of a '
            || coalesce(payments.payment_status, 'status-less') || ' payment' as what,
        refunds._dlt_load_id
    from refunds
    inner join payments
        on refunds.restaurant_guid = payments.restaurant_guid
        and refunds.payment_guid = payments.payment_guid
    where refunds.refund_business_date is not null
      and {{ finance_payment_class('payments') }} = 'unsettled'
),

unapproved_orders as (
    select
        checks.restaurant_guid,
        checks.business_date,
        checks.order_guid,
        checks.check_guid,
        'approval' as unsettled_kind,
        checks.order_guid as document_guid,
        orders.approval_status as status,
        'order #' || coalesce(orders.display_number, orders.order_guid) || ' '
            || orders.approval_status || ' (approve or reject it in Toast)' as what,
        checks._dlt_load_id
    from checks
    inner join orders
        on checks.restaurant_guid = orders.restaurant_guid
        and checks.order_guid = orders.order_guid
    where checks.is_included
      and orders.approval_status = 'NEEDS_APPROVAL'
),

unioned as (
    select * from unsettled_payments
    union all
    select * from unsettled_refunds
    union all
    select * from unapproved_orders
),

final as (
    select
        unioned.restaurant_guid,
        unioned.business_date,
        unioned.order_guid,
        unioned.check_guid,
        checks.display_number,
        unioned.unsettled_kind,
        unioned.document_guid,
        unioned.status,
        'check ' || coalesce('#' || checks.display_number || ' (' || unioned.check_guid || ')',
            unioned.check_guid) || ': ' || unioned.what as description,
        unioned._dlt_load_id
    from unioned
    left join checks
        on unioned.restaurant_guid = checks.restaurant_guid
        and unioned.check_guid = checks.check_guid
    where unioned.business_date is not null
)

select * from final
