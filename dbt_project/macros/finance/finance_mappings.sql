{#
    Resolving a Toast thing (a sales category, a tender, a job...) against its mapping seed, the
    same way for every seed (seeds/_seeds.yml, "Matching rules"):
      * a row for the location wins over a '*' row;
      * a row with a guid matches that guid only and wins over any name match; otherwise a row
        matches by name, and a name of '*' matches every name;
      * a row whose value is empty maps nothing.
    finance_mapping_matches() is the join condition (which seed rows are candidates),
    finance_mapping_pick() the ranking (which candidate wins), and
    finance_mappings_resolved() checks the winner against the chart of accounts and says what
    to fix when there is none. Used by the int_<kind>_mappings_resolved models.
#}

{#
    Join condition: the rows of the mapping seed `seed` (a relation or CTE name) that may map a
    row of `source`. `seed_pin` / `source_pin` are the guid expressions (a seed row with a guid
    matches that guid only), `seed_name` / `source_name` the name expressions (a seed row
    without a guid matches the source's name, or every name with '*'). With
    star_needs_pin=true a '*' name matches only sources that have a guid (the "no sales
    category" row is matched by name only).
#}
{% macro finance_mapping_matches(seed, source, seed_pin, source_pin, seed_name, source_name,
        star_needs_pin=false) -%}
    {{ seed }}.restaurant_guid in ({{ source }}.restaurant_guid, '*')
        and case
            when {{ seed_pin }} is not null
                then {{ seed_pin }} = {{ source_pin }}
            {%- if star_needs_pin %}
            else {{ seed_name }} = {{ source_name }}
                or ({{ seed_name }} = '*' and {{ source_pin }} is not null)
            {%- else %}
            else {{ seed_name }} in ({{ source_name }}, '*')
            {%- endif %}
        end
{%- endmacro %}

{#
    Aggregate: the winning non-empty `value` (a column of `seed`) among the candidate seed rows
    of a group (one group per Toast thing). A guid pin (`pin`, a column of `seed`) beats a name
    row, then a location's row beats a '*' row, then each expression of `narrower` (true for
    the more specific row: a named row over '*', a card type over '*') in the order given.
#}
{% macro finance_mapping_pick(seed, value, pin=none, narrower=[]) -%}
    first({{ seed }}.{{ value }} order by
        {%- if pin %}
        ({{ seed }}.{{ pin }} is not null) desc,
        {%- endif %}
        ({{ seed }}.restaurant_guid <> '*') desc
        {%- for expression in narrower %},
        ({{ expression }}) desc
        {%- endfor %})
        filter (where {{ seed }}.{{ value }} is not null)
{%- endmacro %}

{#
    The resolved mappings of one kind, from `mappings` (a CTE with one row per location and
    Toast thing: restaurant_guid, mapping_kind, source_kind, source_key, source_guid,
    source_name, subject, seed_file, mapped_value, suggested_row, fallback_role,
    is_seen_in_orders). Given `chart_of_accounts`, the mapped values are accounts and must be
    active rows of it; without it they are a dimension value or an ERP company, taken as
    given. What does not resolve says why, which seed file to fix and the CSV row to add.
#}
{% macro finance_mappings_resolved(mappings, chart_of_accounts=none) -%}
    {%- set is_account = chart_of_accounts is not none %}
    select
        checked.restaurant_guid,
        checked.mapping_kind,
        checked.source_kind,
        checked.source_key,
        checked.source_guid,
        checked.source_name,
        checked.seed_file,
        checked.mapped_value,
        case when checked.is_account and checked.is_account_active then checked.mapped_value end
            as account_code,
        case when checked.is_account and checked.is_account_active then checked.account_name end
            as account_name,
        case when checked.is_account and checked.is_account_active then checked.account_type end
            as account_type,
        case when not checked.is_account then checked.mapped_value end as dimension_value,
        checked.mapped_value is not null
            and (not checked.is_account or checked.is_account_active) as is_mapped,
        case
            when checked.mapped_value is null
                then 'unmapped: no ' || checked.subject || ': add a row to seeds/'
                    || checked.seed_file || ': ' || checked.suggested_row
            when checked.is_account and not checked.is_in_chart
                then 'unmapped: ' || checked.subject || ' is ' || checked.mapped_value
                    || ', which is not in seeds/chart_of_accounts.csv: add it there or correct '
                    || 'seeds/' || checked.seed_file
            when checked.is_account and not checked.is_account_active
                then 'unmapped: ' || checked.subject || ' is ' || checked.mapped_value
                    || ', which is inactive in seeds/chart_of_accounts.csv: activate it or '
                    || 'correct seeds/' || checked.seed_file
        end as unmapped_reason,
        case
            when checked.mapped_value is null then checked.seed_file
            when checked.is_account and not checked.is_in_chart then 'chart_of_accounts.csv'
            when checked.is_account and not checked.is_account_active
                then 'chart_of_accounts.csv'
        end as fix_seed_file,
        case
            when checked.mapped_value is null then checked.suggested_row
            when checked.is_account and not checked.is_in_chart
                then {{ finance_csv_row(["checked.mapped_value", "''", "''", "'false'"]) }}
        end as suggested_row,
        checked.fallback_role,
        checked.is_seen_in_orders
    from (
        select
            {{ mappings }}.*,
            {{ 'true' if is_account else 'false' }} as is_account,
            {%- if is_account %}
            {{ chart_of_accounts }}.account_code is not null as is_in_chart,
            coalesce({{ chart_of_accounts }}.is_active, false) as is_account_active,
            {{ chart_of_accounts }}.account_name,
            {{ chart_of_accounts }}.account_type
        from {{ mappings }}
        left join {{ chart_of_accounts }}
            on {{ mappings }}.mapped_value = {{ chart_of_accounts }}.account_code
            {%- else %}
            false as is_in_chart,
            false as is_account_active,
            cast(null as varchar) as account_name,
            cast(null as varchar) as account_type
        from {{ mappings }}
            {%- endif %}
    ) as checked
{%- endmacro %}

{#
    Every location the mappings cover: the Toast restaurants (`restaurants`,
    stg_toast__restaurants) and any location the journal legs name (`legs`,
    int_leg_sources_deduplicated), with its name and currency where Toast gave them.
#}
{% macro finance_mapped_locations(restaurants, legs) -%}
    select
        restaurant_guid,
        any_value(name) as name,
        any_value(currency) as currency
    from (
        select restaurant_guid, name, currency from {{ restaurants }}
        union all
        select distinct restaurant_guid, null, null from {{ legs }}
    )
    group by restaurant_guid
{%- endmacro %}
