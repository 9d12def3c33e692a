with dining_options as (

    select * from {{ source('toast', 'config_records') }}
    where entity = 'diningOptions'

),

final as (

    select
        restaurant_guid,
        guid as dining_option_guid,
        name,
        record_json ->> 'behavior' as behavior,
        coalesce(cast(record_json ->> 'curbside' as boolean), false) as curbside,
        extracted_at,
        _dlt_load_id
    from dining_options

)

select * from final
