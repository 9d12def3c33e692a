{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

with recursive orders as not materialized (

    {{ toast_order_rows(ref('base_toast__orders')) }}

),

{{ toast_selection_tree('orders') }},

check_discounts as (

    select
        restaurant_guid,
        order_guid,
        order_business_date,
        revenue_center_guid,
        _dlt_load_id,
        check_doc.guid as check_guid,
        cast(null as varchar) as selection_guid,
        'check' as discount_level,
        false as is_modifier,
        unnest(check_doc.appliedDiscounts) as discount_doc
    from tree_checks

),

item_discounts as (

    select
        restaurant_guid,
        order_guid,
        order_business_date,
        revenue_center_guid,
        _dlt_load_id,
        check_guid,
        selection_doc.guid as selection_guid,
        'item' as discount_level,
        selection_depth > 0 as is_modifier,
        unnest(selection_doc.appliedDiscounts) as discount_doc
    from selection_tree

),

unioned as (

    select * from check_discounts
    union all
    select * from item_discounts

),

final as (

    select
        restaurant_guid,
        order_guid,
        order_business_date,
        revenue_center_guid,
        check_guid,
        discount_doc.guid as applied_discount_guid,
        selection_guid,
        discount_level,
        is_modifier,
        discount_doc.discount.guid as discount_guid,
        discount_doc.name as name,
        discount_doc.discountType as discount_type,
        {{ rate_decimal('discount_doc.discountPercent') }} as discount_percent,
        {{ money('discount_doc.discountAmount') }} as discount_amount,
        {{ money('discount_doc.nonTaxDiscountAmount') }} as non_tax_discount_amount,
        discount_doc.processingState as processing_state,
        discount_doc.approver.guid as approver_guid,
        _dlt_load_id
    from unioned

)

select * from final
