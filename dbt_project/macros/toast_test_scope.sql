{#
    Tests on the staging models check the rows loaded recently, not all of history, so a
    night's `dbt build` costs the same after a year as after a week.

    A test whose `where` config holds `__toast_recent_loads__` (dbt_project.yml sets it for
    every test under models/staging) sees only the rows whose `_dlt_load_id` is within the last
    `toast_test_days` days (var, default 3: a nightly run and two missed ones). Rows a run did
    not rewrite were tested when they were written. After a --full-refresh, or to audit
    everything: `dbt test --select staging --vars '{toast_test_days: 0}'` (0 = all rows).
    Relations without `_dlt_load_id` are tested whole.

    Overrides dbt's get_where_subquery (the documented way to give `where` custom logic); the
    behaviour for any other `where` is dbt's own.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- if '__toast_recent_loads__' in where -%}
            {%- set where = where | replace('__toast_recent_loads__', toast_recent_loads_filter(relation)) -%}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{# The first load id of the test window, as a SQL literal; none when every row is tested. #}
{% macro toast_recent_load_id() -%}
    {%- set days = var('toast_test_days', 3) | float -%}
    {%- if days <= 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set since = modules.datetime.datetime.now(modules.pytz.utc)
        - modules.datetime.timedelta(days=days) -%}
    {{ return("'" ~ ('%.6f' | format(since.timestamp())) ~ "'") }}
{%- endmacro %}

{# A filter on `_dlt_load_id` for the test window (`1 = 1` when it does not apply). #}
{% macro toast_recent_loads_filter(relation=none, column='_dlt_load_id') -%}
    {%- set since = toast_recent_load_id() -%}
    {%- if since is none -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {%- if relation is not none and execute -%}
        {%- set columns = adapter.get_columns_in_relation(relation)
            | map(attribute='name') | map('lower') | list -%}
        {%- if column not in columns -%}
            {{ return('1 = 1') }}
        {%- endif -%}
    {%- endif -%}
    {{ return(column ~ ' >= ' ~ since) }}
{%- endmacro %}
