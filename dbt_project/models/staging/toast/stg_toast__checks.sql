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

final as (

    select
        restaurant_guid,
        order_guid,
        check_doc.guid as check_guid,
        check_doc.displayNumber as display_number,
        check_doc.tabName as tab_name,
        order_business_date,
        revenue_center_guid,
        coalesce(check_doc.voided, false) as voided,
        {{ toast_timestamp('check_doc.voidDate') }} as voided_at,
        {{ toast_date('check_doc.voidBusinessDate') }} as void_business_date,
        coalesce(check_doc.deleted, false) as deleted,
        {{ toast_timestamp('check_doc.deletedDate', placeholder_epoch=true) }} as deleted_at,
        check_doc.paymentStatus as payment_status,
        {{ money('check_doc.amount') }} as amount,
        {{ money('check_doc.taxAmount') }} as tax_amount,
        {{ money('check_doc.totalAmount') }} as total_amount,
        coalesce(check_doc.taxExempt, false) as tax_exempt,
        {{ toast_timestamp('check_doc.openedDate') }} as opened_at,
        {{ toast_timestamp('check_doc.modifiedDate') }} as modified_at,
        {{ toast_timestamp('check_doc.paidDate') }} as paid_at,
        {{ toast_timestamp('check_doc.closedDate') }} as closed_at,
        check_doc.customer.guid as customer_guid,
        check_doc.openedBy.guid as opened_by_guid,
        _dlt_load_id
    from checks

)

select * from final
