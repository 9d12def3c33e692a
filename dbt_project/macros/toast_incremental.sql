{#
    Incremental processing of Toast orders.

    Every order-derived staging model is incremental (delete+insert on restaurant_guid,
    order_guid) and, on an incremental run, reads only the orders loaded since it last ran:
    rows of base_toast__orders whose `_dlt_load_id` (a dlt load id: a Unix timestamp as text, so
    it sorts as text) is greater than the model's watermark. A night's build therefore costs
    what that night's orders cost, however long the history.

    The watermark is the greater of
      * `max(_dlt_load_id)` of the model's own rows, and
      * the load id recorded for the model after its previous run (post-hook), in
        <staging>.toast__incremental_watermarks.
    The recorded value matters for sparse models (refunds, discounts, service charges): a night
    with no refund must still move stg_toast__refunds past that night's orders, or the next run
    would re-read them, and a location that never refunds would re-read all of history nightly.

    Re-read orders are first deleted from the model (pre-hook), then their rows re-inserted: an
    order whose new version has no row in a model (its only discount removed, its refund undone)
    loses its old rows too, which delete+insert alone would keep, since it deletes only the keys
    present in the new rows. The pre-hook and the model's SQL both read the watermark before
    anything is deleted, so they agree on the batch.

    A new column in one of these models needs `dbt build --full-refresh` of it
    (on_schema_change: fail), so old rows are never left with nulls that mean "unknown".
#}

{% macro toast_watermark_relation() -%}
    {{ return(api.Relation.create(
        database=target.database,
        schema=generate_schema_name('staging', none) | trim,
        identifier=var('toast_watermark_table'),
        type='table')) }}
{%- endmacro %}

{# on-run-start: the watermark table (and its schema) exist before any model reads them. #}
{% macro toast_create_watermark_table() -%}
    {%- set relation = toast_watermark_relation() -%}
    create schema if not exists {{ adapter.quote(relation.database) }}.{{ adapter.quote(relation.schema) }};
    create table if not exists {{ relation }} (
        model_name varchar primary key,
        load_id varchar not null,
        recorded_at timestamptz not null
    );
    {#- journal_lines also keeps the fingerprint of its lookups (finance_journal_days.sql) #}
    alter table {{ relation }} add column if not exists inputs_fingerprint varchar
{%- endmacro %}

{#
    The highest order load id this model has already processed, as a Python string ('' on a
    first or full-refresh run). The model's SQL and its pre-hook each read it before the pre-hook
    deletes anything, so both see the same value.
#}
{% macro toast_order_watermark() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return('') }}
    {%- endif -%}
    {#- a table an older release kept without load ids gets the schema check's advice #}
    {%- set own_rows = "(select max(_dlt_load_id) from " ~ this ~ ")"
        if toast_relation_is_per_order(this) else "''" -%}
    {%- set query -%}
        select greatest(
            coalesce({{ own_rows }}, ''),
            coalesce((select max(load_id) from {{ toast_watermark_relation() }}
                      where model_name = '{{ this.identifier }}'), '')
        ) as watermark
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{%- endmacro %}

{#
    The rows of an order-derived relation (base_toast__orders, a staging model, or an
    intermediate model kept per order) that this run processes: all of them on a full build,
    those of orders loaded after the model's watermark on an incremental run. Every row carries
    its order's `_dlt_load_id`. The model writes the ref:
        with orders as ({{ toast_order_rows(ref('base_toast__orders')) }}), ...
#}
{% macro toast_order_rows(relation) -%}
    select *
    from {{ relation }}
    {% if is_incremental() -%}
    where _dlt_load_id > '{{ toast_order_watermark() }}'
    {%- endif %}
{%- endmacro %}

{#
    Pre-hook: delete every row of the orders about to be re-inserted, that is of the orders of
    `orders` (base_toast__orders) loaded after the model's watermark, looking only at rows
    dated on or after the first date those orders touched (toast_order_date_column).
    A table an older release kept per day has no order_guid (or no _dlt_load_id): nothing is
    deleted, and dbt's schema check (on_schema_change: fail) then asks for the one full refresh
    a release that changes a model's columns needs, rather than the delete failing on the
    missing column.
#}
{% macro toast_delete_reloaded_orders(orders) -%}
    {#- also a dependency: built before the model, with the re-read orders' dates #}
    {%- set changed_days = ref('stg_toast__changed_days') -%}
    {%- if is_incremental() and toast_relation_is_per_order(this) -%}
    {%- set watermark = toast_order_watermark() -%}
    {%- set date_column = toast_order_date_column(this) -%}
    {%- set first_day = run_query(
        "select min(business_date) from " ~ changed_days
        ~ " where _dlt_load_id > '" ~ watermark ~ "'").columns[0].values()[0]
        if date_column else none -%}
    delete from {{ this }} as existing
    where exists (
        select 1
        from {{ orders }} as reloaded
        where reloaded._dlt_load_id > '{{ watermark }}'
          and reloaded.restaurant_guid = existing.restaurant_guid
          and reloaded.order_guid = existing.order_guid
    )
    {%- if first_day is not none %}
      and (existing.{{ date_column }} >= date '{{ first_day }}'
           or existing.{{ date_column }} is null)
    {%- endif %}
    {%- endif -%}
{%- endmacro %}

{#
    The date a per-order model's rows are dated by: `business_date` (the intermediate models:
    the order's, a payment's paid or a refund's business date) or the staging models'
    `order_business_date`. Every such date of an order is one stg_toast__changed_days lists
    for it (it keeps the dates of the order's earlier versions too), so the rows of the
    orders a run re-reads are all on or after the first date it lists for them, or have none:
    the delete above skips older row groups by their min/max instead of reading the model's
    whole key columns. none when the model has neither column (no bound).
#}
{% macro toast_order_date_column(relation) -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name')
        | map('lower') | list -%}
    {%- for candidate in ['business_date', 'order_business_date'] -%}
        {%- if candidate in columns -%}
            {{ return(candidate) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{% macro toast_relation_is_per_order(relation) -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name')
        | map('lower') | list -%}
    {{ return('order_guid' in columns and '_dlt_load_id' in columns) }}
{%- endmacro %}

{# Post-hook: remember that every order now in `orders` (base_toast__orders) has been processed. #}
{% macro toast_record_watermark(orders) -%}
    insert or replace into {{ toast_watermark_relation() }} (model_name, load_id, recorded_at)
    select '{{ this.identifier }}', coalesce(max(_dlt_load_id), ''), now()
    from {{ orders }}
{%- endmacro %}

{#
    The config every order-derived model shares (the staging models read from
    base_toast__orders, and the intermediate models kept per order). The model adds the hooks,
    so its input is written in it:
        {{ config(
            pre_hook="{{ toast_delete_reloaded_orders(ref('base_toast__orders')) }}",
            post_hook="{{ toast_record_watermark(ref('base_toast__orders')) }}",
            **toast_order_model_config(),
        ) }}
    The pre-hook has deleted every row of the re-read orders, so the new rows are appended:
    dbt's own delete of delete+insert would only scan the model's whole key columns again
    (seconds a night on a year of a group's history) to find nothing.
    stg_toast__changed_days keeps the dates of an order's previous versions: no pre-hook, and
    toast_order_model_config(reloaded_orders_deleted=false) for dbt's delete+insert.
#}
{% macro toast_order_model_config(reloaded_orders_deleted=true) -%}
    {{ return({
        "materialized": "incremental",
        "incremental_strategy": "append" if reloaded_orders_deleted else "delete+insert",
        "unique_key": ["restaurant_guid", "order_guid"],
        "on_schema_change": "fail",
    }) }}
{%- endmacro %}

{#
    base_toast__orders reads the raw orders table itself. The loader writes orders itself
    (loaders/toast/order_store.py), one `extracted_at` per load, so the load id is derived from
    it in dlt's sortable form ("1795309353.086099", seconds since the epoch). A table that
    once had dlt's `_dlt_load_id` keeps it, and the two follow each other.
#}
{% macro toast_raw_orders_have_load_id(raw_orders) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(raw_orders) -%}
    {{ return('_dlt_load_id' in (columns | map(attribute='name') | map('lower') | list)) }}
{%- endmacro %}

{% macro toast_epoch_text(timestamp_expr) -%}
    printf('%d.%06d', epoch_us({{ timestamp_expr }}) // 1000000, epoch_us({{ timestamp_expr }}) % 1000000)
{%- endmacro %}

{# The load id of a raw order row (an expression over `raw_orders`, the source toast.orders). #}
{% macro toast_raw_order_load_id(raw_orders) -%}
    {%- if toast_raw_orders_have_load_id(raw_orders) -%}
    coalesce(_dlt_load_id, {{ toast_epoch_text('extracted_at') }})
    {%- else -%}
    {{ toast_epoch_text('extracted_at') }}
    {%- endif -%}
{%- endmacro %}

{#
    The rows of `raw_orders` (the source toast.orders) loaded after `watermark` (a load id),
    written as a plain comparison on a column so DuckDB skips the row groups (and the order
    JSON) of older loads.
#}
{% macro toast_raw_orders_after(raw_orders, watermark) -%}
    {%- if toast_raw_orders_have_load_id(raw_orders) -%}
    _dlt_load_id > '{{ watermark }}'
    {%- else -%}
    {%- set parts = (watermark ~ '.').split('.') -%}
    {%- set micros = (parts[0] | int) * 1000000 + ((parts[1] ~ '000000')[:6] | int) -%}
    extracted_at > make_timestamptz({{ micros }})
    {%- endif -%}
{%- endmacro %}
