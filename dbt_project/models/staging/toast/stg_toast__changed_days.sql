{#
    Which business dates each order touches, for rebuilding only the days a load changed.

    One row per (restaurant_guid, order_guid, business_date): the order's business date and
    every date its payments were paid, refunded or voided, and its order, checks or selections
    were voided on. When an order is re-read, its rows are replaced and carry the new load's
    `_dlt_load_id`, and the dates of its previous version are kept: a payment moved or
    voided away from a day changes that day too.

    Days changed since load X:
        select distinct restaurant_guid, business_date
        from stg_toast__changed_days where _dlt_load_id > X
#}
{{ config(
    post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
    **toast_order_model_config(reloaded_orders_deleted=false),
) }}

with orders as (

    {{ toast_order_rows(ref('base_toast__orders')) }}

),

checks as (

    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        unnest(order_doc.checks) as check_doc
    from orders

),

payments as (

    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        unnest(check_doc.payments) as payment_doc
    from checks

),

selections as (

    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        unnest(check_doc.selections) as selection_doc
    from checks

),

touched as (

    select restaurant_guid, order_guid, _dlt_load_id,
        order_business_date as business_date
    from orders
    union all
    select restaurant_guid, order_guid, _dlt_load_id,
        {{ toast_date('order_doc.voidBusinessDate') }}
    from orders
    union all
    select restaurant_guid, order_guid, _dlt_load_id,
        {{ toast_date('check_doc.voidBusinessDate') }}
    from checks
    union all
    select restaurant_guid, order_guid, _dlt_load_id,
        {{ toast_date('selection_doc.voidBusinessDate') }}
    from selections
    union all
    select restaurant_guid, order_guid, _dlt_load_id,
        {{ toast_date('payment_doc.paidBusinessDate') }}
    from payments
    union all
    select restaurant_guid, order_guid, _dlt_load_id,
        {{ toast_date('payment_doc.voidInfo.voidBusinessDate') }}
    from payments
    union all
    select restaurant_guid, order_guid, _dlt_load_id,
        {{ toast_date('payment_doc.refund.refundBusinessDate') }}
    from payments

),

{% if is_incremental() %}
previously_touched as (

    select
        existing.restaurant_guid,
        existing.order_guid,
        orders._dlt_load_id,
        existing.business_date
    from {{ this }} as existing
    inner join orders
        on existing.restaurant_guid = orders.restaurant_guid
        and existing.order_guid = orders.order_guid

),

{% endif %}
final as (

    select distinct
        restaurant_guid,
        order_guid,
        business_date,
        _dlt_load_id
    from touched
    where business_date is not null
    {% if is_incremental() %}
    union
    select
        restaurant_guid,
        order_guid,
        business_date,
        _dlt_load_id
    from previously_touched
    {% endif %}

)

select * from final
