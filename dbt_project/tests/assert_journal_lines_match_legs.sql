-- Structural: the journal lines are the journal legs, summed. Per journal and line kind, the
-- net credit (credit - debit) of journal_lines equals that of the legs of every source
-- document type (int_order_legs_summed, taxes and labor, unioned as int_journal_legs_unioned
-- does; a discount presented net counts as sales, as journal_lines presents it), and the over/short
-- line is what the legs leave unbalanced. Full outer join, so a line kind on one side only
-- fails too; a failure names the journal, the line kind and both amounts (as Fivetran's
-- general_ledger_amounts_match).
--
-- Scope: the journals of the days whose legs were (re)built from loads of the test window
-- (toast_test_days, macros/toast_test_scope.sql): every day a night's build changed, so the
-- test's cost does not grow with history. `dbt test --vars '{toast_test_days: 0}'` checks every
-- journal.
{{ config(severity='error') }}

{%- set checks_everything = toast_recent_load_id() is none %}

with

order_legs_summed as (
    select * from {{ ref('int_order_legs_summed') }}
),

taxes as (
    select * from {{ ref('int_taxes_journaled') }}
),

labor as (
    select * from {{ ref('int_labor_journaled') }}
),

journal_lines as (
    select * from {{ ref('journal_lines') }}
),

settings as (
    select * from {{ ref('int_settings_resolved') }}
),

legs as (
    {%- for leg_model in ['order_legs_summed', 'taxes'] %}
    select
        restaurant_guid,
        business_date,
        'sales' as journal_type,
        line_kind,
        debit,
        credit,
        _dlt_load_id
    from {{ leg_model }}
    union all
    {%- endfor %}
    select
        restaurant_guid,
        business_date,
        'labor' as journal_type,
        line_kind,
        debit,
        credit,
        _dlt_load_id
    from labor
),

journals_in_scope as (
    -- every rebuilt day has a `_built` marker row carrying the load that rebuilt it
    select distinct
        restaurant_guid,
        business_date,
        journal_type
    from legs
    where {{ toast_recent_loads_filter() }}
),

leg_lines as (
    select
        legs.restaurant_guid || ':' || strftime(legs.business_date, '%Y-%m-%d')
        || ':' || legs.journal_type as journal_id,
        case
            when legs.line_kind = 'discount' and settings.discount_presentation = 'net'
                then 'sales'
            else legs.line_kind
        end as line_kind,
        sum(legs.credit) - sum(legs.debit) as net_credit
    from legs
    inner join journals_in_scope
        on legs.restaurant_guid = journals_in_scope.restaurant_guid
        and legs.business_date = journals_in_scope.business_date
        and legs.journal_type = journals_in_scope.journal_type
    left join settings
        on legs.restaurant_guid = settings.restaurant_guid
    where legs.line_kind <> '_built'
    group by all
),

leg_amounts as (
    select * from leg_lines

    union all

    select
        journal_id,
        'over_short' as line_kind,
        -sum(net_credit) as net_credit
    from leg_lines
    group by journal_id
),

line_amounts as (
    select
        journal_lines.journal_id,
        journal_lines.line_kind,
        sum(journal_lines.credit) - sum(journal_lines.debit) as net_credit
    from journal_lines
    {%- if not checks_everything %}
    inner join journals_in_scope
        on journal_lines.restaurant_guid = journals_in_scope.restaurant_guid
        and journal_lines.business_date = journals_in_scope.business_date
        and journal_lines.journal_type = journals_in_scope.journal_type
    {%- endif %}
    group by journal_lines.journal_id, journal_lines.line_kind
),

final as (
    select
        coalesce(line_amounts.journal_id, leg_amounts.journal_id) as journal_id,
        coalesce(line_amounts.line_kind, leg_amounts.line_kind) as line_kind,
        leg_amounts.net_credit as legs_net_credit,
        line_amounts.net_credit as journal_lines_net_credit,
        coalesce(line_amounts.net_credit, 0) - coalesce(leg_amounts.net_credit, 0) as difference
    from line_amounts
    full outer join leg_amounts
        on line_amounts.journal_id = leg_amounts.journal_id
        and line_amounts.line_kind = leg_amounts.line_kind
    where abs(coalesce(line_amounts.net_credit, 0) - coalesce(leg_amounts.net_credit, 0)) >= 0.01
)

select * from final
