{#
    Rows of one seed that match the same thing but say different things: the resolution
    (finance_mapping_pick) would settle them silently, by row order, so tests/
    assert_mapping_rows_do_not_conflict.sql fails the build on them instead. One row per
    conflict, with a `message` naming the file, the rows (numbered as in Excel: the header is
    row 1; seeds load in file order, and transform/seed_check.py refuses empty lines that
    would shift the numbers) and the differing values.

      seed       the seed relation (ref('...'))
      seed_file  its file name, for the message
      match_key  SQL expressions over the seed's columns that together say what a row matches
                 (restaurant_guid, the guid when there is one else the name...); a row with a
                 null part matches nothing and cannot conflict
      subject    SQL expression naming what the rows map, for the message ("sales category
                 'Food' for *")
      targets    the columns a row maps to. An empty value maps nothing (the other row's value
                 wins), so only differing non-empty values conflict; identical rows do not.
#}
{% macro finance_seed_conflicts(seed, seed_file, match_key, subject, targets) -%}
    select * from (
    with

    numbered as (
        select
            *,
            row_number() over (order by rowid) + 1 as csv_row
        from {{ seed }}
    ),

    keyed as (
        select
            [{{ match_key | join(', ') }}]::varchar[] as match_key,
            {{ subject }} as subject,
            csv_row,
            {%- for target in targets %}
            cast({{ target }} as varchar) as {{ target }}{{ ',' if not loop.last }}
            {%- endfor %}
        from numbered
        where {% for part in match_key -%}
            ({{ part }}) is not null{{ ' and ' if not loop.last }}
        {%- endfor %}
    ),

    target_values as (
        {%- for target in targets %}
        select
            match_key,
            {{ loop.index }} as target_order,
            '{{ target }}' as target_column,
            {{ target }} as target_value,
            min(csv_row) as first_row
        from keyed
        where {{ target }} is not null
        group by match_key, {{ target }}
        {{ 'union all' if not loop.last }}
        {%- endfor %}
    ),

    differing_columns as (
        select
            match_key,
            target_order,
            target_column || ' ' || string_agg(target_value, ' vs ' order by first_row)
                as difference
        from target_values
        group by match_key, target_order, target_column
        having count(*) > 1
    ),

    differences as (
        select
            match_key,
            string_agg(difference, '; ' order by target_order) as differences
        from differing_columns
        group by match_key
    ),

    rows_per_key as (
        select
            match_key,
            any_value(subject) as subject,
            list(csv_row order by csv_row) as csv_rows
        from keyed
        group by match_key
    )

    select
        '{{ seed_file }}' as seed_file,
        rows_per_key.csv_rows,
        '{{ seed_file }}: rows '
        || case
            when len(rows_per_key.csv_rows) = 2
                then rows_per_key.csv_rows[1] || ' and ' || rows_per_key.csv_rows[2] || ' both'
            else array_to_string(rows_per_key.csv_rows[1:-2], ', ')
                || ' and ' || rows_per_key.csv_rows[-1] || ' all'
        end
        || ' map ' || rows_per_key.subject || ' (' || differences.differences || '): keep one'
            as message
    from differences
    inner join rows_per_key
        on differences.match_key = rows_per_key.match_key
    )
{%- endmacro %}

{#
    A mapping seed row's match key part for "a guid row matches that guid only, else the name":
    the guid when there is one, else the name (null when both are empty: the row matches
    nothing).
#}
{% macro finance_seed_pin_or_name(guid, name) -%}
    coalesce('guid ' || {{ guid }}, 'name ' || {{ name }})
{%- endmacro %}

{#
    The message's words for what such a row maps: "<kind> 'Name'" or "<kind> guid 'abc'", then
    " for " and the row's restaurant_guid ('*' for every location).
#}
{% macro finance_seed_subject(kind, guid, name, restaurant='restaurant_guid') -%}
    '{{ kind }} ' || case
        when {{ guid }} is not null then 'guid ''' || {{ guid }} || ''''
        else '''' || {{ name }} || ''''
    end || ' for ' || {{ restaurant }}
{%- endmacro %}
