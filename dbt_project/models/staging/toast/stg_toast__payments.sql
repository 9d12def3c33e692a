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
        payment_doc.cardEntryMode as card_entry_mode,
        payment_doc.otherPayment.guid as other_payment_guid,
        payment_doc.houseAccount.guid as house_account_guid,
        payment_doc.cashDrawer.guid as cash_drawer_guid,
        payment_doc.server.guid as server_guid,
        {{ money('payment_doc.amount') }} as amount,
        {{ money('payment_doc.tipAmount') }} as tip_amount,
        {{ money('payment_doc.amountTendered') }} as amount_tendered,
        {{ money('payment_doc.originalProcessingFee') }} as original_processing_fee,
        {{ money('payment_doc.mcaRepaymentAmount') }} as mca_repayment_amount,
        {{ toast_date('payment_doc.paidBusinessDate') }} as paid_business_date,
        {{ toast_timestamp('payment_doc.paidDate') }} as paid_at,
        payment_doc.paymentStatus as payment_status,
        coalesce(payment_doc.paymentStatus = 'VOIDED', false)
            or payment_doc.voidInfo is not null as is_voided,
        {{ toast_date('payment_doc.voidInfo.voidBusinessDate') }} as void_business_date,
        {{ toast_timestamp('payment_doc.voidInfo.voidDate') }} as voided_at,
        payment_doc.refundStatus as refund_status,
        payment_doc.refund is not null as has_refund,
        _dlt_load_id
    from payments

)

select * from final
