with service_charges as (

    select * from {{ source('toast', 'config_records') }}
    where entity = 'serviceCharges'

),

final as (

    select
        restaurant_guid,
        guid as service_charge_guid,
        name,
        record_json ->> 'amountType' as charge_type,
        {{ money("record_json->>'amount'") }} as amount,
        {{ rate_decimal("record_json->>'percent'") }} as percent,
        coalesce(cast(record_json ->> 'gratuity' as boolean), false) as gratuity,
        coalesce(cast(record_json ->> 'taxable' as boolean), false) as taxable,
        record_json ->> 'serviceChargeCategory' as service_charge_category,
        record_json ->> 'serviceChargeCalculation' as service_charge_calculation,
        record_json ->> 'destination' as destination,
        coalesce(cast(record_json ->> 'taxInclusive' as boolean), false) as tax_inclusive,
        coalesce(cast(record_json ->> '$.criteria.dineIn' as boolean), false) as applies_to_dine_in,
        coalesce(cast(record_json ->> '$.criteria.takeout' as boolean), false)
            as applies_to_takeout,
        coalesce(cast(record_json ->> '$.criteria.delivery' as boolean), false)
            as applies_to_delivery,
        extracted_at,
        _dlt_load_id
    from service_charges

)

select * from final
