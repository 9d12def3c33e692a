with sales_categories as (

    select * from {{ source('toast', 'config_records') }}
    where entity = 'salesCategories'

),

final as (

    select
        restaurant_guid,
        guid as sales_category_guid,
        name,
        extracted_at,
        _dlt_load_id
    from sales_categories

)

select * from final
