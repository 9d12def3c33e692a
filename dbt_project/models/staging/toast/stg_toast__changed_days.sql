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

{#
    Every date is gathered inside the order's own row. Unnesting checks, selections and
    payments as whole structs carried each of them through the query, and a 2.7 M-order first
    build spilled until the disk was full.
#}
touched as (

    select
        restaurant_guid,
        order_guid,
        _dlt_load_id,
        unnest(list_distinct(list_prepend(
            order_business_date,
            list_transform(
                flatten([
                    [order_doc.voidBusinessDate],
                    flatten(list_transform(order_doc.checks, lambda check_doc: flatten([
                        [check_doc.voidBusinessDate],
                        list_transform(
                            check_doc.selections,
                            lambda selection_doc: selection_doc.voidBusinessDate
                        ),
                        flatten(list_transform(check_doc.payments, lambda payment_doc: [
                            payment_doc.paidBusinessDate,
                            payment_doc.voidInfo.voidBusinessDate,
                            payment_doc.refund.refundBusinessDate
                        ]))
                    ])))
                ]),
                lambda toast_business_date: {{ toast_date('toast_business_date') }}
            )
        ))) as business_date
    from orders

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

    {# list_distinct left one row per (order, date) and drops the dates Toast left empty #}
    select
        restaurant_guid,
        order_guid,
        business_date,
        _dlt_load_id
    from touched
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
