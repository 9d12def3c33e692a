{#
    Which (restaurant_guid, business_date) days a finance model rebuilds.

    stg_toast__changed_days lists every business date a load touched (the order's date and any
    paid, refund or void date). A full build takes every day; an incremental run takes the days
    touched by a load newer than the newest one the model already holds (`_dlt_load_id` on each
    of its rows, including the `_built` marker row every rebuilt day gets, so a day whose
    documents all disappeared is still deleted and rewritten empty).

    dlt load ids are epoch seconds as text ("1795309415.343742"): ten integer digits until
    2286, so text order is time order. `changed_days` is the stg_toast__changed_days relation
    (the model writes the ref: finance_days_to_build(ref('stg_toast__changed_days'))).
#}
{% macro finance_days_to_build(changed_days) -%}
    select
        restaurant_guid,
        business_date,
        max(_dlt_load_id) as _dlt_load_id
    from {{ changed_days }}
    where business_date is not null
    {%- if is_incremental() %}
        and _dlt_load_id > (select coalesce(max(_dlt_load_id), '') from {{ this }})
    {%- endif %}
    group by restaurant_guid, business_date
{%- endmacro %}


{#
    `column` >= the earliest of the days finance_days_to_build(changed_days) takes, written as
    a constant: the inner join with the days picks the rows, and the constant lets DuckDB skip,
    by their min/max, the row groups of older days without reading them (a join alone reads
    every row of a per-order table). `true` on a full build; no row when no day changed.
#}
{% macro finance_on_or_after_first_day(column, changed_days) -%}
    {%- if not execute or not is_incremental() -%}
    true
    {%- else -%}
    {%- set first_day = run_query(
        "select min(business_date) from (" ~ finance_days_to_build(changed_days) ~ ")"
    ).columns[0].values()[0] -%}
    {%- if first_day is none -%}
    false
    {%- else -%}
    {{ column }} >= date '{{ first_day }}'
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#
    The marker row each rebuilt day gets in a per-day legs model (int_order_legs_summed,
    int_taxes_journaled; line_kind '_built', no amount): with
    delete+insert on (restaurant_guid, business_date) it makes sure the day's old rows are
    deleted even when the day now has no legs. Downstream models drop it.
#}
{% macro finance_built_marker(days_cte) -%}
    select
        restaurant_guid,
        business_date,
        '_built' as line_kind,
        cast(null as varchar) as entry_side,
        cast(null as varchar) as entry_source,
        cast(null as varchar) as account_source,
        cast(null as varchar) as account_role,
        cast(null as varchar) as revenue_center_guid,
        cast(null as varchar) as sales_category_guid,
        cast(null as varchar) as discount_guid,
        cast(null as varchar) as service_charge_guid,
        cast(null as varchar) as service_charge_category,
        cast(null as varchar) as tax_rate_guid,
        cast(null as varchar) as payment_type,
        cast(null as varchar) as card_type,
        cast(null as varchar) as other_payment_guid,
        cast(null as varchar) as source_name,
        {{ money('0') }} as debit,
        {{ money('0') }} as credit,
        cast(0 as bigint) as document_count,
        _dlt_load_id
    from {{ days_cte }}
{%- endmacro %}


{#
    The config of every model summed per business day (int_order_legs_summed,
    int_taxes_journaled): rebuilt per day.
    Usage, first line of the model: {{ config(**finance_leg_model_config()) }}
#}
{% macro finance_leg_model_config() -%}
    {{ return({
        "materialized": "incremental",
        "incremental_strategy": "delete+insert",
        "unique_key": ["restaurant_guid", "business_date"],
        "on_schema_change": "fail",
    }) }}
{%- endmacro %}


{#
    Sum an order leg model's per-document legs (CTE `legs_cte`, one row per document and side
    with a signed `amount`, finance_leg_columns) to one row per order, business day and journal
    key. The order leg models (int_sales_journaled and the others but taxes) are kept per order
    like the staging models, so a night computes only the orders it loaded; int_order_legs_summed
    then sums these rows per day, which a refund of a month-old order does not make expensive.
    Amounts keep their sign here (a negative cash rounding stays a negative credit);
    journal_lines puts every line on the side that makes it positive.
#}
{% macro finance_sum_order_legs(legs_cte) -%}
    select
        restaurant_guid,
        order_guid,
        business_date,
        line_kind,
        entry_side,
        entry_source,
        account_source,
        account_role,
        revenue_center_guid,
        sales_category_guid,
        discount_guid,
        service_charge_guid,
        service_charge_category,
        tax_rate_guid,
        payment_type,
        card_type,
        other_payment_guid,
        max(source_name) as source_name,
        {{ money("sum(case when entry_side = 'debit' then amount else 0 end)") }} as debit,
        {{ money("sum(case when entry_side = 'credit' then amount else 0 end)") }} as credit,
        count(*) as document_count,
        _dlt_load_id
    from {{ legs_cte }}
    where amount is not null
    group by all   -- every column above but the aggregates
{%- endmacro %}


{#
    Sum a per-day model's legs (int_taxes_journaled's: CTE `legs_cte`, finance_leg_columns
    with order_guid=none, a signed `amount` and the `document_count` each leg stands for) to one
    row per day and journal key, keep only the days being built and add each day's `_built`
    marker. Amounts keep their sign here (a negative cash rounding stays a
    negative credit); journal_lines puts every line on the side that makes it positive.
#}
{% macro finance_aggregate_legs(legs_cte, days_cte) -%}
    select
        legs.restaurant_guid,
        legs.business_date,
        legs.line_kind,
        legs.entry_side,
        legs.entry_source,
        legs.account_source,
        legs.account_role,
        legs.revenue_center_guid,
        legs.sales_category_guid,
        legs.discount_guid,
        legs.service_charge_guid,
        legs.service_charge_category,
        legs.tax_rate_guid,
        legs.payment_type,
        legs.card_type,
        legs.other_payment_guid,
        max(legs.source_name) as source_name,
        {{ money("sum(case when legs.entry_side = 'debit' then legs.amount else 0 end)") }} as debit,
        {{ money("sum(case when legs.entry_side = 'credit' then legs.amount else 0 end)") }} as credit,
        cast(sum(legs.document_count) as bigint) as document_count,
        days._dlt_load_id
    from {{ legs_cte }} as legs
    inner join {{ days_cte }} as days
        on legs.restaurant_guid = days.restaurant_guid
        and legs.business_date = days.business_date
    where legs.amount is not null
    group by all   -- every column above but the aggregates

    union all

    {{ finance_built_marker(days_cte) }}
{%- endmacro %}


{#
    The select list of one leg (one document, one side) in the shape finance_sum_order_legs
    expects, with its order (order_guid, _dlt_load_id), or in the shape finance_aggregate_legs
    expects with order_guid=none. Every argument is a SQL expression; what is not given is null.
#}
{% macro finance_leg_columns(line_kind, entry_side, entry_source, account_source, amount,
        account_role=none, revenue_center_guid=none, sales_category_guid=none,
        discount_guid=none, service_charge_guid=none, service_charge_category=none,
        tax_rate_guid=none, payment_type=none, card_type=none, other_payment_guid=none,
        source_name=none, restaurant_guid='restaurant_guid', business_date='business_date',
        order_guid='order_guid', load_id='_dlt_load_id') -%}
        {{ restaurant_guid }} as restaurant_guid,
        {%- if order_guid %}
        {{ order_guid }} as order_guid,
        {{ load_id }} as _dlt_load_id,
        {%- endif %}
        cast({{ business_date }} as date) as business_date,
        cast({{ line_kind }} as varchar) as line_kind,
        cast({{ entry_side }} as varchar) as entry_side,
        cast({{ entry_source }} as varchar) as entry_source,
        cast({{ account_source }} as varchar) as account_source,
        cast({{ account_role or 'null' }} as varchar) as account_role,
        cast({{ revenue_center_guid or 'null' }} as varchar) as revenue_center_guid,
        cast({{ sales_category_guid or 'null' }} as varchar) as sales_category_guid,
        cast({{ discount_guid or 'null' }} as varchar) as discount_guid,
        cast({{ service_charge_guid or 'null' }} as varchar) as service_charge_guid,
        cast({{ service_charge_category or 'null' }} as varchar) as service_charge_category,
        cast({{ tax_rate_guid or 'null' }} as varchar) as tax_rate_guid,
        cast({{ payment_type or 'null' }} as varchar) as payment_type,
        cast({{ card_type or 'null' }} as varchar) as card_type,
        cast({{ other_payment_guid or 'null' }} as varchar) as other_payment_guid,
        cast({{ source_name or 'null' }} as varchar) as source_name,
        {{ money(amount) }} as amount
{%- endmacro %}
