with tax_rates as (

    select * from {{ source('toast', 'config_records') }}
    where entity = 'taxRates'

),

final as (

    select
        restaurant_guid,
        guid as tax_rate_guid,
        name,
        {{ rate_decimal("record_json->>'rate'") }} as rate,
        record_json ->> 'type' as tax_type,
        record_json ->> 'roundingType' as rounding_type,
        coalesce(cast(record_json ->> 'isDefault' as boolean), false) as is_default,
        extracted_at,
        _dlt_load_id
    from tax_rates

)

select * from final
