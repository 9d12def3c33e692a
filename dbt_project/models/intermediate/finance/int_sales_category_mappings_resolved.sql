{{ config(materialized='view') }}

-- Revenue and discount account per location and sales category (sales_category_accounts.csv),
-- for every category the journal legs used (sales and discounts) or Toast's configuration
-- holds. Legs without a category are the '(none)' category: matched by name only (a '*' row
-- does not catch them) and posted to the default_revenue / default_discount role when unmapped.
-- One row per location, category and purpose (mapping_kind sales_category_revenue,
-- sales_category_discount); unioned in int_account_mappings_resolved.

with

leg_sources as (
    select * from {{ ref('int_leg_sources_deduplicated') }}
),

toast_sales_categories as (
    select * from {{ ref('stg_toast__sales_categories') }}
),

sales_category_accounts as (
    select * from {{ ref('sales_category_accounts') }}
),

chart_of_accounts as (
    select * from {{ ref('chart_of_accounts') }}
),

config_sales_categories as (
    select
        restaurant_guid,
        sales_category_guid,
        any_value(name) as name
    from toast_sales_categories
    group by all
),

category_sources as (
    select
        restaurant_guid,
        sales_category_guid,
        bool_or(is_seen_in_orders) as is_seen_in_orders
    from (
        select restaurant_guid, sales_category_guid, true as is_seen_in_orders
        from leg_sources
        where account_source in ('sales_category', 'discount')
        union all
        select restaurant_guid, sales_category_guid, false as is_seen_in_orders
        from config_sales_categories
    ) as sources
    group by restaurant_guid, sales_category_guid
),

categories as (
    select
        category_sources.restaurant_guid,
        category_sources.sales_category_guid,
        case
            when category_sources.sales_category_guid is null then '(none)'
            else coalesce(config_sales_categories.name, category_sources.sales_category_guid)
        end as name,
        category_sources.is_seen_in_orders
    from category_sources
    left join config_sales_categories
        on category_sources.restaurant_guid = config_sales_categories.restaurant_guid
        and category_sources.sales_category_guid = config_sales_categories.sales_category_guid
),

category_matches as (
    select
        categories.restaurant_guid,
        categories.sales_category_guid,
        {%- for purpose in ['revenue', 'discount'] %}
        {{ finance_mapping_pick(
            'sales_category_accounts', purpose ~ '_account', pin='sales_category_guid',
            narrower=["sales_category_accounts.sales_category_name <> '*'"]) }}
            as {{ purpose }}_account{{ ',' if not loop.last }}
        {%- endfor %}
    from categories
    inner join sales_category_accounts
        on {{ finance_mapping_matches(
            'sales_category_accounts', 'categories',
            seed_pin='sales_category_accounts.sales_category_guid',
            source_pin='categories.sales_category_guid',
            seed_name='sales_category_accounts.sales_category_name',
            source_name='categories.name',
            star_needs_pin=true) }}
    group by categories.restaurant_guid, categories.sales_category_guid
),

mappings as (
    {%- for purpose in ['revenue', 'discount'] %}
    select
        categories.restaurant_guid,
        'sales_category_{{ purpose }}' as mapping_kind,
        'sales_category' as source_kind,
        coalesce(categories.sales_category_guid, '(none)') as source_key,
        categories.sales_category_guid as source_guid,
        categories.name as source_name,
        '{{ purpose }} account for sales category ''' || categories.name || '''' as subject,
        'sales_category_accounts.csv' as seed_file,
        category_matches.{{ purpose }}_account as mapped_value,
        {{ finance_csv_row(["'*'", "categories.name", "''", "''", "''"]) }} as suggested_row,
        'default_{{ purpose }}' as fallback_role,
        categories.is_seen_in_orders
    from categories
    left join category_matches
        on categories.restaurant_guid = category_matches.restaurant_guid
        and categories.sales_category_guid
            is not distinct from category_matches.sales_category_guid
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

final as (
    {{ finance_mappings_resolved('mappings', 'chart_of_accounts') }}
)

select * from final
