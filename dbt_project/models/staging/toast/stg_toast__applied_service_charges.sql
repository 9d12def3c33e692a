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

service_charges as (

    select
        restaurant_guid,
        order_guid,
        order_business_date,
        revenue_center_guid,
        _dlt_load_id,
        check_doc.guid as check_guid,
        unnest(check_doc.appliedServiceCharges) as charge_doc
    from checks

),

final as (

    select
        restaurant_guid,
        order_guid,
        order_business_date,
        revenue_center_guid,
        check_guid,
        charge_doc.guid as applied_service_charge_guid,
        charge_doc.serviceCharge.guid as service_charge_guid,
        charge_doc.name as name,
        charge_doc.chargeType as charge_type,
        {{ money('charge_doc.chargeAmount') }} as charge_amount,
        coalesce(charge_doc.gratuity, false) as gratuity,
        charge_doc.serviceChargeCategory as service_charge_category,
        charge_doc.serviceChargeCalculation as service_charge_calculation,
        coalesce(charge_doc.taxable, false) as taxable,
        coalesce(charge_doc.delivery, false) as delivery,
        coalesce(charge_doc.takeout, false) as takeout,
        coalesce(charge_doc.dineIn, false) as dine_in,
        charge_doc.paymentGuid as payment_guid,
        {{ money('charge_doc.refundDetails.refundAmount') }} as refund_amount,
        {{ money('charge_doc.refundDetails.taxRefundAmount') }} as tax_refund_amount,
        charge_doc.refundDetails.refundTransaction.guid as refund_transaction_guid,
        _dlt_load_id
    from service_charges

)

select * from final
