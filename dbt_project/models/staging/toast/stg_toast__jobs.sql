with jobs as (

    select * from {{ source('toast', 'config_records') }}
    where entity = 'jobs'

),

final as (

    select
        restaurant_guid,
        guid as job_guid,
        coalesce(record_json ->> 'title', name) as title,
        record_json ->> 'code' as code,
        record_json ->> 'wageFrequency' as wage_frequency,
        {{ rate_decimal("record_json->>'defaultWage'") }} as default_wage,
        coalesce(cast(record_json ->> 'tipped' as boolean), false) as tipped,
        coalesce(cast(record_json ->> 'deleted' as boolean), false) as deleted,
        coalesce(cast(record_json ->> 'excludeFromReporting' as boolean), false)
            as exclude_from_reporting,
        extracted_at,
        _dlt_load_id
    from jobs

)

select * from final
