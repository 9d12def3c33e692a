with restaurants as (

    select * from {{ source('toast', 'restaurants') }}

),

final as (

    select
        restaurant_guid,
        name,
        location_name,
        record_json ->> '$.general.locationCode' as location_code,
        time_zone,
        cast(closeout_hour as integer) as closeout_hour,
        currency,
        management_group_guid,
        {{ toast_date("record_json->>'$.general.firstBusinessDate'") }} as first_business_date,
        coalesce(cast(record_json ->> '$.general.archived' as boolean), false) as archived,
        extracted_at,
        _dlt_load_id
    from restaurants

)

select * from final
