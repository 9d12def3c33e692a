{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

with orders as (

    {{ toast_order_rows(ref('base_toast__orders')) }}

),

final as (

    select
        restaurant_guid,
        order_guid,
        order_doc.displayNumber as display_number,
        order_doc.source as source,
        order_business_date,
        {{ toast_timestamp('order_doc.openedDate') }} as opened_at,
        {{ toast_timestamp('order_doc.createdDate') }} as created_at,
        {{ toast_timestamp('order_doc.modifiedDate') }} as modified_at,
        {{ toast_timestamp('order_doc.paidDate') }} as paid_at,
        {{ toast_timestamp('order_doc.closedDate') }} as closed_at,
        {{ toast_timestamp('order_doc.promisedDate') }} as promised_at,
        coalesce(order_doc.voided, false) as voided,
        {{ toast_timestamp('order_doc.voidDate') }} as voided_at,
        {{ toast_date('order_doc.voidBusinessDate') }} as void_business_date,
        coalesce(order_doc.deleted, false) as deleted,
        {{ toast_timestamp('order_doc.deletedDate', placeholder_epoch=true) }} as deleted_at,
        coalesce(order_doc.excessFood, false) as excess_food,
        coalesce(order_doc.createdInTestMode, false) as created_in_test_mode,
        order_doc.approvalStatus as approval_status,
        cast(order_doc.numberOfGuests as integer) as number_of_guests,
        revenue_center_guid,
        order_doc.diningOption.guid as dining_option_guid,
        order_doc.restaurantService.guid as restaurant_service_guid,
        order_doc.server.guid as server_guid,
        len(order_doc.checks) as check_count,
        extracted_at,
        _dlt_load_id
    from orders

)

select * from final
