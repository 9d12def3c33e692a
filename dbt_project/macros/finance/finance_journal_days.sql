{#
    journal_lines is kept per journal and, on an incremental run, rebuilds only
      * the sales journals of the days a load changed: the days of int_order_legs_summed and
        int_taxes_journaled rows newer than the load id recorded after journal_lines' last run
        (every rebuilt day has a `_built` marker there, so a day left without legs is found too);
      * every labor journal: a few lines a day, and a time entry moved to another day leaves no
        trace of its old one;
      * every day, when anything else it reads changed: the rows of its lookups (mappings,
        settings, locations, chart of accounts, Toast's currencies and alternate payment type
        names: finance_journal_lookups) or its own SQL. A renamed Toast payment type or a new
        mapping applies to every unposted day at once, as it did when the model was rebuilt
        whole. (A seed edit rebuilds every mapped model in full anyway: transform/build.py.)
    The state (load id, fingerprint) sits in the order models' watermark table, and the pre-hook,
    the model and the post-hook each read it before the post-hook records the new one.
#}

{#
    What journal_lines reads besides the legs, as the SQL of one CTE each: the model selects
    them, and finance_journal_state hashes exactly these rows.
#}
{% macro finance_journal_lookups() -%}
    {{ return({
        'mappings': 'select * from ' ~ ref('int_account_mappings_resolved'),
        'settings': 'select restaurant_guid, discount_presentation, currency from '
            ~ ref('int_settings_resolved'),
        'locations': 'select restaurant_guid, erp_company, location_dimension, currency from '
            ~ ref('locations'),
        'restaurants': 'select restaurant_guid, currency from ' ~ ref('stg_toast__restaurants'),
        'alternate_payment_types': 'select restaurant_guid, alternate_payment_type_guid, '
            ~ 'max(name) as name from ' ~ ref('stg_toast__alternate_payment_types')
            ~ ' group by all',
        'chart_of_accounts': 'select account_code, account_name, account_type from '
            ~ ref('chart_of_accounts'),
    }) }}
{%- endmacro %}

{# The per-day legs models whose `_dlt_load_id` says which sales days changed. #}
{% macro finance_journal_leg_days_models() -%}
    {{ return([ref('int_order_legs_summed'), ref('int_taxes_journaled')]) }}
{%- endmacro %}

{#
    {'rebuild_all': bool, 'load_id': the load id up to which journal_lines holds the legs,
     'fingerprint': of its lookups' rows and its SQL}. rebuild_all on a full build, on the
    first incremental run (nothing recorded) and when the fingerprint moved.
#}
{% macro finance_journal_state() -%}
    {%- set lookups = finance_journal_lookups() -%}
    {%- set fingerprint_query -%}
        select md5(string_agg(part, '|' order by part)) from (
        {%- for name, lookup_sql in lookups.items() %}
            select '{{ name }}:' || md5(coalesce(
                string_agg(
                    cast(lookup_row as varchar), chr(10) order by cast(lookup_row as varchar)
                ), '')) as part
            from ({{ lookup_sql }}) as lookup_row
            {%- if not loop.last %} union all {%- endif %}
        {%- endfor %}
        )
    {%- endset -%}
    {%- if not execute -%}
        {{ return({'rebuild_all': true, 'load_id': '', 'fingerprint': ''}) }}
    {%- endif -%}
    {%- set lookups_hash = run_query(fingerprint_query).columns[0].values()[0] -%}
    {%- set fingerprint = local_md5(model.raw_code ~ lookups_hash) -%}
    {%- if not is_incremental() -%}
        {{ return({'rebuild_all': true, 'load_id': '', 'fingerprint': fingerprint}) }}
    {%- endif -%}
    {%- set recorded = run_query(
        "select load_id, inputs_fingerprint from " ~ toast_watermark_relation()
        ~ " where model_name = '" ~ this.identifier ~ "'") -%}
    {%- set load_id = recorded.columns[0].values()[0] if recorded.rows | length else '' -%}
    {%- set recorded_fingerprint =
        recorded.columns[1].values()[0] if recorded.rows | length else none -%}
    {{ return({
        'rebuild_all': load_id == '' or recorded_fingerprint != fingerprint,
        'load_id': load_id,
        'fingerprint': fingerprint,
    }) }}
{%- endmacro %}

{# The sales days to rebuild (restaurant_guid, business_date), on an incremental run. #}
{% macro finance_journal_sales_days(state) -%}
    {%- for legs_model in finance_journal_leg_days_models() %}
    select restaurant_guid, business_date
    from {{ legs_model }}
    where _dlt_load_id > '{{ state.load_id }}'
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#
    True for the legs or lines (`alias`) of a journal this run rebuilds; the model filters its
    legs with it and the pre-hook deletes the lines it matches.
#}
{% macro finance_journal_is_rebuilt(alias, state) -%}
    {%- if state.rebuild_all -%}
    true
    {%- else -%}
    ({{ alias }}.journal_type = 'labor' or exists (
        select 1
        from ({{ finance_journal_sales_days(state) }}) as changed_day
        where changed_day.restaurant_guid = {{ alias }}.restaurant_guid
          and changed_day.business_date = {{ alias }}.business_date
    ))
    {%- endif -%}
{%- endmacro %}

{# Pre-hook: delete the journals this run rebuilds; the model appends them again. #}
{% macro finance_delete_rebuilt_journals() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as existing
    where {{ finance_journal_is_rebuilt('existing', finance_journal_state()) }}
    {%- endif -%}
{%- endmacro %}

{# Post-hook: the load id up to which the legs are now in journal_lines, and the fingerprint. #}
{% macro finance_record_journal_state() -%}
    {%- set state = finance_journal_state() -%}
    insert or replace into {{ toast_watermark_relation() }}
        (model_name, load_id, recorded_at, inputs_fingerprint)
    select
        '{{ this.identifier }}',
        greatest(
        {%- for legs_model in finance_journal_leg_days_models() %}
            coalesce((select max(_dlt_load_id) from {{ legs_model }}), '')
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
        ),
        now(),
        '{{ state.fingerprint }}'
{%- endmacro %}

{#
    Which journals' lines changed since int_journal_figures last summed them: journal_lines'
    post-hook queues what it rebuilt, and int_journal_figures recomputes those journals and
    empties the queue, so journals and sales_summary read one row per journal instead of every
    line of the history. A row of the queue is one sales day (restaurant_guid, business_date,
    journal_type), every journal of a type (restaurant_guid null), or every journal
    (journal_type null). Kept until int_journal_figures runs, so a build that selects
    journal_lines alone loses nothing.
#}
{% macro finance_figures_queue_relation() -%}
    {%- if not execute -%}
        {{ return('staging.finance__journals_to_sum') }}  {#- parsing (and sqlfluff) only #}
    {%- endif -%}
    {{ return(api.Relation.create(
        database=target.database,
        schema=generate_schema_name('staging', none) | trim,
        identifier='finance__journals_to_sum',
        type='table')) }}
{%- endmacro %}

{# on-run-start, after the watermark table's schema exists. #}
{% macro finance_create_figures_queue() -%}
    create table if not exists {{ finance_figures_queue_relation() }} (
        journal_type varchar,
        restaurant_guid varchar,
        business_date date,
        queued_at timestamptz not null
    )
{%- endmacro %}

{# journal_lines' post-hook, before it records its new state: queue what this run rebuilt. #}
{% macro finance_queue_rebuilt_journals() -%}
    {%- set state = finance_journal_state() if is_incremental() else {'rebuild_all': true} -%}
    insert into {{ finance_figures_queue_relation() }}
    {%- if state.rebuild_all %}
    values (null, null, null, now())
    {%- else %}
    select 'labor', null, null, now()
    union all
    select distinct 'sales', restaurant_guid, business_date, now()
    from ({{ finance_journal_sales_days(state) }}) as changed_day
    {%- endif %}
{%- endmacro %}

{#
    Whether int_journal_figures recomputes every journal: built in full, every journal queued,
    or its own SQL changed since the figures it holds were computed (their fingerprint sits in
    the watermark table, as journal_lines' does). A query at render time.
#}
{% macro finance_figures_rebuild_all() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set everything = run_query(
        "select (select count(*) from " ~ finance_figures_queue_relation()
        ~ " where journal_type is null) > 0 or coalesce((select inputs_fingerprint from "
        ~ toast_watermark_relation() ~ " where model_name = '" ~ this.identifier ~ "'), '') <> '"
        ~ local_md5(model.raw_code) ~ "'").columns[0].values()[0] -%}
    {{ return(everything) }}
{%- endmacro %}

{# int_journal_figures' post-hook: the queue is done, and with what SQL. #}
{% macro finance_record_figures_state() -%}
    delete from {{ finance_figures_queue_relation() }};
    insert or replace into {{ toast_watermark_relation() }}
        (model_name, load_id, recorded_at, inputs_fingerprint)
    values ('{{ this.identifier }}', '', now(), '{{ local_md5(model.raw_code) }}')
{%- endmacro %}

{# int_journal_figures' pre-hook: drop the queued journals' rows; the model appends them again. #}
{% macro finance_delete_queued_figures() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as existing
    where {{ finance_journal_is_queued('existing', finance_figures_rebuild_all()) }}
    {%- endif -%}
{%- endmacro %}

{# True for the lines or figures (`alias`) of a queued journal. #}
{% macro finance_journal_is_queued(alias, rebuild_all) -%}
    {%- if rebuild_all -%}
    true
    {%- else -%}
    ({{ alias }}.journal_type in (
        select journal_type from {{ finance_figures_queue_relation() }}
        where restaurant_guid is null)
     or exists (
        select 1
        from {{ finance_figures_queue_relation() }} as queued
        where queued.journal_type = {{ alias }}.journal_type
          and queued.restaurant_guid = {{ alias }}.restaurant_guid
          and queued.business_date = {{ alias }}.business_date))
    {%- endif -%}
{%- endmacro %}
