{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

with orders as (

    {{ toast_order_rows(ref('base_toast__orders')) }}

),

checks as (

    select
        restaurant_guid,
        order_guid,
        order_business_date,
        revenue_center_guid,
        _dlt_load_id,
        unnest(order_doc.checks) as check_doc
    from orders

),

payments as (

    select
        restaurant_guid,
        order_guid,
        order_business_date,
        revenue_center_guid,
        _dlt_load_id,
        check_doc.guid as check_guid,
        unnest(check_doc.payments) as payment_doc
    from checks

),

refunded_payments as (

    select *
    from payments
    where payment_doc.refund is not null

),

final as (

    select
        restaurant_guid,
        order_guid,
        order_business_date,
        revenue_center_guid,
        check_guid,
        payment_doc.guid as payment_guid,
        payment_doc.type as payment_type,
        payment_doc.cardType as card_type,
        payment_doc.otherPayment.guid as other_payment_guid,
        payment_doc.houseAccount.guid as house_account_guid,
        payment_doc.refundStatus as refund_status,
        payment_doc.refund.refundTransaction.guid as refund_transaction_guid,
        {{ money('payment_doc.refund.refundAmount') }} as refund_amount,
        {{ money('payment_doc.refund.tipRefundAmount') }} as tip_refund_amount,
        {{ toast_date('payment_doc.refund.refundBusinessDate') }} as refund_business_date,
        {{ toast_timestamp('payment_doc.refund.refundDate') }} as refunded_at,
        coalesce(payment_doc.paymentStatus = 'VOIDED', false)
            or payment_doc.voidInfo is not null as is_payment_voided,
        _dlt_load_id
    from refunded_payments

)

select * from final
