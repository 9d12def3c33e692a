{#
    Each raw order document parsed once, into a typed STRUCT (`order_doc`), so the staging
    models unnest checks, selections, discounts, service charges, taxes and payments without
    parsing JSON again. Numbers stay text in the struct (see macros/toast_order_structure.sql);
    the stg_ models cast them with money().

    Incremental: an incremental run reads only raw orders loaded after the latest one here.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['restaurant_guid', 'order_guid'],
    on_schema_change='fail',
) }}

{%- set raw_orders = source('toast', 'orders') %}

with orders as (

    select
        restaurant_guid,
        order_guid,
        business_date,
        extracted_at,
        {{ toast_raw_order_load_id(raw_orders) }} as _dlt_load_id,
        order_json
    from {{ raw_orders }}
    {% if is_incremental() -%}
    where {{ toast_raw_orders_after(raw_orders, toast_order_watermark()) }}
    {%- endif %}

),

parsed as (

    select
        restaurant_guid,
        order_guid,
        business_date as order_business_date,
        extracted_at,
        _dlt_load_id,
        from_json(order_json, '{{ toast_order_structure() }}') as order_doc
    from orders

),

final as (

    select
        restaurant_guid,
        order_guid,
        order_business_date,
        order_doc.revenueCenter.guid as revenue_center_guid,
        extracted_at,
        _dlt_load_id,
        order_doc
    from parsed

)

select * from final
