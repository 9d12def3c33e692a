{#
    Toast business dates are yyyymmdd: an int on orders, payments, voids and refunds, a string
    on labor time entries. `expr` is that value as text; null or not a date gives null (the
    staging tests say where a date is required).
#}
{% macro toast_date(expr) -%}
    cast(try_strptime(cast({{ expr }} as varchar), '%Y%m%d') as date)
{%- endmacro %}

{#
    Toast timestamps ("2026-11-19T01:42:31.312+0000") as TIMESTAMPTZ (an instant; shown in UTC
    by the closeout profile). Toast writes the Unix epoch as `deletedDate` of rows that are not
    deleted: pass placeholder_epoch=true to turn that into null.
#}
{% macro toast_timestamp(expr, placeholder_epoch=false) -%}
    {%- if placeholder_epoch -%}
    nullif(try_cast({{ expr }} as timestamptz), timestamptz '1970-01-01 00:00:00+00')
    {%- else -%}
    try_cast({{ expr }} as timestamptz)
    {%- endif -%}
{%- endmacro %}
