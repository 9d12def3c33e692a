{{ config(
    pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(),
) }}

with recursive orders as not materialized (

    {{ toast_order_rows(ref('base_toast__orders')) }}

),

{{ toast_selection_tree('orders') }},

selection_taxes as (

    select
        restaurant_guid,
        order_guid,
        order_business_date,
        revenue_center_guid,
        _dlt_load_id,
        check_guid,
        'selection' as taxed_kind,
        selection_doc.guid as taxed_guid,
        selection_depth > 0 as is_modifier,
        unnest(selection_doc.appliedTaxes) as tax_doc
    from selection_tree

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
    from tree_checks

),

service_charge_taxes as (

    select
        restaurant_guid,
        order_guid,
        order_business_date,
        revenue_center_guid,
        _dlt_load_id,
        check_guid,
        'service_charge' as taxed_kind,
        charge_doc.guid as taxed_guid,
        false as is_modifier,
        unnest(charge_doc.appliedTaxes) as tax_doc
    from service_charges

),

unioned as (

    select * from selection_taxes
    union all
    select * from service_charge_taxes

),

final as (

    select
        restaurant_guid,
        order_guid,
        order_business_date,
        revenue_center_guid,
        check_guid,
        tax_doc.guid as applied_tax_guid,
        -- Toast's own example orders leave the applied tax's guid out: the key falls back to
        -- what was taxed and by which rate.
        coalesce(
            tax_doc.guid,
            taxed_kind || ':' || taxed_guid || ':'
            || coalesce(tax_doc.taxRate.guid, tax_doc.name, '')
        ) as applied_tax_key,
        taxed_kind,
        taxed_guid,
        is_modifier,
        tax_doc.taxRate.guid as tax_rate_guid,
        tax_doc.name as name,
        tax_doc.displayName as display_name,
        {{ rate_decimal('tax_doc.rate') }} as rate,
        {{ money('tax_doc.taxAmount') }} as tax_amount,
        {{ money_exact('tax_doc.taxAmount') }} as tax_amount_exact,
        coalesce(tax_doc.facilitatorCollectAndRemitTax, false) as facilitator_collect_and_remit_tax,
        tax_doc.type as tax_type,
        tax_doc.jurisdiction as jurisdiction,
        tax_doc.jurisdictionType as jurisdiction_type,
        _dlt_load_id
    from unioned

)

select * from final
