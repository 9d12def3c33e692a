with alternate_payment_types as (

    select * from {{ source('toast', 'config_records') }}
    where entity = 'alternatePaymentTypes'

),

final as (

    select
        restaurant_guid,
        guid as alternate_payment_type_guid,
        name,
        extracted_at,
        _dlt_load_id
    from alternate_payment_types

)

select * from final
