with discounts as (

    select * from {{ source('toast', 'config_records') }}
    where entity = 'discounts'

),

final as (

    select
        restaurant_guid,
        guid as discount_guid,
        name,
        coalesce(cast(record_json ->> 'active' as boolean), false) as active,
        record_json ->> 'type' as discount_type,
        {{ rate_decimal("record_json->>'percentage'") }} as discount_percent,
        {{ money("record_json->>'amount'") }} as amount,
        {{ money("record_json->>'fixedTotal'") }} as fixed_total,
        record_json ->> 'selectionType' as selection_type,
        coalesce(cast(record_json ->> 'nonExclusive' as boolean), false) as non_exclusive,
        extracted_at,
        _dlt_load_id
    from discounts

)

select * from final
