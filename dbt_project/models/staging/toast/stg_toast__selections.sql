{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

with recursive orders as not materialized (

    {{ toast_order_rows(ref('base_toast__orders')) }}

),

{{ toast_selection_tree('orders') }},

final as (

    select
        restaurant_guid,
        order_guid,
        order_business_date,
        revenue_center_guid,
        check_guid,
        selection_doc.guid as selection_guid,
        parent_selection_guid,
        selection_depth > 0 as is_modifier,
        selection_depth,
        selection_doc.item.guid as item_guid,
        selection_doc.itemGroup.guid as item_group_guid,
        selection_doc.optionGroup.guid as option_group_guid,
        selection_doc.preModifier.guid as pre_modifier_guid,
        selection_doc.displayName as display_name,
        selection_doc.plu as plu,
        selection_doc.selectionType as selection_type,
        selection_doc.salesCategory.guid as sales_category_guid,
        selection_doc.diningOption.guid as dining_option_guid,
        {{ quantity_decimal('selection_doc.quantity') }} as quantity,
        selection_doc.unitOfMeasure as unit_of_measure,
        cast(selection_doc.seatNumber as integer) as seat_number,
        {{ money('selection_doc.receiptLinePrice') }} as receipt_line_price,
        {{ money('selection_doc.preDiscountPrice') }} as pre_discount_price,
        {{ money('selection_doc.price') }} as price,
        {{ money('selection_doc.tax') }} as tax,
        selection_doc.taxInclusion as tax_inclusion,
        coalesce(selection_doc.deferred, false) as deferred,
        coalesce(selection_doc.voided, false) as voided,
        {{ toast_timestamp('selection_doc.voidDate') }} as voided_at,
        {{ toast_date('selection_doc.voidBusinessDate') }} as void_business_date,
        selection_doc.voidReason.guid as void_reason_guid,
        {{ money('selection_doc.refundDetails.refundAmount') }} as refund_amount,
        {{ money('selection_doc.refundDetails.taxRefundAmount') }} as tax_refund_amount,
        selection_doc.refundDetails.refundTransaction.guid as refund_transaction_guid,
        selection_doc.fulfillmentStatus as fulfillment_status,
        {{ toast_timestamp('selection_doc.createdDate') }} as created_at,
        {{ toast_timestamp('selection_doc.modifiedDate') }} as modified_at,
        _dlt_load_id
    from selection_tree

)

select * from final
