with revenue_centers as (

    select * from {{ source('toast', 'config_records') }}
    where entity = 'revenueCenters'

),

final as (

    select
        restaurant_guid,
        guid as revenue_center_guid,
        name,
        record_json ->> 'description' as description,
        extracted_at,
        _dlt_load_id
    from revenue_centers

)

select * from final
