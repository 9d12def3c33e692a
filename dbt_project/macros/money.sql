{#
    The one place a Toast amount becomes a number.

    `expr` must be the JSON text of the number (`doc->>'amount'`, or a VARCHAR field of a
    `from_json` structure, which DuckDB fills with the same text): text is cast straight to
    DECIMAL(18,2), so no float arithmetic ever touches an amount. The loader rejects orders
    holding a number with more than 15 significant digits, the most DuckDB's JSON reader keeps
    exactly.
#}
{% macro money(expr) -%}
    cast({{ expr }} as decimal(18, 2))
{%- endmacro %}

{#
    An amount Toast sends with more than two decimals that must be summed before it is rounded
    (per-rate `appliedTaxes[].taxAmount` 0.075 / 0.625 on a 0.70 selection tax): the same text
    cast, to DECIMAL(38,12), which holds every digit the loader lets through.
#}
{% macro money_exact(expr) -%}
    cast({{ expr }} as decimal(38, 12))
{%- endmacro %}

{# A rate (tax rate 0.04875, discount percent 15): text cast to DECIMAL(18,6). #}
{% macro rate_decimal(expr) -%}
    cast({{ expr }} as decimal(18, 6))
{%- endmacro %}

{# A quantity or a number of hours (1, 0.5 lb, 7.17 h): text cast to DECIMAL(18,4). #}
{% macro quantity_decimal(expr) -%}
    cast({{ expr }} as decimal(18, 4))
{%- endmacro %}
